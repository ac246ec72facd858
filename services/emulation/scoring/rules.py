"""Scoring, pure: the criteria a set may hold, their weights, and how a criterion's points follow from
its measured value and target (automatic) or the board's points (manual).

`repository.SCORE_SQL` computes the same for every unit at once in PostgreSQL (set-based, so a
province of thousands of communes is scored in one statement); tests check both agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from shared.errors import Problem

TOTAL_WEIGHT = Decimal(100)
# Automatic criteria: the value measured from other services' events (never by calling them), against
# the unit's target of the same indicator (targets handed down).
SOURCES = {
    "poor_rate_reduction": "registry.review.approved: poor households ÷ households, last year − this year (pp)",
    "near_poor_rate_reduction": "registry.review.approved: near-poor ÷ households, last year − this year (pp)",
    "households_escaping_poverty": "registry.review.approved: poor households last year − this year",
    "support_delivered": "support.delivery.*: VND delivered in the year (deliveries not voided)",
    "temporary_houses_removed": "support.delivery.*: houses built or repaired by housing programmes in the year "
                                "(quantities in the measure house; deliveries not voided)",
    "fund_raised": "support.fund.donation_received: VND donated in the year (donations not reversed since)",
    "propaganda_sessions": "emulation activities: propaganda sessions, conferences, training classes held",
}
LEVELS = ("commune", "district", "province")


@dataclass(frozen=True)
class Criterion:
    key: str
    name: str
    kind: str  # auto | manual
    source: str | None  # auto: a SOURCES key
    weight: Decimal  # the most points it gives


def parse_criteria(items: list[dict[str, Any]]) -> list[Criterion]:
    """Checks a whole set: codes unique, sources known, positive weights adding up to 100."""
    errors = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item["key"] in seen:
            errors.append({"field": f"criteria[{i}].key", "reason": "given twice"})
        seen.add(item["key"])
        if item["kind"] == "auto" and item.get("source") not in SOURCES:
            errors.append({"field": f"criteria[{i}].source", "reason": f"one of {', '.join(SOURCES)}"})
        if item["kind"] == "manual" and item.get("source"):
            errors.append({"field": f"criteria[{i}].source", "reason": "a manual criterion has no source"})
    total = sum((Decimal(str(i["weight"])) for i in items), Decimal(0))
    if total != TOTAL_WEIGHT:
        errors.append({"field": "criteria", "reason": f"the weights add up to {total}, not 100"})
    if errors:
        raise Problem(422, "validation_error", "Invalid request", "The criteria set is not valid.", errors=errors)
    return [Criterion(i["key"], i["name"], i["kind"], i.get("source"), Decimal(str(i["weight"]))) for i in items]


def points(c: Criterion, value: Decimal | None, target: Decimal | None, manual: Decimal | None) -> Decimal:
    """Automatic: the weight times the share of the target achieved, between 0 and 1 (no target or no
    measure: 0); a target of 0 is met by any value not below it. Manual: the board's points, at most
    the weight."""
    if c.kind == "manual":
        return min(manual, c.weight) if manual is not None else Decimal(0)
    if value is None or target is None:
        return Decimal(0)
    if target <= 0:
        return c.weight if value >= target else Decimal(0)
    share = max(Decimal(0), min(Decimal(1), value / target))
    return (c.weight * share).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def rate_reduction(before: tuple[int, int] | None, after: tuple[int, int] | None) -> Decimal | None:
    """Percentage points from (counted, households) last year to this year, to 4 places."""
    if not before or not after or before[1] <= 0 or after[1] <= 0:
        return None
    change = (Decimal(before[0]) / before[1] - Decimal(after[0]) / after[1]) * 100
    return change.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


REVIEW_SOURCES = ("poor_rate_reduction", "near_poor_rate_reduction", "households_escaping_poverty")


@dataclass(frozen=True)
class Counts:
    """A commune's households by status after its approved annual review."""
    households: int
    poor: int
    near_poor: int


@dataclass(frozen=True)
class Facts:
    """One unit's facts for the scored year, over the unit and the units below it: each commune's review
    counts (last year's, this year's; None when not approved) and the year's sums of the other sources."""
    reviews: tuple[tuple[Counts | None, Counts | None], ...] = ()
    support_delivered: int = 0
    temporary_houses_removed: Decimal = Decimal(0)
    fund_raised: int = 0
    propaganda_sessions: int = 0


def measured(source: str, facts: Facts) -> Decimal | None:
    """The value an automatic criterion measures. The review sources compare, summed, the communes
    reviewed in both years (a commune whose review of either year is not approved moves nothing); without
    households in either year the value is None (not measured)."""
    if source not in REVIEW_SOURCES:
        return Decimal(getattr(facts, source))
    both = [(a, b) for a, b in facts.reviews if a is not None and b is not None]
    before = Counts(sum(a.households for a, _ in both), sum(a.poor for a, _ in both), sum(a.near_poor for a, _ in both))
    after = Counts(sum(b.households for _, b in both), sum(b.poor for _, b in both), sum(b.near_poor for _, b in both))
    if before.households <= 0 or after.households <= 0:
        return None
    if source == "households_escaping_poverty":
        return Decimal(before.poor - after.poor)
    if source == "poor_rate_reduction":
        return rate_reduction((before.poor, before.households), (after.poor, after.households))
    return rate_reduction((before.near_poor, before.households), (after.near_poor, after.households))


def total(criteria: list[Criterion], values: dict[str, Decimal | None], targets: dict[str, Decimal | None],
          manual: dict[str, Decimal | None]) -> Decimal:
    return sum((points(c, values.get(c.source or ""), targets.get(c.source or ""), manual.get(c.key))
                for c in criteria), Decimal(0))
