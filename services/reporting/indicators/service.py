"""The poverty indicator answer: a unit and each of its child units, for a year or a range of years."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.indicators import rules as fg
from services.reporting.indicators.repository import figures_by_child, latest_year
from services.reporting.indicators.rules import Years, choose_years, needs_latest_year
from services.reporting.units.rules import UnitRef, child_ref
from services.reporting.units.service import locate
from services.reporting.units.subtree import uses_crosswalk
from shared.clock import today
from shared.principal import Principal


def _entry(ref: UnitRef, by_year: dict[int, fg.Figures], years: Years) -> dict[str, Any]:
    def at(y: int) -> dict[str, Any]:
        return fg.shown(by_year.get(y) or fg.empty(), by_year.get(y - 1))

    entry: dict[str, Any] = {**ref.as_dict(), "year": years.last, **at(years.last)}
    if years.is_range:
        entry["series"] = [{"year": y, **at(y)} for y in years.each()]
    return entry


async def poverty_report(session: AsyncSession, principal: Principal, unit: str | None, hierarchy: str | None,
                         year: int | None, year_from: int | None, year_to: int | None) -> dict[str, Any]:
    located = await locate(session, principal, unit, hierarchy)
    ref, known = located.unit, located.children
    latest = await latest_year(session, ref.path) if needs_latest_year(year, year_to) else None
    years = choose_years(year, year_from, year_to, latest, today().year)
    # The freshness was read with the unit, before the figures: they are at least as fresh as it says.
    as_of = located.progress
    # One year more than asked: the change against the previous year needs it.
    found = await figures_by_child(session, ref.path, years.first - 1, years.last)
    children = list(known)
    listed = {c.code for c in known}
    children += [child_ref(ref, code) for code in sorted(found) if code and code not in listed]
    unit_by_year: dict[int, fg.Figures] = {}
    for by_year in found.values():
        for y, f in by_year.items():
            fg.add(unit_by_year.setdefault(y, fg.empty()), f)
    return {
        "hierarchy": ref.hierarchy,
        "year": years.last,
        "year_from": years.first,
        "year_to": years.last,
        "crosswalk_applied": uses_crosswalk(ref.path),
        "unit": _entry(ref, unit_by_year, years),
        "children": [_entry(c, found.get(c.code, {}), years) for c in children],
        "current_as_of": as_of,
    }
