"""What an officer's dashboard shows for a unit (within the caller's scope) and a year: the poverty
rate of the unit and its child units over five years against the targets handed to it, support by
programme and funding source, the "Vì người nghèo" fund balances, the completeness of the year's
annual report, and the emulation ranking of the units one level below.

The unit is located and checked against the scope first; the independent reads then run side by side,
each on a pooled connection of its own (a dashboard is many small queries; one after another they
cost several times one of them).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.completeness import repository as completeness
from services.reporting.completeness.rules import roll_up
from services.reporting.dashboard import repository
from services.reporting.indicators.service import poverty_report
from services.reporting.progress.projection import EMULATION_CONSUMER, SUPPORT_CONSUMER
from services.reporting.progress.repository import read_progresses
from services.reporting.reports.layout import INDICATORS
from services.reporting.reports.rules import REPORT_TYPES, period_of
from services.reporting.sql import fetch
from services.reporting.support.repository import catalogue_names, support_rows
from services.reporting.support.rules import million_vnd, support_figures
from shared.clock import today
from shared.db import Database
from shared.principal import Principal

SERIES_YEARS = 5
_TARGETS = "SELECT indicator, value, upper, measure_unit FROM rp_targets WHERE unit_path = $1 AND year = $2 " \
           "ORDER BY indicator"
T = TypeVar("T")


def _poverty(report: dict[str, Any]) -> dict[str, Any]:
    keep = ("households", "poor", "near_poor", "poor_rate", "near_poor_rate", "poor_rate_change_pp")

    def brief(entry: dict[str, Any]) -> dict[str, Any]:
        return {k: entry[k] for k in keep}

    unit = report["unit"]
    return {
        "unit": brief(unit),
        "series": [{"year": s["year"], **brief(s)} for s in unit.get("series", [])],
        "children": [{"code": c["code"], "name": c["name"], "path": c["path"], **brief(c)} for c in report["children"]],
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
    """Per movement, the units ranked by total (equal totals share a rank)."""
    ranking: dict[str, dict[str, Any]] = defaultdict(lambda: {"units": []})
    for r in rows:
        movement = ranking[r["movement_id"]]
        movement["movement_id"], movement["name"] = r["movement_id"], r["movement"]
        units = movement["units"]
        total = str(Decimal(str(r["total"]))) if r["total"] is not None else None
        rank = units[-1]["rank"] if units and units[-1]["total"] == total else len(units) + 1
        units.append({"rank": rank, "path": r["unit_path"], "code": r["code"], "name": r["name"], "total": total})
    return list(ranking.values())


async def dashboard(session: AsyncSession, db: Database, principal: Principal, unit: str | None,
                    hierarchy: str | None, year: int | None) -> dict[str, Any]:
    year = year or today().year
    # Located and checked against the scope before anything else is read.
    report = await poverty_report(session, principal, unit, hierarchy, None, year - SERIES_YEARS + 1, year)
    ref = report["unit"]
    path = ref["path"]
    annual = period_of(REPORT_TYPES["annual"], str(year))
    first, last = date(year, 1, 1), date(year, 12, 31)

    def alone(read: Callable[[AsyncSession], Awaitable[T]]) -> asyncio.Task[T]:
        async def run() -> T:
            async with db.session(principal) as own:
                return await read(own)

        return asyncio.create_task(run())

    targets_read = alone(lambda s: fetch(s, _TARGETS, path, year))
    support_read = alone(lambda s: support_rows(s, path, first, last, parts=("lines", "funding")))
    names_read = alone(catalogue_names)
    funds_read = alone(lambda s: repository.fund_balances(s, path, year))
    counts_read = alone(lambda s: completeness.counts(s, path, "annual", annual.key, annual.due_on, today()))
    scores_read = alone(lambda s: repository.scores(s, path, year))
    fresh_read = alone(lambda s: read_progresses(s, [SUPPORT_CONSUMER, EMULATION_CONSUMER]))
    reads: list[asyncio.Task[Any]] = [targets_read, support_read, names_read, funds_read, counts_read, scores_read,
                                      fresh_read]
    try:
        await asyncio.gather(*reads)
    finally:
        for task in reads:
            task.cancel()  # one failed read leaves none of the others running
    targets, support, names, funds = targets_read.result(), support_read.result(), names_read.result(), \
        funds_read.result()
    counts, scores, fresh = counts_read.result(), scores_read.result(), fresh_read.result()
    poverty = _poverty(report)
    poverty["targets"] = _targets(targets, poverty)
    money = support_figures(support.lines, support.funding, [], names)
    children = {c["code"]: c for c in poverty["children"]}
    balance = sum(int(r["balance_vnd"]) for r in funds)
    by_unit = [{"code": r["child"] or ref["code"],
                "name": children.get(r["child"], {}).get("name", r["child"]) if r["child"] else ref["name"],
                "balance_vnd": int(r["balance_vnd"]), "balance_million_vnd": million_vnd(int(r["balance_vnd"])),
                "donations_vnd": int(r["donations_vnd"]), "spent_vnd": int(r["spent_vnd"])}
               for r in sorted(funds, key=lambda r: r["child"])]
    rollup = roll_up(counts)
    return {
        "unit": {k: ref[k] for k in ("code", "name", "level", "type", "path", "hierarchy")}, "year": year,
        "poverty": poverty,
        "support": {"programmes": [{k: p[k] for k in ("programme", "name", "deliveries", "households", "amount_vnd",
                                                      "amount_million_vnd")} for p in money["programmes"]],
                    "sources": money["sources"], "total": money["total"]},
        "funds": {"balance_vnd": balance, "balance_million_vnd": million_vnd(balance), "by_unit": by_unit},
        "completeness": {"type": "annual", "period": annual.key, "due_on": annual.due_on.isoformat(),
                         "totals": rollup.total.as_dict(),
                         "children": [{"code": code, "name": children.get(code, {}).get("name", code), **t.as_dict()}
                                      for code, t in sorted(rollup.by_child.items())]},
        "ranking": _ranking(scores),
        "current_as_of": {"registry": report["current_as_of"], "support": fresh[SUPPORT_CONSUMER],
                          "emulation": fresh[EMULATION_CONSUMER]},
    }
