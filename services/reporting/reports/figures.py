"""Gathering what a report's figures come from: the read models of a unit (and all its descendants,
or with `own` the unit alone) for a period. I/O only; layout.py turns the result into figures.

Poverty: the commune counters of the year before the period (start) and of the period's last year
(end), and the transitions of the years in between. Support: the deliveries dated in the period
(a calendar year reads the year totals). The fund: entries before the period (opening) and in it.
Emulation: activities, exemplary models and awards dated in the period, documents the unit itself
issued, the targets handed to the unit for the period's years.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.indicators import rules as fg
from services.reporting.indicators.repository import figures_by_child
from services.reporting.reports.rules import Period
from services.reporting.sql import fetch
from services.reporting.support.repository import catalogue_names, support_rows
from services.reporting.support.rules import support_figures
from services.reporting.units import subtree
from services.reporting.units.subtree import uses_crosswalk


@dataclass
class ReportData:
    """The raw material of one report's figures (layout.figures_of reads it)."""

    start_year: int
    end_year: int
    poverty_start: fg.Figures = field(default_factory=fg.empty)
    poverty_end: fg.Figures = field(default_factory=fg.empty)
    transitions: dict[str, int] = field(default_factory=dict)
    support: dict[str, Any] = field(default_factory=dict)
    fund: dict[str, int] = field(default_factory=dict)
    activities: list[dict[str, Any]] = field(default_factory=list)
    body_activities: list[dict[str, Any]] = field(default_factory=list)
    sponsorships: list[dict[str, Any]] = field(default_factory=list)
    documents: list[dict[str, Any]] = field(default_factory=list)
    exemplars: list[dict[str, Any]] = field(default_factory=list)
    awards: list[dict[str, Any]] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)
    names: dict[tuple[str, str], str] = field(default_factory=dict)


# $1..$4 the subtree (units/subtree.py), $5..$6 the period's first and last day
_IN = "COALESCE({sign}sum(amount_vnd) FILTER (WHERE occurred_on >= $5 AND kind = '{kind}'), 0)::bigint AS {name}"
_FUND = ("WITH r AS ({rows}) SELECT COALESCE(sum(amount_vnd) FILTER (WHERE occurred_on < $5), 0)::bigint AS opening, "
         + ", ".join(_IN.format(sign=sign, kind=kind, name=name) for sign, kind, name in (
             ("", "donation", "donations"), ("", "refund", "refunds"), ("", "transfer_in", "transfers_in"),
             ("-", "spend", "spent"), ("-", "transfer_out", "transfers_out")))
         + " FROM r WHERE occurred_on <= $6")
_DATED = "(COALESCE(t.held_on, make_date(t.year, 12, 31)) BETWEEN $5 AND $6)"
_ACTIVITIES = """WITH r AS ({rows}) SELECT COALESCE(group_name, '') AS group_name, COALESCE(kind, '') AS kind,
    max(kind_name) AS kind_name, COALESCE(measure, '') AS measure, sum(count)::bigint AS count,
    sum(participants)::bigint AS participants
FROM r GROUP BY 1, 2, 4 ORDER BY 1, 2, 4"""
_BODY_ACTIVITIES = """WITH r AS ({rows}) SELECT COALESCE(body, '') AS body, kind, m->>'measure' AS measure,
    sum((m->>'quantity')::numeric) AS quantity
FROM r CROSS JOIN LATERAL jsonb_array_elements(measures) m GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""
_SPONSORSHIPS = """WITH r AS ({rows}) SELECT COALESCE(body, '') AS body, kind, count(*)::bigint AS sponsorships,
    sum(households)::bigint AS households
