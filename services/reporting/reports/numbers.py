"""Numbers as Vietnamese documents write them: "1.405" (a dot between thousands), "504,18" (a comma
before decimals), money in million VND with two decimals. Pure."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any


def vn_integer(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def vn_decimal(value: Decimal, places: int | None = None) -> str:
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    else:
        value = value.normalize()
    sign = "-" if value < 0 else ""
    whole, _, fraction = format(abs(value), "f").partition(".")
    text = vn_integer(int(whole))
    return f"{sign}{text},{fraction}" if fraction else f"{sign}{text}"


def vn_million(amount_vnd: int) -> str:
    """504_180_000 → "504,18" (million VND, two decimals, rounded half up)."""
    return vn_decimal(Decimal(amount_vnd) / Decimal(1_000_000), 2)


def vn_value(value: Any, kind: str) -> str:
    """A figure's value as the document shows it, by its kind (count, vnd, quantity, rate, pp)."""
    if value is None:
        return "-"
    if kind == "vnd":
        return vn_million(int(value))
    if kind in ("rate", "pp"):
        return vn_decimal(Decimal(str(value)), 2)
    if kind == "quantity":
        return vn_decimal(Decimal(str(value)))
    if isinstance(value, int):
        return vn_integer(value)
    return vn_decimal(Decimal(str(value)))
