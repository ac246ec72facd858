"""Support events (docs/events.md "support"): type names and payload builders.

A delivery event carries the delivery's whole state at its version (reporting and emulation keep
the newest), with the catalogue's category and kinds copied in so that no consumer needs to call
this service. Builders take ORM rows or plain mappings (rows the bulk import holds).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.events import Event
from shared.scope import level_of, split_path

PRODUCER = "support"
DELIVERY_RECORDED = "support.delivery.recorded"
DELIVERY_CORRECTED = "support.delivery.corrected"
DELIVERY_VOIDED = "support.delivery.voided"
DELIVERY_RECORDED_BATCH = "support.delivery.recorded_batch"
FUND_DONATION = "support.fund.donation_received"
FUND_SPENT = "support.fund.spent"
FUND_TRANSFERRED = "support.fund.transferred"
FUND_REFUNDED = "support.fund.refunded"
FUND_REVERSED = "support.fund.reversed"


def _get(row: Any, key: str) -> Any:
    return row[key] if isinstance(row, Mapping) else getattr(row, key)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def unit_fields(unit_path: str) -> dict[str, str]:
    hierarchy, codes = split_path(unit_path)
    return {"unit_code": codes[-1] if codes else hierarchy, "unit_path": unit_path, "unit_level": level_of(unit_path),
            "hierarchy": hierarchy}


def delivery_payload(delivery: Any, catalogue: Mapping[tuple[str, str], Mapping[str, Any]]) -> dict[str, Any]:
    """`catalogue` maps (catalogue, code) to the entry's fields, for the category and kinds."""
    programme = catalogue.get(("programme", _get(delivery, "programme")), {})
    body = catalogue.get(("body", _get(delivery, "body")), {})
    funding = []
    for part in _get(delivery, "funding"):
        source = catalogue.get(("funding_source", part["source"]), {})
        funding.append({"source": part["source"], "source_kind": source.get("kind"),
                        "source_level": source.get("level"), "amount_vnd": int(part["amount_vnd"])})
    period_from = _get(delivery, "period_from")
    recorded_at = _get(delivery, "recorded_at")
    return {
        "delivery_id": str(_get(delivery, "id")), "version": int(_get(delivery, "version")),
        "kind": _get(delivery, "kind"), "status": _get(delivery, "status"),
        **unit_fields(_get(delivery, "unit_path")),
        "programme": _get(delivery, "programme"), "programme_category": programme.get("category"),
        "delivered_on": _get(delivery, "delivered_on").isoformat(),
        "period_from": period_from.isoformat() if period_from else None, "year": int(_get(delivery, "year")),
        "households": int(_get(delivery, "households")), "persons": _get(delivery, "persons"),
        "turns": _get(delivery, "turns"), "quantities": list(_get(delivery, "quantities")),
        "amount_vnd": int(_get(delivery, "amount_vnd")), "funding": funding,
        "body": _get(delivery, "body"), "body_kind": body.get("kind"), "body_detail": _get(delivery, "body_detail"),
        "household_id": _text(_get(delivery, "household_id")), "household_status": _get(delivery, "household_status"),
        "member_ids": [str(m) for m in _get(delivery, "member_ids") or []],
        "eligibility_exception": bool(_get(delivery, "eligibility_exception")),
        "eligibility_rule": _get(delivery, "eligibility_rule"),
        "sponsorship_id": _text(_get(delivery, "sponsorship_id")),
        "import_job_id": _text(_get(delivery, "import_job_id")),
        "recorded_at": recorded_at.isoformat() if recorded_at else None,
        "void_reason": _get(delivery, "void_reason"),
    }


def delivery_event(type_: str, delivery: Any, catalogue: Mapping[tuple[str, str], Mapping[str, Any]]) -> Event:
    payload = delivery_payload(delivery, catalogue)
    return Event(type=type_, producer=PRODUCER, subject_id=payload["delivery_id"], payload=payload,
                 unit_code=payload["unit_code"], unit_path=payload["unit_path"], version=payload["version"])
