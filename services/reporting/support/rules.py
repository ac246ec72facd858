"""Reading the support service's event payloads (docs/events.md "support") into read-model rows.

Pure: what a payload must hold for the totals to be right. A payload that lacks it raises
`BadEvent`, and the consumer parks that one event. Money is integer VND; a quantity is a decimal
string with its measure; the parts of a delivery's funding add up to its amount.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from services.reporting.events import BadEvent
from services.reporting.latest_state import json_text
from shared.events import Event

DELIVERY_STATUSES = ("recorded", "voided")
# Fund entry kinds and the sign of their amount for the fund's balance.
FUND_IN, FUND_OUT = 1, -1


def _date(value: Any, field: str) -> date:
    try:
        return date.fromisoformat(str(value)[:10])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{field} must be an ISO date, not {value!r}") from exc


def _optional_date(value: Any, field: str) -> date | None:
    return _date(value, field) if value else None


def _vnd(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{field} must be an integer number of VND, not {value!r}")
    return value


def _count(value: Any, field: str, optional: bool = True) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{field} must be a count, not {value!r}")
    return value


def _quantities(items: Any) -> list[dict[str, str]]:
    out = []
    for item in items or []:
        try:
            quantity = Decimal(str(item["quantity"]))
        except (InvalidOperation, KeyError, TypeError) as exc:
            raise ValueError(f"unusable quantity {item!r}") from exc
        if not quantity.is_finite():
            raise ValueError(f"unusable quantity {item!r}")
        out.append({"measure": str(item["measure"]), "quantity": str(quantity)})
    return out


def _funding(items: Any, amount: int) -> list[dict[str, Any]]:
    parts = [{"source": str(p["source"]), "source_kind": p.get("source_kind"), "source_level": p.get("source_level"),
              "amount_vnd": _vnd(p.get("amount_vnd"), "funding.amount_vnd")} for p in items or []]
    if parts and sum(p["amount_vnd"] for p in parts) != amount:
        raise ValueError(f"the funding parts add up to {sum(p['amount_vnd'] for p in parts)}, not {amount}")
    return parts


def delivery_row(state: dict[str, Any], version: int, event: Event) -> dict[str, Any]:
    """A delivery's state (an event payload, or an item of a batch) as a `rp_support_deliveries` row."""
    try:
        status = state.get("status", "recorded")
        if status not in DELIVERY_STATUSES:
            raise ValueError(f"status must be one of {', '.join(DELIVERY_STATUSES)}")
        path = state.get("unit_path") or event.unit_path
        if not state.get("delivery_id") or not path or not state.get("programme"):
            raise KeyError("delivery_id, unit_path and programme are required")
        delivered_on = _date(state.get("delivered_on"), "delivered_on")
        amount = _vnd(state.get("amount_vnd", 0), "amount_vnd")
        return {
            "delivery_id": str(state["delivery_id"]), "version": int(state.get("version") or version),
            "unit_path": str(path), "year": int(state.get("year") or delivered_on.year), "delivered_on": delivered_on,
            "kind": str(state.get("kind") or "household"), "status": status, "programme": str(state["programme"]),
            "programme_category": str(state.get("programme_category") or ""),
            "body": str(state.get("body") or ""), "body_kind": str(state.get("body_kind") or ""),
            "body_detail": state.get("body_detail"),
            "households": _count(state.get("households") or 0, "households", optional=False),
            "persons": _count(state.get("persons"), "persons"), "turns": _count(state.get("turns"), "turns"),
            "amount_vnd": amount, "funding": json_text(_funding(state.get("funding"), amount)),
            "quantities": json_text(_quantities(state.get("quantities"))),
            "household_id": state.get("household_id"), "household_status": state.get("household_status"),
            "sponsorship_id": state.get("sponsorship_id"), "import_job_id": state.get("import_job_id"),
        }
    except (KeyError, TypeError, ValueError) as exc:
        delivery = state.get("delivery_id")
        raise BadEvent(f"event {event.id} ({event.type}): unusable delivery {delivery!r}: {exc}") from exc


