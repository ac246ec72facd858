"""The periodic reports' use cases, one transaction each: open a draft, edit it (a new version each
time), submit it (the version and its figures frozen), and, for the level above, accept or return it.

Who may do what (rules.ACTORS): a report is opened, edited and submitted by the officers of its own
unit, read by them and by the levels above, accepted or returned by the unit it reports to only.
Each step emits an event (docs/events.md "reporting") through the outbox.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.reports import figures as gathering
from services.reporting.reports import repository, trace
from services.reporting.reports.figures import years_of
from services.reporting.reports.layout import check_overrides
from services.reporting.reports.models import Report, ReportAction, ReportVersion
from services.reporting.reports.rules import (
    ACCEPTED,
    DRAFT,
    RETURNED,
    Content,
    default_document,
    merge,
    missing_for_submission,
    next_state,
    on_time,
    parent_of,
    period_of,
    refuse_future,
    report_type,
)
from services.reporting.reports.view import live_figures, period_of_report, view
from services.reporting.units.service import locate
from shared.clock import VIETNAM, now, today
from shared.errors import Problem, conflict, forbidden
from shared.etag import check_if_match
from shared.events import Event, record_event, uuid7
from shared.pagination import PageParams, paginate
from shared.principal import Principal


def _own_unit(principal: Principal, unit_path: str, what: str) -> None:
    if unit_path not in principal.scope_paths:
        raise forbidden(f"A unit's report is {what} by the officers of that unit ({unit_path}) only.",
                        unit=unit_path)


def _level_above(principal: Principal, report: Report) -> str:
    above = parent_of(report.unit_path)
    if above not in principal.scope_paths:
        raise Problem(403, "not_the_level_above", "Forbidden",
                      f"Only the unit {report.unit_path} reports to ({above}) accepts or returns its report.",
                      unit=report.unit_path, reports_to=above)
    return above


def _event(report: Report, action: str, principal: Principal, comment: str | None = None) -> Event:
    submitted = report.first_submitted_at.astimezone(VIETNAM).date() if report.first_submitted_at else None
    return Event(type=f"reporting.report.{action}", producer="reporting", subject_id=str(report.id),
                 unit_code=report.unit_path.rsplit(".", 1)[-1], unit_path=report.unit_path,
                 version=report.row_version, payload={
                     "report_id": str(report.id), "report_type": report.report_type, "period": report.period,
                     "period_start": report.period_start.isoformat(), "period_end": report.period_end.isoformat(),
                     "due_on": report.due_on.isoformat(), "state": report.state, "version": report.version,
                     "first_submitted_on": submitted.isoformat() if submitted else None,
                     "on_time": on_time(submitted, report.due_on), "actor": principal.name or principal.id,
                     "comment": comment})


def _act(session: AsyncSession, report: Report, action: str, principal: Principal, unit: str,
         comment: str | None = None) -> None:
    session.add(ReportAction(id=uuid7(), report_id=report.id, unit_path=report.unit_path, version=report.version,
                             action=action, actor_id=principal.id, actor_name=principal.name or principal.id,
                             actor_unit=unit, comment=comment, at=now()))


async def open_report(session: AsyncSession, principal: Principal, unit: str | None, hierarchy: str | None,
                      type_code: str, period_key: str) -> dict[str, Any]:
    kind = report_type(type_code)
    located = await locate(session, principal, unit, hierarchy)
    ref = located.unit
    _own_unit(principal, ref.path, "written")
    movement = await gathering.movement(session, period_key) if kind.period_kind == "phase" else None
    period = period_of(kind, period_key, movement)
    refuse_future(period, today())
    held = await repository.find(session, ref.path, kind.code, period.key)
    if held is not None:
        raise conflict("report_exists", f"The {kind.code} report of {ref.path} for {period.key} exists already.",
                       report_id=str(held.id))
    moment = now()
    report = Report(id=uuid7(), unit_path=ref.path, unit_name=ref.name, report_type=kind.code, period=period.key,
                    period_start=period.start, period_end=period.end, due_on=period.due_on, state=DRAFT, version=1,
                    row_version=1, created_at=moment, created_by=principal.id, updated_at=moment)
    parents = await repository.unit_names(session, [parent_of(ref.path)])
    parent = parents.get(parent_of(ref.path))
    content = Content(header=default_document(ref.name, kind.name, period.label, parent["name"] if parent else None))
    session.add(report)
    session.add(ReportVersion(report_id=report.id, number=1, unit_path=ref.path, content=content.as_dict(),
                              figures=None, consolidated_from=None, created_at=moment, created_by=principal.id,
                              created_by_name=principal.name or principal.id))
    try:
        await session.flush()
    except IntegrityError as exc:  # opened at the same moment by a colleague
        raise conflict("report_exists", f"The {kind.code} report of {ref.path} for {period.key} exists already.") \
            from exc
    return await view(session, report)


async def read_report(session: AsyncSession, report_id: UUID, number: int | None = None) -> dict[str, Any]:
    return await view(session, await repository.report(session, report_id), number)


async def trace_figure(session: AsyncSession, report_id: UUID, key: str, paging: PageParams) -> dict[str, Any]:
    """A figure of the report's current version, the children's reports it sums (an upper level), and a
    page of the read-model rows its data sums."""
    report = await repository.report(session, report_id)
    shown = await view(session, report)
    figure = shown["figures"].get(key)
    if figure is None or figure.get("derived"):
        raise Problem(404, "figure_not_found", "No such figure",
                      f"The report has no figure {key!r} that sums rows (derived figures are computed from others).",
                      figure=key)
    query, to_item = trace.rows_of(key, report.unit_path, period_of_report(report), years_of(period_of_report(report)))
    page = await paginate(session, query, paging, to_item)
    children = []
    for child in (shown["consolidation"] or {}).get("children", []):
        if child["summed"]:
            version = await repository.version(session, UUID(child["report_id"]), child["version"])
            theirs = ((version.figures or {}).get("figures") or {}).get(key) if version else None
            children.append({"path": child["path"], "name": child["name"], "report_id": child["report_id"],
                             "version": child["version"], "value": theirs["value"] if theirs else 0})
    return {"figure": figure, "frozen": shown["frozen"], "children": children,
            "rows": page.items, "total": page.total, "limit": page.limit, "offset": page.offset}


async def edit_report(session: AsyncSession, principal: Principal, report_id: UUID, if_match: str | None,
                      header: dict[str, Any] | None, narratives: dict[str, str | None] | None,
                      overrides: dict[str, dict[str, Any] | None] | None) -> dict[str, Any]:
    """A new version: the current one with the changes (a submitted or accepted report is locked)."""
    report = await repository.report(session, report_id, lock=True)
    _own_unit(principal, report.unit_path, "written")
    check_if_match(if_match, report.row_version)
    state = next_state("edit", report.state)
    current = await repository.version(session, report.id, report.version)
    assert current is not None
    kind = report_type(report.report_type)
    content = Content.of(current.content)
    shown = await live_figures(session, report, content)
    if overrides:
        check_overrides(shown.figures, overrides)
    changed = merge(content, header, narratives, overrides, kind.sections, set(shown.figures))
    moment = now()
    report.version += 1
    report.row_version += 1
    report.state, report.updated_at = state, moment
    session.add(ReportVersion(report_id=report.id, number=report.version, unit_path=report.unit_path,
                              content=changed.as_dict(), figures=None, consolidated_from=None, created_at=moment,
                              created_by=principal.id, created_by_name=principal.name or principal.id))
    await session.flush()
    return await view(session, report)


async def submit_report(session: AsyncSession, principal: Principal, report_id: UUID,
                        if_match: str | None) -> dict[str, Any]:
    report = await repository.report(session, report_id, lock=True)
    _own_unit(principal, report.unit_path, "submitted")
    check_if_match(if_match, report.row_version)
    state = next_state("submit", report.state)
    version = await repository.version(session, report.id, report.version)
    assert version is not None
    content = Content.of(version.content)
    missing = missing_for_submission(report_type(report.report_type), content)
    if missing:
        raise Problem(422, "incomplete_report", "The report is not complete",
                      "Fill these before submitting: " + "; ".join(f"{m['field']} ({m['reason']})" for m in missing),
                      errors=missing)
    if report.period_start > today():
        refuse_future(period_of_report(report), today())
    shown = await live_figures(session, report, content)
    moment = now()
    if not content.header.get("signed_on"):
        content.header["signed_on"] = moment.astimezone(VIETNAM).date().isoformat()
    version.content = content.as_dict()
    version.figures = {"figures": shown.figures, "lists": shown.lists, "consolidation": shown.consolidation}
    version.consolidated_from = (shown.consolidation or {}).get("children")
    version.submitted_at = moment
    report.state, report.submitted_at, report.updated_at = state, moment, moment
    report.first_submitted_at = report.first_submitted_at or moment
    report.row_version += 1
    _act(session, report, "submitted", principal, report.unit_path)
    await record_event(session, _event(report, "submitted", principal))
    await session.flush()
    return await view(session, report)


async def decide_report(session: AsyncSession, principal: Principal, report_id: UUID, action: str,
                        if_match: str | None, comment: str | None) -> dict[str, Any]:
    """`accept` or `return` (with comments saying what to fix), by the unit the report goes to."""
    report = await repository.report(session, report_id, lock=True)
    above = _level_above(principal, report)
    check_if_match(if_match, report.row_version)
    if action == "return" and not (comment or "").strip():
        raise Problem(422, "validation_error", "Invalid request", "Say what to fix: a returned report needs comments.",
                      errors=[{"field": "comment", "reason": "required when returning a report"}])
    report.state = next_state(action, report.state)
    moment = now()
    report.decided_at, report.updated_at = moment, moment
    report.row_version += 1
    done = {"accept": ACCEPTED, "return": RETURNED}[action]
    _act(session, report, done, principal, above, comment)
    await record_event(session, _event(report, done, principal, comment))
    await session.flush()
    return await view(session, report)

