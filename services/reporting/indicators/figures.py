"""Poverty figures of one unit in one year, and how they are added up and shown.

Counts add up; rates never do: every rate is a ratio of sums (poor / households of the same units),
in percent with two decimals, and the change against the previous year is a difference of rates in
percentage points. A unit without households has no rate (null), not 0 %.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from services.reporting.projections.counters import STATUSES, TRANSITIONS

BREAKDOWNS = ("ethnic_minority", "policy_family", "social_protection", "urban", "rural")

# The counters of one unit in one year (indicators/query.py fills them from the commune counters).
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
