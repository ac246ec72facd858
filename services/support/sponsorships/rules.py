"""Pure rules of sponsorships: kinds, the period, and what was delivered against the commitment."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

KINDS = ("sponsorship", "ten_plus_one", "humanitarian_address", "monthly_rice", "other")
HELPER_KINDS = ("enterprise", "organisation", "household", "person")
ACTIVE, ENDED = "active", "ended"
PER = ("month", "year", "once")


def effective_status(status: str, ends_on: date | None, today: date) -> str:
    """`active` only while not ended and not past its planned end (`ends_on`, inclusive); else `ended`."""
    return ENDED if status == ENDED or (ends_on is not None and ends_on < today) else ACTIVE


def months_running(started_on: date, until: date) -> int:
    """Calendar months begun from the start until `until` (the start month counts): Jan 15 → Mar 1 is 3."""
    if until < started_on:
        return 0
    return (until.year - started_on.year) * 12 + until.month - started_on.month + 1


def last_day(started_on: date, ends_on: date | None, ended_on: date | None, today: date) -> date:
    return min(d for d in (ends_on, ended_on, today) if d is not None)


def covers(started_on: date, ends_on: date | None, ended_on: date | None, day: date) -> bool:
    end = min((d for d in (ends_on, ended_on) if d is not None), default=None)
    return started_on <= day and (end is None or day <= end)


def progress(commitment: Iterable[dict[str, Any]], started_on: date, until: date,
             delivered: Mapping[str, Mapping[str, Decimal]], household_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Per committed measure: what was due by `until` and what the linked deliveries brought
    (`delivered`: household id → measure → quantity). A line `per_household` (10 kg a month to each
    household helped) is due to each household — `by_household` says what each got, and it is met when
    every household's part is; otherwise (and for lines stored before the flag existed) it is due once
    for the whole pairing."""
    months = months_running(started_on, until)
    out = []
    for line in commitment:
        quantity, measure = Decimal(str(line["quantity"])), line["measure"]
        per_household = bool(line.get("per_household", False))
        periods = {"month": months, "year": (months + 11) // 12, "once": 1 if months else 0}[line["per"]]
        each = quantity * periods
        got = sum((d.get(measure, Decimal(0)) for d in delivered.values()), Decimal(0))
        row: dict[str, Any] = {"measure": measure, "per": line["per"], "quantity": _text(quantity),
                               "per_household": per_household}
        if per_household:
            parts = [(h, delivered.get(h, {}).get(measure, Decimal(0))) for h in household_ids]
            row |= {"households": len(household_ids), "due": _text(each * len(household_ids)), "delivered": _text(got),
                    "met": all(part >= each for _, part in parts),
                    "by_household": [{"household_id": h, "due": _text(each), "delivered": _text(part),
                                      "met": part >= each} for h, part in parts]}
        else:
            row |= {"households": None, "due": _text(each), "delivered": _text(got), "met": got >= each,
                    "by_household": None}
        out.append(row)
    return out


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f")
