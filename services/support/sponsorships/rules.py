"""Pure rules of sponsorships: kinds, the period, and what was delivered against the commitment."""

from __future__ import annotations

from collections.abc import Iterable
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
             delivered: dict[str, Decimal], households: int) -> list[dict[str, Any]]:
    """Per committed measure: what was due by `until` and what the linked deliveries brought. A line
    `per_household` (10 kg a month to each household helped) is due once per household; otherwise (and
    for lines stored before the flag existed) once for the whole pairing."""
    months = months_running(started_on, until)
    out = []
    for line in commitment:
        quantity = Decimal(str(line["quantity"]))
        per_household = bool(line.get("per_household", False))
        periods = {"month": months, "year": (months + 11) // 12, "once": 1 if months else 0}[line["per"]]
        due = quantity * periods * (households if per_household else 1)
        got = delivered.get(line["measure"], Decimal(0))
        out.append({"measure": line["measure"], "per": line["per"], "quantity": _text(quantity),
                    "per_household": per_household, "households": households if per_household else None,
                    "due": _text(due), "delivered": _text(got), "met": got >= due})
    return out


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f")
