"""Queries on reports, their versions and actions, always through the caller's scoped session (a report
of a unit outside the caller's units and the units below is not found), and the unit names a report's
header needs."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.reports.models import Report, ReportAction, ReportVersion
from services.reporting.sql import fetch
from shared.db import load_by_id


async def report(session: AsyncSession, report_id: UUID, lock: bool = False) -> Report:
    return await load_by_id(session, Report, report_id, "report", lock=lock)


async def find(session: AsyncSession, unit_path: str, report_type: str, period: str) -> Report | None:
    return await session.scalar(select(Report).where(Report.unit_path == unit_path,
                                                     Report.report_type == report_type, Report.period == period))


async def version(session: AsyncSession, report_id: UUID, number: int) -> ReportVersion | None:
    return await session.scalar(select(ReportVersion).where(ReportVersion.report_id == report_id,
                                                            ReportVersion.number == number))


async def versions(session: AsyncSession, report_id: UUID) -> list[ReportVersion]:
    return list(await session.scalars(select(ReportVersion).where(ReportVersion.report_id == report_id)
                                      .order_by(ReportVersion.number)))


async def actions(session: AsyncSession, report_id: UUID) -> list[ReportAction]:
    return list(await session.scalars(select(ReportAction).where(ReportAction.report_id == report_id)
                                      .order_by(ReportAction.at)))


async def children_reports(session: AsyncSession, parent_path: str, report_type: str,
                           period: str) -> list[Report]:
    """The reports of the units directly below `parent_path` for the same type and period."""
    depth = parent_path.count(".") + 1
    rows = await session.scalars(select(Report).where(
        Report.report_type == report_type, Report.period == period,
        Report.unit_path > parent_path + ".", Report.unit_path < parent_path + "/"))
    return [r for r in rows if r.unit_path.count(".") == depth]


async def submitted_versions(session: AsyncSession, reports: list[Report]) -> dict[UUID, ReportVersion]:
    """The version each report submitted last (its figures as submitted)."""
    wanted = [(r.id, r.version) for r in reports]
    if not wanted:
        return {}
    found = await session.scalars(select(ReportVersion).where(
        ReportVersion.report_id.in_([w[0] for w in wanted])))
    by_key = {(v.report_id, v.number): v for v in found}
    return {rid: by_key[(rid, number)] for rid, number in wanted if (rid, number) in by_key}


def listing(unit_path: str | None, report_type: str | None, period: str | None, state: str | None) -> Select[Any]:
    """The reports the caller may read, filtered; newest period first (the scope filter applies)."""
    query = select(Report)
    if unit_path is not None:
        query = query.where((Report.unit_path == unit_path) | ((Report.unit_path > unit_path + ".")
                                                              & (Report.unit_path < unit_path + "/")))
    if report_type is not None:
        query = query.where(Report.report_type == report_type)
    if period is not None:
        query = query.where(Report.period == period)
    if state is not None:
        query = query.where(Report.state == state)
    return query.order_by(Report.period_end.desc(), Report.unit_path, Report.report_type)


async def unit_names(session: AsyncSession, paths: list[str]) -> dict[str, dict[str, Any]]:
    """{path: {name, type, level, valid_from, valid_to}} of the units read model."""
    rows = await fetch(session, "SELECT path, name, type, level, valid_from, valid_to FROM rp_units "
                                "WHERE path = ANY($1::text[])", paths)
    return {r["path"]: dict(r) for r in rows}


async def child_units(session: AsyncSession, path: str) -> list[dict[str, Any]]:
    """The units directly below `path` in the units read model (for a hierarchy: its provinces)."""
    if "." in path:
        rows = await fetch(session, "SELECT path, code, name, level, valid_from, valid_to FROM rp_units "
                                    "WHERE parent_path = $1 ORDER BY code", path)
    else:
        rows = await fetch(session, "SELECT path, code, name, level, valid_from, valid_to FROM rp_units "
                                    "WHERE hierarchy = $1 AND parent_path IS NULL ORDER BY code", path)
    return [dict(r) for r in rows]
