"""What a report shows: its figures (live from the read models while a draft, frozen once submitted),
the consolidation of its children's accepted reports for an upper level, its sections and tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.reports import figures as gathering
from services.reporting.reports import repository
from services.reporting.reports.layout import Figure, consolidate, figures_of, finalise, tables
from services.reporting.reports.models import Report, ReportVersion
from services.reporting.reports.rules import (
    ACCEPTED,
    CHAPTERS,
    SUBSECTIONS,
    Content,
    Period,
    ReportType,
    missing_for_submission,
    on_time,
    report_type,
    valid_for,
)
from shared.clock import VIETNAM
from shared.scope import level_of


def period_of_report(report: Report) -> Period:
    return Period(report.period, report.period_start, report.period_end, report.due_on, "", True,
                  report.period if report_type(report.report_type).period_kind == "phase" else None)


def _day(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def lists_of(data: gathering.ReportData) -> dict[str, list[dict[str, Any]]]:
    """The lists a report shows (documents, models, awards), with dates as the document writes them."""
    def dated(rows: list[dict[str, Any]], *fields: str) -> list[dict[str, Any]]:
        return [{**r, **{f: _day(r.get(f)) for f in fields}} for r in rows]

    return {"documents": dated(data.documents, "issued_on"), "exemplars": dated(data.exemplars, "recognised_on"),
            "awards": dated(data.awards, "decision_date")}


def consolidates(unit_path: str) -> bool:
    """An upper level's report sums its children's accepted reports (communes report from data)."""
    return level_of(unit_path) != "commune"


@dataclass
class Figures:
    figures: dict[str, Figure]
    lists: dict[str, list[dict[str, Any]]]
    consolidation: dict[str, Any] | None


async def _consolidation(session: AsyncSession, report: Report, figures: dict[str, Figure],
                         own: dict[str, Figure]) -> dict[str, Any]:
    children = {r.unit_path: r for r in await repository.children_reports(session, report.unit_path,
                                                                           report.report_type, report.period)}
    accepted = [r for r in children.values() if r.state == ACCEPTED]
    versions = await repository.submitted_versions(session, accepted)
    summed = [r for r in accepted if r.id in versions and versions[r.id].figures]
    consolidate(figures, own, [(versions[r.id].figures or {})["figures"] for r in summed])
    expected = [u for u in await repository.child_units(session, report.unit_path) if valid_for(u, report.due_on)]
    rows = []
    for unit in expected:
        child = children.get(unit["path"])
        submitted = child.first_submitted_at.astimezone(VIETNAM).date() if child and child.first_submitted_at else None
        rows.append({"path": unit["path"], "code": unit["code"], "name": unit["name"],
                     "state": child.state if child else "missing", "report_id": str(child.id) if child else None,
                     "version": versions[child.id].number if child and child.id in versions else None,
                     "first_submitted_on": submitted.isoformat() if submitted else None,
                     "on_time": on_time(submitted, report.due_on) if child else False,
                     "summed": bool(child and child in summed)})
    return {"children": rows, "summed": sum(1 for r in rows if r["summed"]), "expected": len(rows),
            "missing": [r["path"] for r in rows if r["state"] == "missing"],
            "not_accepted": [r["path"] for r in rows if r["state"] not in ("missing", ACCEPTED)]}


async def live_figures(session: AsyncSession, report: Report, content: Content) -> Figures:
    period = period_of_report(report)
    data = await gathering.gather(session, report.unit_path, period)
    figures = figures_of(data)
    consolidation = None
    if consolidates(report.unit_path):
        own = figures_of(await gathering.gather(session, report.unit_path, period, own=True))
        consolidation = await _consolidation(session, report, figures, own)
    finalise(figures, content.overrides, consolidation is not None)
    return Figures(figures, lists_of(data), consolidation)


def frozen_figures(version: ReportVersion) -> Figures | None:
    frozen = version.figures
    if not frozen:
        return None
    return Figures(frozen["figures"], frozen["lists"], frozen.get("consolidation"))


def sections(kind: ReportType, shown: Figures, content: Content) -> list[dict[str, Any]]:
    built = tables(shown.figures, shown.lists)
    return [{"key": key, "chapter": key.split(".")[0], "chapter_heading": CHAPTERS[key.split(".")[0]],
             "heading": SUBSECTIONS[key], "required": key in kind.required,
             "narrative": content.narratives.get(key, ""), "tables": built.get(key, [])}
            for key in kind.sections]


def overview(report: Report) -> dict[str, Any]:
    kind = report_type(report.report_type)
    return {"id": str(report.id), "unit_path": report.unit_path, "unit_name": report.unit_name,
            "level": level_of(report.unit_path), "type": kind.code, "type_name": kind.name,
            "period": report.period, "period_start": report.period_start.isoformat(),
            "period_end": report.period_end.isoformat(), "due_on": report.due_on.isoformat(),
            "state": report.state, "version": report.version, "row_version": report.row_version,
            "first_submitted_at": report.first_submitted_at.isoformat() if report.first_submitted_at else None,
            "submitted_at": report.submitted_at.isoformat() if report.submitted_at else None,
            "decided_at": report.decided_at.isoformat() if report.decided_at else None,
            "on_time": on_time(report.first_submitted_at.astimezone(VIETNAM).date()
                               if report.first_submitted_at else None, report.due_on)}


async def view(session: AsyncSession, report: Report, number: int | None = None) -> dict[str, Any]:
    """The report at its current version (or version `number`): figures frozen if submitted, else live."""
    chosen = await repository.version(session, report.id, number or report.version)
    if chosen is None:
        from shared.errors import not_found

        raise not_found("report version", f"{report.id}/{number}")
    content = Content.of(chosen.content)
    shown = frozen_figures(chosen) or await live_figures(session, report, content)
    kind = report_type(report.report_type)
    history = await repository.versions(session, report.id)
    return {
        **overview(report),
        "shown_version": chosen.number, "frozen": chosen.figures is not None,
        "document": content.header, "narratives": content.narratives,
        "figures": shown.figures,
        "overridden": sorted(k for k, f in shown.figures.items() if f.get("overridden")),
        "sections": sections(kind, shown, content),
        "consolidation": shown.consolidation,
        "missing_for_submission": missing_for_submission(kind, content),
        "versions": [{"number": v.number, "created_at": v.created_at.isoformat(), "created_by": v.created_by_name,
                      "submitted_at": v.submitted_at.isoformat() if v.submitted_at else None} for v in history],
        "actions": [{"action": a.action, "version": a.version, "actor": a.actor_name, "actor_unit": a.actor_unit,
                     "comment": a.comment, "at": a.at.isoformat()}
                    for a in await repository.actions(session, report.id)],
    }
