"""Pure rules of a delivery: what the catalogue allows, the money adding up, the dates, the states.

No I/O: the caller passes the programme, the catalogue entries it found and today's date, and gets
back the list of problems, each naming its field (empty: the delivery may be recorded).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from services.support.catalogue.rules import MONEY_MEASURES, Programme

RECORDED, VOIDED = "recorded", "voided"
HOUSEHOLD, AGGREGATE = "household", "aggregate"
# The fields a correction may change, and the snapshot kept in the history.
SNAPSHOT_FIELDS = ("status", "programme", "delivered_on", "period_from", "households", "persons", "turns",
                   "quantities", "amount_vnd", "funding", "body", "body_detail", "note", "document_ref", "member_ids",
                   "eligibility_exception", "eligibility_rule", "override_reason", "void_reason")


@dataclass(frozen=True)
class Lines:
    """What a delivery says it delivered, as the rules check it."""

    programme: str
    delivered_on: date
    period_from: date | None
    quantities: list[tuple[str, Decimal]]
    amount_vnd: int
    funding: list[tuple[str, int]]
    body: str
    households: int
    persons: int | None
    turns: int | None


def member_problems(named: Iterable[str], known: Iterable[str] | None) -> list[dict[str, str]]:
    """Each member a household delivery names must be one of the household's current members, as the
    registry's events told this service (`known`; None: no event has listed them yet)."""
    named = list(named)
    if not named:
        return []
    if known is None:
        return [{"field": "member_ids", "reason": "the registry has not yet told support this household's members "
                                                  "(a registration or an update of the household tells them); "
                                                  "record the delivery without member_ids"}]
    members, seen = set(known), set()
    found = []
    for i, member in enumerate(named):
        if member not in members:
            found.append({"field": f"member_ids.{i}", "reason": f"{member} is not a current member of the household"})
        elif member in seen:
            found.append({"field": f"member_ids.{i}", "reason": f"{member} is named twice"})
        seen.add(member)
    return found


def problems(lines: Lines, programme: Programme | None, sources: Mapping[str, bool], body_known: bool,
             today: date) -> list[dict[str, str]]:
    """Every reason the delivery cannot be recorded. `sources` maps each named source to whether the
    catalogue holds it (active)."""
    found: list[dict[str, str]] = []

    def bad(field: str, reason: str) -> None:
        found.append({"field": field, "reason": reason})

    if programme is None:
        bad("programme", f"no active programme {lines.programme} in the catalogue")
    if not body_known:
        bad("body", f"no active delivering body {lines.body} in the catalogue")
    if lines.delivered_on > today:
        bad("delivered_on", f"{lines.delivered_on} is in the future")
    if lines.period_from is not None and lines.period_from > lines.delivered_on:
        bad("period_from", "the period starts after the delivery date")
    if programme is not None and not programme.runs_on(lines.delivered_on):
        bad("delivered_on", f"{lines.delivered_on} is outside programme {programme.code}'s period "
                            f"({programme.active_from} – {programme.active_to or 'open'})")
    seen: set[str] = set()
    for i, (measure, _) in enumerate(lines.quantities):
        if measure in MONEY_MEASURES:
            bad(f"quantities.{i}.measure", f"{measure} is money: give it as amount_vnd (integer VND, split across "
                                           "funding), never as a quantity")
        elif programme is not None and measure not in programme.measures:
            bad(f"quantities.{i}.measure", f"programme {programme.code} does not use the unit {measure} "
                                           f"(it uses {', '.join(programme.measures)})")
        if measure in seen:
            bad(f"quantities.{i}.measure", f"{measure} is given twice")
        seen.add(measure)
    found.extend(funding_problems(lines.amount_vnd, lines.funding, sources))
    if not (lines.households or lines.persons or lines.turns or lines.quantities or lines.amount_vnd):
        bad("households", "a delivery must count something: households, persons, turns, a quantity or an amount")
    return found


def funding_problems(amount_vnd: int, funding: list[tuple[str, int]],
                     sources: Mapping[str, bool]) -> list[dict[str, str]]:
    found = []
    names = [s for s, _ in funding]
    for i, (source, _) in enumerate(funding):
        if not sources.get(source):
            found.append({"field": f"funding.{i}.source",
                          "reason": f"no active funding source {source} in the catalogue"})
        if names.count(source) > 1 and names.index(source) != i:
            found.append({"field": f"funding.{i}.source", "reason": f"{source} is given twice"})
    total = sum(a for _, a in funding)
    if amount_vnd and not funding:
        found.append({"field": "funding", "reason": f"say which sources paid the {amount_vnd} VND"})
    elif total != amount_vnd:
        found.append({"field": "funding",
                      "reason": f"the parts add up to {total} VND, not the amount {amount_vnd} VND"})
    return found


def million_vnd(amount_vnd: int) -> str:
    """Reports print money in million VND with two decimals ("504.18"), rounded half up."""
    return str((Decimal(amount_vnd) / Decimal(1_000_000)).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP"))


def quantities_json(items: Iterable[tuple[str, Decimal]]) -> list[dict[str, str]]:
    """Quantities as stored and published: exact decimal strings ("120", "2.5")."""
    return [{"measure": m, "quantity": format(q.normalize(), "f")} for m, q in items]


def totals_figures(rows: Iterable[Any], names: Mapping[tuple[str, str], str]) -> dict[str, Any]:
    """The totals rows (repository.totals) per programme, with each programme's bodies, its funding
    per source and body (the programme × source × body cube a report reads) and its quantities."""
    programmes: dict[str, dict[str, Any]] = {}

    def entry(code: str) -> dict[str, Any]:
        return programmes.setdefault(code, {"programme": code, "name": names.get(("programme", code), code),
                                            "deliveries": 0, "households": 0, "persons": 0, "turns": 0,
                                            "amount_vnd": 0, "bodies": [], "funding": [], "quantities": []})

    for row in rows:
        item = entry(row.programme)
        if row.part == "counts":
            counts = {"deliveries": int(row.deliveries), "households": int(row.households),
                      "persons": int(row.persons), "turns": int(row.turns), "amount_vnd": int(row.amount)}
            for key, value in counts.items():
                item[key] += value
            item["bodies"].append({"body": row.body, "name": names.get(("body", row.body), row.body), **counts,
                                   "amount_million_vnd": million_vnd(counts["amount_vnd"])})
        elif row.part == "source":
            item["funding"].append({"source": row.key, "name": names.get(("funding_source", row.key), row.key),
                                    "body": row.body, "amount_vnd": int(row.amount),
                                    "amount_million_vnd": million_vnd(int(row.amount))})
        else:
            item["quantities"].append({"measure": row.key, "body": row.body,
                                       "quantity": format(Decimal(row.amount).normalize(), "f")})
    listed = [{**p, "amount_million_vnd": million_vnd(p["amount_vnd"])} for _, p in sorted(programmes.items())]
    total = sum(p["amount_vnd"] for p in listed)
    return {"programmes": listed, "amount_vnd": total, "amount_million_vnd": million_vnd(total),
            "deliveries": sum(p["deliveries"] for p in listed)}
