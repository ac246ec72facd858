"""Pure rules of the fund ledger: entry kinds and their signs, and a period's statement."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

DONATION, SPEND, TRANSFER_OUT, TRANSFER_IN = "donation", "spend", "transfer_out", "transfer_in"
REFUND = "refund"  # money of a spend coming back into the fund (unused, returned), linked to that spend
SIGN = {DONATION: 1, TRANSFER_IN: 1, REFUND: 1, SPEND: -1, TRANSFER_OUT: -1}
DONOR_KINDS = ("enterprise", "organisation", "individual", "agency", "community", "other")
# A fund may pass money only to the fund of a unit directly below its own unit.
LEVEL_BELOW = {"province": ("district", "commune"), "district": ("commune",), "commune": ()}


@dataclass(frozen=True)
class Statement:
    opening_vnd: int
    in_vnd: int
    out_vnd: int
    closing_vnd: int


def statement(before: int, amounts_in_period: Iterable[int]) -> Statement:
    """Opening balance = everything before the period; in and out of the period; closing."""
    amounts = list(amounts_in_period)
    received = sum(a for a in amounts if a > 0)
    paid = -sum(a for a in amounts if a < 0)
    return Statement(before, received, paid, before + received - paid)


def refundable(spent_vnd: int, refunded_vnd: int) -> int:
    """What may still come back of a spend of `spent_vnd` (positive) of which `refunded_vnd` came back."""
    return max(spent_vnd - refunded_vnd, 0)


def may_transfer(from_path: str, from_level: str, to_path: str, to_level: str) -> bool:
    """Only down the hierarchy: to a fund of a unit inside the sender's unit, one of the lower levels."""
    return to_path.startswith(from_path + ".") and to_level in LEVEL_BELOW.get(from_level, ())


def in_period(day: date, start: date, end: date) -> bool:
    return start <= day <= end
