"""What an officer's dashboard shows for a unit (within the caller's scope) and a year: the poverty
rate of the unit and its child units over five years against the targets handed to it, support by
programme and funding source, the "Vì người nghèo" fund balances, the completeness of the year's
annual report, and the emulation ranking of the units one level below.

The unit is located and checked against the scope first; the reads then run one after another on the
request's own connection. (They once ran side by side, each on a pooled connection of its own: taking
seven connections from the pool, each with its ping, BEGIN and COMMIT, cost more than the queries.) The
poverty counts are the three the page draws, not the indicators' every column.

What the projections feed (poverty, targets, support, funds, ranking) is kept for the next request of
the same unit and year in `DashboardCache`, keyed by how far each consumer had applied its stream
(`rp_progress`: stream sequence and time of the last apply, which a rebuild changes too) when it was read:
any event applied since, or a rebuild, makes a new key. The progress is read before the figures, so a kept
answer is never older than its key. The completeness of the annual report is counted on every request:
reports are written by requests, not events, and their state is not in the key.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.completeness import repository as completeness
from services.reporting.completeness.rules import roll_up
from services.reporting.dashboard import repository
from services.reporting.indicators.rules import change_pp, rate
from services.reporting.progress.projection import EMULATION_CONSUMER, SUPPORT_CONSUMER
from services.reporting.progress.repository import read_progresses
from services.reporting.reports import figures as gathering
from services.reporting.reports.layout import INDICATORS
from services.reporting.reports.rules import REPORT_TYPES, Period, period_of
from services.reporting.sql import fetch
from services.reporting.support.repository import catalogue_names, support_rows
from services.reporting.support.rules import million_vnd, support_figures
from services.reporting.units.rules import UnitRef, child_ref
from services.reporting.units.service import locate
from shared.clock import today
from shared.errors import Problem
from shared.principal import Principal

SERIES_YEARS = 5
_TARGETS = "SELECT indicator, value, upper, measure_unit FROM rp_targets WHERE unit_path = $1 AND year = $2 " \
           "ORDER BY indicator"


Counts = tuple[int, int, int]  # households, poor, near-poor
_NONE: Counts = (0, 0, 0)
Version = tuple[object, ...]


class DashboardCache:
    """The projection-fed parts of the latest dashboards, least recently used first out."""

    def __init__(self, entries: int) -> None:
        self.entries = entries
        self._kept: OrderedDict[tuple[str, int], tuple[Version, dict[str, Any]]] = OrderedDict()

    def get(self, path: str, year: int, version: Version) -> dict[str, Any] | None:
        found = self._kept.get((path, year))
        if found is None or found[0] != version:
            return None
        self._kept.move_to_end((path, year))
        return found[1]

    def put(self, path: str, year: int, version: Version, parts: dict[str, Any]) -> None:
        if self.entries <= 0:
            return
        self._kept[(path, year)] = (version, parts)
        self._kept.move_to_end((path, year))
        while len(self._kept) > self.entries:
            self._kept.popitem(last=False)


def _version(*progresses: dict[str, Any]) -> Version:
    return tuple((p["stream_seq"], p["applied_at"]) for p in progresses)


def _shown(now: Counts, before: Counts | None) -> dict[str, Any]:
    """As the indicators show them (indicators/rules.py): rates are ratios of sums, changes in points."""
    households, poor, near_poor = now
    poor_rate = rate(poor, households)
    earlier = before or _NONE
    return {"households": households, "poor": poor, "near_poor": near_poor, "poor_rate": poor_rate,
            "near_poor_rate": rate(near_poor, households),
            "poor_rate_change_pp": change_pp(poor_rate, rate(earlier[1], earlier[0]))}


def _poverty(ref: UnitRef, known: list[UnitRef], rows: list[Any], year: int) -> dict[str, Any]:
    """The unit over the five years ending with `year`, and each child unit in `year` (`rows` start a year
    earlier: the first year's change needs it)."""
    by_child: dict[str, dict[int, Counts]] = defaultdict(dict)
    unit: dict[int, Counts] = {}
    for r in rows:
        counts = (int(r["households"]), int(r["poor"]), int(r["near_poor"]))
        by_child[r["child"]][int(r["year"])] = counts
        held = unit.get(int(r["year"]), _NONE)
        unit[int(r["year"])] = (held[0] + counts[0], held[1] + counts[1], held[2] + counts[2])
    listed = {c.code for c in known}
    children = [*known, *(child_ref(ref, code) for code in sorted(by_child) if code and code not in listed)]
    years = range(year - SERIES_YEARS + 1, year + 1)
    return {
        "unit": _shown(unit.get(year, _NONE), unit.get(year - 1)),
        "series": [{"year": y, **_shown(unit.get(y, _NONE), unit.get(y - 1))} for y in years],
        "children": [{"code": c.code, "name": c.name, "path": c.path,
                      **_shown(by_child[c.code].get(year, _NONE), by_child[c.code].get(year - 1))}
                     for c in children],
    }


def _targets(rows: list[Any], poverty: dict[str, Any]) -> list[dict[str, Any]]:
    unit, series = poverty["unit"], poverty["series"]
    before = series[-2] if len(series) >= 2 else {}
    actual = {
        "poor_rate_reduction": -unit["poor_rate_change_pp"] if unit["poor_rate_change_pp"] is not None else None,
        "poor_rate": unit["poor_rate"],
        "poor_households_reduced": (before.get("poor") or 0) - unit["poor"] if before else None,
    }
    out = []
    for r in rows:
        value = Decimal(str(r["value"])) if r["value"] is not None else None
        got = actual.get(r["indicator"])
        less_is_better = r["indicator"] == "poor_rate"
        met = None if got is None or value is None else (Decimal(str(got)) <= value if less_is_better
                                                         else Decimal(str(got)) >= value)
        out.append({"indicator": r["indicator"], "name": INDICATORS.get(r["indicator"], (r["indicator"],))[0],
                    "target": str(value) if value is not None else None, "actual": got, "met": met})
    return out


def _ranking(rows: list[Any]) -> list[dict[str, Any]]:
    """Per movement and criteria set (the unit whose board scored them: a province and a district may both
    score the same communes), the units ranked by total (equal totals share a rank). Scores projected
    before events carried their set have none and rank together."""
    ranking: dict[tuple[str, str | None], dict[str, Any]] = defaultdict(lambda: {"units": []})
    for r in rows:
        movement = ranking[(r["movement_id"], r["criteria_set_id"])]
        movement["movement_id"], movement["name"] = r["movement_id"], r["movement"]
        movement["criteria_set_id"] = r["criteria_set_id"]
        movement["scored_by"] = {"path": r["scored_by"], "name": r["scored_by_name"]} if r["scored_by"] else None
        units = movement["units"]
        total = str(Decimal(str(r["total"]))) if r["total"] is not None else None
        rank = units[-1]["rank"] if units and units[-1]["total"] == total else len(units) + 1
        units.append({"rank": rank, "path": r["unit_path"], "code": r["code"], "name": r["name"], "total": total})
    return list(ranking.values())


REVIEWS = ("midterm", "final")  # the movement's review reports
REVIEW_NAMES = {"midterm": "Sơ kết", "final": "Tổng kết"}


def report_period(year: int, month: int | None, review: str | None = None,
                  movement: dict[str, Any] | None = None) -> tuple[str, Period]:
    """The report whose completeness the dashboard counts: the year's annual report, a month's review
    report (`month` 1–12 of `year`; monthly reports are expected for January–August), or a movement's
    mid-term or final review (`review`, of `movement` as the read model holds it)."""
    if review is not None:
        try:
            return review, period_of(REPORT_TYPES[review], str((movement or {}).get("movement_id")), movement)
        except Problem as problem:  # the movement is what the dashboard's caller named
            problem.extra["errors"] = [{"field": "movement", "reason": e["reason"]}
                                       for e in problem.extra.get("errors") or []]
            raise
    if month is None:
        return "annual", period_of(REPORT_TYPES["annual"], str(year))
    return "monthly", period_of(REPORT_TYPES["monthly"], f"{year}-{month:02d}")


def _reviews(rows: list[Any]) -> list[dict[str, Any]]:
    """The movements covering the unit and the review reports each plans (those with a day)."""
    out = []
    for row in rows:
        movement = dict(row)
        if isinstance(movement["phases"], str):
            movement["phases"] = orjson.loads(movement["phases"])
        reviews = []
        for code in REVIEWS:
            try:
                period = period_of(REPORT_TYPES[code], str(movement["movement_id"]), movement)
            except Problem:
                continue  # no such phase, or no day for it
            reviews.append({"type": code, "name": REVIEW_NAMES[code], "due_on": period.due_on.isoformat()})
        out.append({"movement_id": movement["movement_id"], "name": movement["name"], "reviews": reviews})
    return out


def _related(movement_path: str, unit_path: str) -> bool:
    """Whether a movement launched at `movement_path` concerns the unit: launched by it, above it or below it."""
    return (movement_path == unit_path or unit_path.startswith(movement_path + ".")
            or movement_path.startswith(unit_path + "."))


def _choice(month: int | None, review: str | None, movement_id: str | None) -> None:
    """422 naming the parameter when the report asked for is ambiguous or incomplete."""
    errors = []
    if review is not None and month is not None:
        errors.append({"field": "month", "reason": "give either month or review, not both"})
    if review is not None and not movement_id:
        errors.append({"field": "movement", "reason": "a review report needs the movement's id"})
    if movement_id and review is None:
        errors.append({"field": "review", "reason": "midterm or final, with movement"})
    if errors:
        raise Problem(422, "validation_error", "Invalid request",
                      "; ".join(f"{e['field']}: {e['reason']}" for e in errors), errors=errors)


async def dashboard(session: AsyncSession, cache: DashboardCache, principal: Principal, unit: str | None,
                    hierarchy: str | None, year: int | None, month: int | None = None, review: str | None = None,
                    movement_id: str | None = None) -> dict[str, Any]:
    year = year or today().year
    _choice(month, review, movement_id)
    located = await locate(session, principal, unit, hierarchy)  # checked against the scope before any read
    movement = await gathering.movement(session, movement_id) if review and movement_id else None
    if review and (movement is None or not _related(movement["unit_path"], located.unit.path)):
        # Another province's movement is not revealed (its name, its review days): as unknown.
        raise Problem(422, "unknown_movement", "Unknown movement",
                      f"No movement {movement_id!r} covering {located.unit.path} or launched below it is known to "
                      "reporting (emulation.movement.launched).",
                      errors=[{"field": "movement", "reason": "a movement of this unit, above or below it"}])
    report_type, period = report_period(year, month, review, movement)
    ref = located.unit
    fresh = await read_progresses(session, [SUPPORT_CONSUMER, EMULATION_CONSUMER])  # before the figures
    version = _version(located.progress, fresh[SUPPORT_CONSUMER], fresh[EMULATION_CONSUMER])
    parts = cache.get(ref.path, year, version)
    if parts is None:
        parts = await _projected(session, ref, located.children, year)
        parts["current_as_of"] = {"registry": located.progress, "support": fresh[SUPPORT_CONSUMER],
                                  "emulation": fresh[EMULATION_CONSUMER]}
        cache.put(ref.path, year, version, parts)
    counts = await completeness.counts(session, ref.path, report_type, period.key, period.due_on, today()) \
        if period.expected else []
    reports = roll_up(counts)
    own = await repository.own_report(session, ref.path, report_type, period.key)
    names = {c["code"]: c["name"] for c in parts["poverty"]["children"]}
    return {
        "unit": ref.as_dict(), "year": year,
        "poverty": parts["poverty"], "support": parts["support"], "funds": parts["funds"],
        "movements": parts["movements"],
        "completeness": {"type": report_type, "period": period.key, "due_on": period.due_on.isoformat(),
                         "expected_period": period.expected,
                         "movement": {"movement_id": movement["movement_id"], "name": movement["name"]}
                         if movement else None,
                         "own": _own(own, period.due_on), "totals": reports.total.as_dict(),
                         "children": [{"code": code, "name": names.get(code, code), **t.as_dict()}
                                      for code, t in sorted(reports.by_child.items())]},
        "ranking": parts["ranking"],
        "current_as_of": parts["current_as_of"],
    }


def _own(row: Any | None, due_on: date) -> dict[str, Any] | None:
    """The unit's own report: its state and first submission (the timeliness counts that one)."""
    if row is None:
        return None
    submitted = row["first_submitted_on"]
    return {"report_id": str(row["id"]), "state": row["state"],
            "first_submitted_on": submitted.isoformat() if submitted else None,
            "on_time": submitted <= due_on if submitted else None}


async def _projected(session: AsyncSession, ref: UnitRef, known: list[UnitRef], year: int) -> dict[str, Any]:
    """What the projections say: poverty against targets, support, funds, ranking (kept in the cache)."""
    path = ref.path
    first, last = date(year, 1, 1), date(year, 12, 31)
    counts = await repository.poverty_counts(session, path, year - SERIES_YEARS, year)
    targets = await fetch(session, _TARGETS, path, year)
    support = await support_rows(session, path, first, last, parts=("lines", "funding"))
    names = await catalogue_names(session)
    funds = await repository.fund_balances(session, path, year)
    scores = await repository.scores(session, path, year)
    movements = await repository.movements(session, path)
    poverty = _poverty(ref, known, counts, year)
    poverty["targets"] = _targets(targets, poverty)
    money = support_figures(support.lines, support.funding, [], names)
    children = {c["code"]: c for c in poverty["children"]}
    balance = sum(int(r["balance_vnd"]) for r in funds)
    by_unit = [{"code": r["child"] or ref.code,
                "name": children.get(r["child"], {}).get("name", r["child"]) if r["child"] else ref.name,
                "balance_vnd": int(r["balance_vnd"]), "balance_million_vnd": million_vnd(int(r["balance_vnd"])),
                "donations_vnd": int(r["donations_vnd"]), "spent_vnd": int(r["spent_vnd"])}
               for r in sorted(funds, key=lambda r: r["child"])]
    return {
        "poverty": poverty,
        "support": {"programmes": [{k: p[k] for k in ("programme", "name", "deliveries", "households", "amount_vnd",
                                                      "amount_million_vnd")} for p in money["programmes"]],
                    "sources": money["sources"], "total": money["total"]},
        "funds": {"balance_vnd": balance, "balance_million_vnd": million_vnd(balance), "by_unit": by_unit},
        "ranking": _ranking(scores),
        "movements": _reviews(movements),
    }