def fund_entries(event: Event) -> list[dict[str, Any]]:
    """The ledger rows of one fund event: one, or two for a transfer (out of one fund, into another)."""
    p = event.payload
    kind = event.type.rsplit(".", 1)[-1]
    try:
        amount = _vnd(p["amount_vnd"], "amount_vnd")
        if amount < 0:
            raise ValueError("amount_vnd must not be negative")
        occurred_on = _date(p["occurred_on"], "occurred_on")
        base = {"fund_id": str(p["fund_id"]), "unit_path": str(p.get("unit_path") or event.unit_path),
                "occurred_on": occurred_on, "year": int(p.get("year") or occurred_on.year),
                "campaign_year": p.get("campaign_year"), "donor_name": p.get("donor_name"),
                "donor_kind": p.get("donor_kind"), "receipt_number": p.get("receipt_number"),
                "purpose": p.get("purpose"), "delivery_id": p.get("delivery_id"), "programme": p.get("programme"),
                "counterpart_fund_id": None, "counterpart_unit_path": None, "note": p.get("note")}
        if kind == "donation_received":
            return [{**base, "entry_id": str(p["entry_id"]), "kind": "donation", "amount_vnd": FUND_IN * amount}]
        if kind == "refunded":
            return [{**base, "entry_id": str(p["entry_id"]), "kind": "refund", "amount_vnd": FUND_IN * amount}]
        if kind == "spent":
            return [{**base, "entry_id": str(p["entry_id"]), "kind": "spend", "amount_vnd": FUND_OUT * amount}]
        if kind == "reversed":
            return _reversal_rows(p, base, amount)
        if kind == "transferred":
            out = {**base, "entry_id": str(p["entry_id"]), "kind": "transfer_out", "amount_vnd": FUND_OUT * amount,
                   "counterpart_fund_id": str(p["to_fund_id"]), "counterpart_unit_path": str(p["to_unit_path"])}
            into = {**base, "entry_id": str(p["to_entry_id"]), "fund_id": str(p["to_fund_id"]),
                    "unit_path": str(p["to_unit_path"]), "kind": "transfer_in", "amount_vnd": FUND_IN * amount,
                    "counterpart_fund_id": base["fund_id"], "counterpart_unit_path": base["unit_path"]}
            return [out, into]
        raise ValueError(f"unknown fund event {event.type}")
    except (KeyError, TypeError, ValueError) as exc:
        raise BadEvent(f"event {event.id} ({event.type}): unusable fund entry: {exc}") from exc


# A reversal cancels one entry: its line carries the cancelled entry's kind with the opposite sign, so
# every figure summed by kind (donations, spends, transfers...) nets it out and balances stay sums.
_REVERSED_SIGN = {"donation": FUND_OUT, "refund": FUND_OUT, "transfer_in": FUND_OUT, "spend": FUND_IN,
                  "transfer_out": FUND_IN}


def _reversal_rows(p: dict[str, Any], base: dict[str, Any], amount: int) -> list[dict[str, Any]]:
    """`support.fund.reversed`: one line, or two for a transfer's reversal (the money back out of the
    receiving fund's ledger too)."""
    kind = str(p["reversed_kind"])
    if kind not in _REVERSED_SIGN:
        raise ValueError(f"unknown reversed_kind {kind!r}")
    line = {**base, "entry_id": str(p["entry_id"]), "kind": kind, "amount_vnd": _REVERSED_SIGN[kind] * amount}
    if kind != "transfer_out":
        return [line]
    line |= {"counterpart_fund_id": str(p["to_fund_id"]), "counterpart_unit_path": str(p["to_unit_path"])}
    into = {**base, "entry_id": str(p["to_entry_id"]), "fund_id": str(p["to_fund_id"]),
            "unit_path": str(p["to_unit_path"]), "kind": "transfer_in", "amount_vnd": FUND_OUT * amount,
            "counterpart_fund_id": base["fund_id"], "counterpart_unit_path": base["unit_path"]}
    return [line, into]


