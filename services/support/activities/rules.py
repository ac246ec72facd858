"""Pure rules of body activities: what makes an activity wrong, each problem naming its field. No
database, no clock (today is given)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from services.support.catalogue.rules import MONEY_MEASURES

RECORDED, VOIDED = "recorded", "voided"


def problems(kind: str, kind_measures: Sequence[str] | None, body: str, body_known: bool, period_to: date,
             measures: Sequence[tuple[str, Decimal]], today: date) -> list[dict[str, str]]:
    """The activity's kind must be an active catalogue kind (`kind_measures` = its measures; None: no
    active kind of that code), its body a catalogue body, its period not end in the future, and each
    counted measure (`measures`: its code and quantity) one of the kind's, given once, money in whole VND."""
    errors = []
    if kind_measures is None:
        errors.append({"field": "kind", "reason": f"no active activity kind {kind} in the catalogue"})
    if not body_known:
        errors.append({"field": "body", "reason": f"no delivering body {body} in the catalogue"})
    if period_to > today:
        errors.append({"field": "period_to", "reason": "in the future"})
    seen: set[str] = set()
    for i, (measure, quantity) in enumerate(measures):
        if kind_measures is not None and measure not in kind_measures:
            errors.append({"field": f"measures.{i}.measure",
                           "reason": f"{kind} counts {', '.join(kind_measures)}, not {measure}"})
        if measure in seen:
            errors.append({"field": f"measures.{i}.measure", "reason": f"{measure} is given twice"})
        seen.add(measure)
        if measure in MONEY_MEASURES and quantity != quantity.to_integral_value():
            errors.append({"field": f"measures.{i}.quantity", "reason": f"{measure} is money: whole VND "
                                                                         "(250.4 million is 250400000)"})
    return errors


def void_refusal(status: str) -> str | None:
    """Why an activity cannot be voided (None: it can): a voided one stays as it is."""
    return "is already voided" if status == VOIDED else None
