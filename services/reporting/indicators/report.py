"""The poverty indicator answer: a unit and each of its child units, for a year or a range of years."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.indicators import figures as fg
from services.reporting.indicators.query import figures_by_child, latest_year, uses_crosswalk
from services.reporting.indicators.units import UnitRef, child_ref, locate
from shared.errors import Problem
from shared.principal import Principal

MAX_YEARS = 30
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass(frozen=True)
class Years:
    first: int
    last: int

    @property
    def is_range(self) -> bool:
        return self.first != self.last

    def each(self) -> range:
        return range(self.first, self.last + 1)


def _bad_years(detail: str, field: str) -> Problem:
    return Problem(422, "validation_error", "Invalid request", detail, errors=[{"field": field, "reason": detail}])


async def pick_years(session: AsyncSession, unit: UnitRef, year: int | None, year_from: int | None,
                     year_to: int | None) -> Years:
    """`year`, or `year_from`..`year_to`; without either, the latest year with figures for the unit."""
    if year is not None and (year_from is not None or year_to is not None):
        raise _bad_years("Give either year or year_from/year_to, not both.", "year")
    if year is not None:
        return Years(year, year)
    if year_from is None and year_to is None:
        latest = await latest_year(session, unit.path)
        fallback = datetime.now(VIETNAM).year
        return Years(latest or fallback, latest or fallback)
    last = year_to if year_to is not None else (await latest_year(session, unit.path) or datetime.now(VIETNAM).year)
    first = year_from if year_from is not None else last
    if first > last:
        raise _bad_years("year_from must not be after year_to.", "year_from")
    if last - first + 1 > MAX_YEARS:
        raise _bad_years(f"A range covers at most {MAX_YEARS} years.", "year_from")
    return Years(first, last)


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
    years = await pick_years(session, ref, year, year_from, year_to)
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