FROM r GROUP BY 1, 2 ORDER BY 1, 2"""
_DOCUMENTS = """SELECT document_id, number, issued_on, doc_type, doc_type_name, issuing_body, summary, signer
FROM rp_documents WHERE unit_path = $1 AND issued_on BETWEEN $2 AND $3 ORDER BY issued_on, number"""
_EXEMPLARS = """WITH r AS ({rows}) SELECT exemplar_id, at_path, kind, name, summary, recognised_by, recognised_on,
    document_number FROM r ORDER BY recognised_on, name"""
_AWARDS = """WITH r AS ({rows}) SELECT nomination_id, at_path, form, form_name, category, nominee_kind, nominee_name,
    decision_number, decision_date, awarding_authority, prize_amount FROM r ORDER BY decision_date, nominee_name"""
_TARGETS = """SELECT target_id, year, indicator, measure_unit, value, upper FROM rp_targets
WHERE unit_path = $1 AND year BETWEEN $2 AND $3 ORDER BY year, indicator"""


def _statements(crosswalk: bool, own: bool) -> dict[str, str]:
    def rows(table: str, where: str) -> str:
        return subtree.rows(table, where, crosswalk, own=own)

    return {
        "fund": _FUND.format(rows=rows("rp_fund_entries", "")),
        "activities": _ACTIVITIES.format(rows=rows("rp_emulation_activities", f"NOT t.removed AND {_DATED}")),
        "body_activities": _BODY_ACTIVITIES.format(rows=rows(
            "rp_support_activities", "t.status = 'recorded' AND COALESCE(t.period_to, make_date(t.year, 12, 31)) "
                                     "BETWEEN $5 AND $6")),
        "sponsorships": _SPONSORSHIPS.format(rows=rows(
            "rp_sponsorships", "COALESCE(t.started_on, $5) <= $6 AND COALESCE(t.ended_on, $6) >= $5")),
        "exemplars": _EXEMPLARS.format(rows=rows("rp_exemplars",
                                                 "NOT t.withdrawn AND t.recognised_on BETWEEN $5 AND $6")),
        "awards": _AWARDS.format(rows=rows(
            "rp_awards", "t.decision_date BETWEEN $5 AND $6 AND NOT EXISTS "
                         "(SELECT 1 FROM rp_award_revocations v WHERE v.award_id = t.award_id)")),
    }


_STATEMENTS = {(crosswalk, own): _statements(crosswalk, own) for crosswalk in (False, True) for own in (False, True)}


def years_of(period: Period) -> tuple[int, int]:
    """(start year, end year): the review year before the period, and the period's last review year."""
    return period.start.year - 1, period.end.year


async def gather(session: AsyncSession, path: str, period: Period, own: bool = False) -> ReportData:
    start_year, end_year = years_of(period)
    data = ReportData(start_year, end_year)
    if not own:  # poverty figures live at communes only: a unit's own part of them is nothing
        by_child = await figures_by_child(session, path, start_year, end_year)
        for per_year in by_child.values():
            for year, figures in per_year.items():
                if year == start_year:
                    fg.add(data.poverty_start, figures)
                if year == end_year:
                    fg.add(data.poverty_end, figures)
                if year > start_year:
                    for t in ("newly_poor", "re_poor", "escaped_poverty", "escaped_near_poverty", "became_near_poor"):
                        data.transitions[t] = data.transitions.get(t, 0) + figures[f"t__{t}"]
    data.names = await catalogue_names(session)
    rows = await support_rows(session, path, period.start, period.end, own=own)
    data.support = support_figures(rows.lines, rows.funding, rows.quantities, data.names)
    statements = _STATEMENTS[(uses_crosswalk(path) and not own, own)]
    args = (*subtree.params(path), period.start, period.end)
    fund = await fetch(session, statements["fund"], *args)
    data.fund = {k: int(v) for k, v in dict(fund[0]).items()} if fund else {}
    data.activities = [dict(r) for r in await fetch(session, statements["activities"], *args)]
    data.body_activities = [dict(r) for r in await fetch(session, statements["body_activities"], *args)]
    data.sponsorships = [dict(r) for r in await fetch(session, statements["sponsorships"], *args)]
    data.exemplars = [dict(r) for r in await fetch(session, statements["exemplars"], *args)]
    data.awards = [dict(r) for r in await fetch(session, statements["awards"], *args)]
    data.documents = [dict(r) for r in await fetch(session, _DOCUMENTS, path, period.start, period.end)]
    data.targets = [dict(r) for r in await fetch(session, _TARGETS, path, period.start.year, period.end.year)]
    return data


async def movement(session: AsyncSession, movement_id: str) -> dict[str, Any] | None:
    rows = await fetch(session, "SELECT movement_id, unit_path, name, starts_on, ends_on, phases FROM rp_movements "
                                "WHERE movement_id = $1", movement_id)
    if not rows:
        return None
    found = dict(rows[0])
    phases = found["phases"]
    found["phases"] = orjson.loads(phases) if isinstance(phases, str) else phases
    return found


def as_date(value: Any) -> date | None:
    return value if isinstance(value, date) or value is None else date.fromisoformat(str(value)[:10])