def sponsorship_row(event: Event) -> dict[str, Any]:
    p = event.payload
    try:
        return {
            "sponsorship_id": str(p.get("sponsorship_id") or event.subject_id),
            "unit_path": str(p.get("unit_path") or event.unit_path), "kind": str(p["kind"]),
            "helper_kind": p.get("helper_kind"), "helper_name": p.get("helper_name"),
            "helpers": _count(p.get("helpers"), "helpers"), "body": p.get("body"),
            "households": int(p.get("households") or len(p.get("household_ids") or [])),
            "started_on": _optional_date(p.get("started_on"), "started_on"),
            "ends_on": _optional_date(p.get("ends_on"), "ends_on"),
            "ended_on": _optional_date(p.get("ended_on"), "ended_on"),
            "commitment": json_text(p.get("commitment")), "status": str(p.get("status") or "active"),
            "version": event.version,
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise BadEvent(f"event {event.id} ({event.type}): unusable sponsorship: {exc}") from exc


def activity_row(event: Event) -> dict[str, Any]:
    p = event.payload
    try:
        period_to = _optional_date(p.get("period_to"), "period_to")
        year = p.get("year") or (period_to.year if period_to else None)
        if year is None:
            raise KeyError("year or period_to is required")
        return {
            "activity_id": str(p.get("activity_id") or event.subject_id),
            "unit_path": str(p.get("unit_path") or event.unit_path), "body": p.get("body"),
            "body_kind": p.get("body_kind"), "kind": str(p["kind"]), "title": p.get("title"),
            "period_from": _optional_date(p.get("period_from"), "period_from"), "period_to": period_to,
            "year": int(year), "measures": json_text(_quantities(p.get("measures"))),
            "amount_vnd": _vnd(p.get("amount_vnd") or 0, "amount_vnd"),
            "status": str(p.get("status") or "recorded"), "version": event.version,
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise BadEvent(f"event {event.id} ({event.type}): unusable activity: {exc}") from exc


def catalogue_row(event: Event) -> dict[str, Any]:
    p = event.payload
    try:
        fields = {k: v for k, v in p.items() if k not in ("catalogue", "code", "name")}
        return {"catalogue": str(p["catalogue"]), "code": str(p["code"]), "name": str(p.get("name") or p["code"]),
                "fields": json_text(fields), "version": event.version}
    except (KeyError, TypeError) as exc:
        raise BadEvent(f"event {event.id} ({event.type}): unusable catalogue entry: {exc}") from exc


# ---- the figures a report or an answer shows ---------------------------------------------------
def million_vnd(amount_vnd: int) -> str:
    """An amount in million VND with two decimals, as reports state money ("504.18"), rounded half up."""
    return str((Decimal(amount_vnd) / Decimal(1_000_000)).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP"))


def quantity_text(value: Any) -> str:
    """A quantity as a plain decimal string without trailing zeros ("5410", "2.5")."""
    return format(Decimal(str(value)).normalize(), "f")


COUNTS = ("deliveries", "households", "persons", "turns", "amount_vnd")


def _zero() -> dict[str, int]:
    return dict.fromkeys(COUNTS, 0)


def _add(total: dict[str, int], row: Any) -> None:
    for key in COUNTS:
        total[key] += int(row[key] or 0)


def _money(counts: dict[str, int]) -> dict[str, Any]:
    return {**counts, "amount_million_vnd": million_vnd(counts["amount_vnd"])}


def support_figures(lines: list[Any], funding: list[Any], quantities: list[Any],
                    names: dict[tuple[str, str], str]) -> dict[str, Any]:
    """Per programme (its bodies, funding sources and quantities), per body, per source, and in all.

    Counts belong to a delivery, money to its funding sources (a source's parts add up to the amounts),
    quantities to their measures. Rows come from support/repository.py."""
    def name(catalogue: str, code: str) -> str:
        return names.get((catalogue, code), code)

    programmes: dict[str, dict[str, Any]] = {}
    bodies: dict[str, dict[str, int]] = {}
    total = _zero()
    for row in lines:
        entry = programmes.setdefault(row["programme"], {"counts": _zero(), "bodies": {}, "funding": {},
                                                         "quantities": {}})
        _add(entry["counts"], row)
        _add(entry["bodies"].setdefault(row["body"], _zero()), row)
        _add(bodies.setdefault(row["body"], _zero()), row)
        _add(total, row)
    sources: dict[str, int] = {}
    for row in funding:
        entry = programmes.setdefault(row["programme"], {"counts": _zero(), "bodies": {}, "funding": {},
                                                         "quantities": {}})
        entry["funding"][row["source"]] = entry["funding"].get(row["source"], 0) + int(row["amount_vnd"])
        sources[row["source"]] = sources.get(row["source"], 0) + int(row["amount_vnd"])
    for row in quantities:
        entry = programmes.setdefault(row["programme"], {"counts": _zero(), "bodies": {}, "funding": {},
                                                         "quantities": {}})
        entry["quantities"][row["measure"]] = entry["quantities"].get(row["measure"], Decimal(0)) + \
            Decimal(str(row["quantity"]))
    return {
        "programmes": [
            {"programme": code, "name": name("programme", code), **_money(p["counts"]),
             "quantities": [{"measure": m, "name": name("measure", m), "quantity": quantity_text(q)}
                            for m, q in sorted(p["quantities"].items()) if q != 0],
             "funding": [{"source": s, "name": name("funding_source", s), "amount_vnd": a,
                          "amount_million_vnd": million_vnd(a)} for s, a in sorted(p["funding"].items()) if a],
             "bodies": [{"body": b, "name": name("body", b), **_money(c)} for b, c in sorted(p["bodies"].items())
                        if c["deliveries"]]}
            for code, p in sorted(programmes.items()) if p["counts"]["deliveries"] or p["funding"]
        ],
        "bodies": [{"body": b, "name": name("body", b), **_money(c)} for b, c in sorted(bodies.items())
                   if c["deliveries"]],
        "sources": [{"source": s, "name": name("funding_source", s), "amount_vnd": a,
                     "amount_million_vnd": million_vnd(a)} for s, a in sorted(sources.items()) if a],
        "total": _money(total),
    }
