"""Completeness and timeliness of reporting (the DHIS2 reporting-rate idea): expected reports are the
denominator — every unit that must report for the period (valid on its due date) —; a report counts
as submitted once it was submitted (accepted, returned or awaiting a decision), on time when first
submitted by the due date (Vietnam's calendar); missing is expected less submitted (drafts included).
Overdue: never submitted, and the due date has passed. Rates are percentages with two decimals, null
when nothing is expected. Pure (the database counts: completeness/repository.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

COUNTS = ("expected", "submitted", "on_time", "accepted", "returned", "awaiting", "drafts", "overdue")


@dataclass
class Tally:
    expected: int = 0
    submitted: int = 0
    on_time: int = 0
    accepted: int = 0
    returned: int = 0
    awaiting: int = 0
    drafts: int = 0
    overdue: int = 0

    def add(self, counts: Any) -> None:
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + int(counts[name]))

    def as_dict(self) -> dict[str, Any]:
        def rate(part: int) -> float | None:
            return round(100.0 * part / self.expected, 2) if self.expected else None

        return {"expected": self.expected, "submitted": self.submitted, "on_time": self.on_time,
                "late": self.submitted - self.on_time, "accepted": self.accepted, "returned": self.returned,
                "awaiting_decision": self.awaiting, "drafts": self.drafts, "missing": self.expected - self.submitted,
                "overdue": self.overdue, "completeness_rate": rate(self.submitted),
                "timeliness_rate": rate(self.on_time), "acceptance_rate": rate(self.accepted)}


@dataclass
class Rollup:
    total: Tally = field(default_factory=Tally)
    by_level: dict[str, Tally] = field(default_factory=dict)
    by_child: dict[str, Tally] = field(default_factory=dict)


def roll_up(rows: list[Any]) -> Rollup:
    """rows: the counts per (child unit the units lie under, level) — completeness/repository.py."""
    rollup = Rollup()
    for row in rows:
        rollup.total.add(row)
        rollup.by_level.setdefault(row["level"], Tally()).add(row)
        rollup.by_child.setdefault(row["child"], Tally()).add(row)
    return rollup
