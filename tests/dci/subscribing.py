"""Subscribing and waiting for notifications, shared by the DCI subscription tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.dci.conftest import Receiver, envelope, system
from tests.dci.spec.schemas import ACK, GROUP, NOTIFY, ON_SUBSCRIBE, validate
from tests.kit import eventually
from tests.registry.households_helpers import commune_officer


def criteria(event_type: str, reference_id: str, flt: Any = None, filter_type: str = "expression",
             **extra: Any) -> dict[str, Any]:
    """One subscribe_request item."""
    wanted: dict[str, Any] = {"reg_event_type": event_type, "notify_record_type": "spdci:Group", **extra}
    if flt is not None:
        wanted |= {"filter_type": filter_type, "filter": flt}
    return {"reference_id": reference_id, "timestamp": "2026-01-01T00:00:00+07:00", "subscribe_criteria": wanted}


async def subscribe(client: httpx.AsyncClient, sender: str, scope: str, items: list[dict[str, Any]],
                     receiver: Receiver) -> dict[str, Any]:
    body = envelope("subscribe", sender, {"transaction_id": "SUB-T", "subscribe_request": items}, len(items),
                    sender_uri=f"{receiver.url}/registry/notify")
    response = await client.post("/registry/subscribe", json=body, headers=system(sender, scope))
    validate(response.json(), ACK)
    assert response.json()["message"]["ack_status"] == "ACK", response.text

    async def answered() -> list[dict[str, Any]]:
        return receiver.of("on-subscribe")

    [answer] = await eventually(answered)
    validate(answer, ON_SUBSCRIBE)
    receiver.received.clear()
    return answer


async def notifications(receiver: Receiver, count: int) -> list[dict[str, Any]]:
    async def arrived() -> list[dict[str, Any]] | None:
        found = receiver.of("notify")
        return found if len(found) >= count else None

    found = await eventually(arrived)
    for message in found:
        validate(message, NOTIFY)
        for event in message["message"]["notify_event"]:
            validate(event["data"]["reg_records"], GROUP)
    return found


def event_of(message: dict[str, Any]) -> dict[str, Any]:
    [event] = message["message"]["notify_event"]
    return event


def attr_of(record: dict[str, Any], name: str) -> Any:
    return next(a["value"] for a in record["additional_attributes"] if a["name"] == name)


async def make_poor(client: httpx.AsyncClient, household: dict[str, Any]) -> None:
    officer = commune_officer(principal_id="officer-quynh-son")
    item = await client.post("/registry/regular-reviews", headers=officer, json={
        "household_id": household["id"], "request": "enter", "requested_on": "2023-12-20"})
    assert item.status_code == 201, item.text
    decided = await client.post(f"/registry/regular-reviews/{item.json()['id']}/decision", headers=officer, json={
        "decision_number": "45/QĐ-UBND", "decided_on": "2023-12-28", "income_per_capita": 1_100_000,
        "deprived_indicators": ["employment", "dependants", "housing_quality", "latrine"]})
    assert decided.status_code == 200, decided.text
