"""Completeness and timeliness of reporting (the DHIS2 reporting-rate idea): expected reports are the
denominator — every unit that must report for the period (valid on its due date) —; a report counts
as submitted once it was submitted (accepted, returned or awaiting a decision), on time when first
submitted by the due date (Vietnam's calendar); missing is expected less submitted (drafts included).
Rates are percentages with two decimals, null when nothing is expected. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.reporting.reports.rules import ACCEPTED, RETURNED, SUBMITTED


@dataclass
class Tally:
    expected: int = 0
    submitted: int = 0
    on_time: int = 0
    accepted: int = 0
    returned: int = 0
    awaiting: int = 0
    drafts: int = 0

    def count(self, state: str | None, first_submitted_on: date | None, due_on: date) -> None:
        self.expected += 1
        if first_submitted_on is not None:
            self.submitted += 1
            self.on_time += first_submitted_on <= due_on
        self.accepted += state == ACCEPTED
        self.returned += state == RETURNED
        self.awaiting += state == SUBMITTED
        self.drafts += state is not None and first_submitted_on is None

    def add(self, other: Tally) -> None:
        for name in ("expected", "submitted", "on_time", "accepted", "returned", "awaiting", "drafts"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, Any]:
        def rate(part: int) -> float | None:
            return round(100.0 * part / self.expected, 2) if self.expected else None

        return {"expected": self.expected, "submitted": self.submitted, "on_time": self.on_time,
                "late": self.submitted - self.on_time, "accepted": self.accepted, "returned": self.returned,
                "awaiting_decision": self.awaiting, "drafts": self.drafts, "missing": self.expected - self.submitted,
                "completeness_rate": rate(self.submitted), "timeliness_rate": rate(self.on_time),
                "acceptance_rate": rate(self.accepted)}


@dataclass
class Rollup:
    total: Tally = field(default_factory=Tally)
    by_level: dict[str, Tally] = field(default_factory=dict)
    by_child: dict[str, Tally] = field(default_factory=dict)


def overdue(state: str | None, first_submitted_on: date | None, due_on: date, today: date) -> bool:
    return first_submitted_on is None and due_on < today


def roll_up(rows: list[tuple[str, str, str | None, date | None]], due_on: date) -> Rollup:
    """rows: (child code the unit lies under, its level, its report's state or None, first submission day)."""
    rollup = Rollup()
    for child, level, state, submitted in rows:
        one = Tally()
        one.count(state, submitted, due_on)
        rollup.total.add(one)
        rollup.by_level.setdefault(level, Tally()).add(one)
        rollup.by_child.setdefault(child, Tally()).add(one)
    return rollup
