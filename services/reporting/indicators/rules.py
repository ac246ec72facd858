"""Poverty figures of one unit in one year, how they are added up and shown, and which years are asked.

Counts add up; rates never do: every rate is a ratio of sums (poor / households of the same units),
in percent with two decimals, and the change against the previous year is a difference of rates in
percentage points. A unit without households has no rate (null), not 0 %.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from services.reporting.poverty.counters import STATUSES, TRANSITIONS
from shared.errors import Problem

MAX_YEARS = 30
BREAKDOWNS = ("ethnic_minority", "policy_family", "social_protection", "urban", "rural")

# The counters of one unit in one year (repository.py fills them from the commune counters).
COUNTERS: tuple[str, ...] = (
    "households", "members", *STATUSES, "poor_members", "near_poor_members",
    *(f"{b}{suffix}" for b in BREAKDOWNS for suffix in ("", "__poor", "__near_poor")),
    *(f"t__{t}" for t in TRANSITIONS),
)

Figures = dict[str, int]


def empty() -> Figures:
    return dict.fromkeys(COUNTERS, 0)


def add(total: Figures, part: Figures) -> None:
    for key in COUNTERS:
        total[key] += part[key]


def sum_of(parts: Iterable[Figures]) -> Figures:
    total = empty()
    for part in parts:
        add(total, part)
    return total


def rate(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def change_pp(now: float | None, before: float | None) -> float | None:
    return round(now - before, 2) if now is not None and before is not None else None


def shown(f: Figures, previous: Figures | None) -> dict[str, Any]:
    """The figures as the API shows them: counts, rates, change in points, breakdowns, transitions."""
    poor_rate = rate(f["poor"], f["households"])
    near_poor_rate = rate(f["near_poor"], f["households"])
    before = previous or empty()
    return {
        "households": f["households"],
        "poor": f["poor"],
        "near_poor": f["near_poor"],
        "poor_rate": poor_rate,
        "near_poor_rate": near_poor_rate,
        "poor_rate_change_pp": change_pp(poor_rate, rate(before["poor"], before["households"])),
        "near_poor_rate_change_pp": change_pp(near_poor_rate, rate(before["near_poor"], before["households"])),
        "middle_income": f["middle_income"],
        "not_poor": f["not_poor"],
        "members": f["members"],
        "poor_members": f["poor_members"],
        "near_poor_members": f["near_poor_members"],
        "breakdowns": {
            b: {
                "households": f[b], "poor": f[f"{b}__poor"], "near_poor": f[f"{b}__near_poor"],
                "poor_rate": rate(f[f"{b}__poor"], f[b]), "near_poor_rate": rate(f[f"{b}__near_poor"], f[b]),
            }
            for b in BREAKDOWNS
        },
        "transitions": {t: f[f"t__{t}"] for t in TRANSITIONS},
    }


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


def needs_latest_year(year: int | None, year_to: int | None) -> bool:
    """Whether choosing the years needs the latest year with figures (no `year` and no `year_to`)."""
    return year is None and year_to is None


def choose_years(year: int | None, year_from: int | None, year_to: int | None, latest: int | None,
                 this_year: int) -> Years:
    """`year`, or `year_from`..`year_to`; without either, the latest year with figures (`latest`), or
    this year when the unit has none."""
    if year is not None and (year_from is not None or year_to is not None):
        raise _bad_years("Give either year or year_from/year_to, not both.", "year")
    if year is not None:
        return Years(year, year)
    last = year_to if year_to is not None else (latest or this_year)
    if year_from is None:
        return Years(last, last)
    if year_from > last:
        raise _bad_years("year_from must not be after year_to.", "year_from")
    if last - year_from + 1 > MAX_YEARS:
        raise _bad_years(f"A range covers at most {MAX_YEARS} years.", "year_from")
    return Years(year_from, last)
