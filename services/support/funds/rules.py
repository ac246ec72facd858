"""Pure rules of the fund ledger: entry kinds and their signs, and a period's statement."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

DONATION, SPEND, TRANSFER_OUT, TRANSFER_IN = "donation", "spend", "transfer_out", "transfer_in"
REFUND = "refund"  # money of a spend coming back into the fund (unused, returned), linked to that spend
REVERSAL = "reversal"  # cancels one earlier entry (a mistake): its amount negated, linked to it
SIGN = {DONATION: 1, TRANSFER_IN: 1, REFUND: 1, SPEND: -1, TRANSFER_OUT: -1,
        REVERSAL: 1}  # a reversal's amount is given signed (the reversed entry's, negated)
# What may be reversed directly: a transfer only from its sending side (both lines go together).
REVERSIBLE = (DONATION, SPEND, REFUND, TRANSFER_OUT)
DONOR_KINDS = ("enterprise", "organisation", "individual", "agency", "community", "other")
# A fund may pass money only to the fund of a unit directly below its own unit.
LEVEL_BELOW = {"province": ("district", "commune"), "district": ("commune",), "commune": ()}


@dataclass(frozen=True)
class Statement:
    opening_vnd: int
    in_vnd: int
    out_vnd: int
    closing_vnd: int


def statement(before: int, entries_in_period: Iterable[tuple[str, int]]) -> Statement:
    """Opening balance = everything before the period; in and out of the period; closing. Entries are
    (kind, signed amount). A reversal nets against the side of what it cancels: a reversed donation,
    refund or transfer in (a reversal going out) lowers "in", a reversed spend or transfer out (a
    reversal coming in) lowers "out" — a mistake and its reversal in one period leave no trace in the
    figures (reversed in a later period, that period's "in" or "out" may be below zero)."""
    received = paid = 0
    for kind, amount in entries_in_period:
        if kind == REVERSAL:
            if amount < 0:
                received += amount
            else:
                paid -= amount
        elif amount > 0:
            received += amount
        else:
            paid -= amount
    return Statement(before, received, paid, before + received - paid)


class Lowest(NamedTuple):
    balance_vnd: int  # the lowest end-of-day balance from the day asked on
    on: date  # the first day it is reached


def lowest_from(balance: int, day: date, later_days: Iterable[tuple[date, int]]) -> Lowest:
    """The lowest end-of-day balance on `day` or any day after it, from the fund's balance now and the
    money each later day moved (day, signed sum of the entries dated that day; days after `day` only).
    Money going out dated `day` may be at most that: taking it never leaves any day below zero."""
    per_day: dict[date, int] = {}
    for on, moved in later_days:
        per_day[on] = per_day.get(on, 0) + moved
    running = balance - sum(per_day.values())  # the balance at the end of `day`
    lowest = Lowest(running, day)
    for on, moved in sorted(per_day.items()):
        running += moved
        if running < lowest.balance_vnd:
            lowest = Lowest(running, on)
    return lowest


def refundable(spent_vnd: int, refunded_vnd: int) -> int:
    """What may still come back of a spend of `spent_vnd` (positive) of which `refunded_vnd` came back."""
    return max(spent_vnd - refunded_vnd, 0)


def may_transfer(from_path: str, from_level: str, to_path: str, to_level: str) -> bool:
    """Only down the hierarchy: to a fund of a unit inside the sender's unit, one of the lower levels."""
    return to_path.startswith(from_path + ".") and to_level in LEVEL_BELOW.get(from_level, ())


def in_period(day: date, start: date, end: date) -> bool:
    return start <= day <= end
