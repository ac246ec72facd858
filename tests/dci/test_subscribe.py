"""DCI subscribe / notify / unsubscribe driven by the registry's own events: a subscription is bound
to the client's scope, notifications reach the callback (validated against the spec's notify
message), a subscriber that was down receives what it missed when it is back, each change once."""

from __future__ import annotations

from typing import Any

import httpx

from services.registry.dci import service
from services.registry.dci.worker import CONSUMER_NAME
from services.registry.personal_data import cipher_from_settings
from services.registry.settings import RegistrySettings
from shared.db import Database
from shared.events import Event
from tests.dci.conftest import Receiver, envelope, register_client, system
from tests.dci.spec.schemas import ON_UNSUBSCRIBE, validate
from tests.dci.subscribing import attr_of, criteria, event_of, make_poor, notifications, subscribe
from tests.kit import eventually, fetch, scalar
from tests.registry.conftest import PERSONAL_DATA_KEYS
from tests.registry.households_helpers import (
    HOME,
    HOME_CODE,
    OTHER_COMMUNE,
    OTHER_COMMUNE_CODE,
    commune_officer,
    register,
)


async def test_subscriptions_are_bound_to_the_scope_and_notified_by_registry_events(
        dci_client: httpx.AsyncClient, receiver: Receiver, registry_db: str) -> None:
    await register_client(dci_client, "bhxh", callback_urls=[receiver.url])
    answer = await subscribe(dci_client, "bhxh", HOME, [
        criteria("status_changed", "status", {"poverty_status": {"$in": ["poor", "near_poor"]}}),
        criteria("chungtay:RegistryEventType:household_registered", "registered"),
        criteria("member_changed", "members", {"commune_code": HOME_CODE}),
        criteria("status_changed", "foreign", {"commune_code": {"$eq": OTHER_COMMUNE_CODE}}),
        criteria("birth", "bad-type")], receiver)
    items = answer["message"]["subscribe_response"]
    got = [(r["reference_id"], r["status"], r.get("status_reason_code")) for r in items]
    assert got == [("status", "succ", None), ("registered", "succ", None), ("members", "succ", None),
                   ("foreign", "rjct", "rjct.notify_details.invalid"),
                   ("bad-type", "rjct", "rjct.notify_types.invalid")]
    codes = {r["reference_id"]: r["subscriptions"][0]["code"] for r in answer["message"]["subscribe_response"]
             if r["status"] == "succ"}
    assert await scalar(registry_db, "SELECT count(*) FROM dci_subscriptions") == 3

    household = await register(dci_client, members=2)
    await register(dci_client, commune_code=OTHER_COMMUNE_CODE, headers=commune_officer(OTHER_COMMUNE))
    [registered] = await notifications(receiver, 1)
    event = event_of(registered)
    assert event["reference_id"] == codes["registered"] and event["data"]["reg_event_type"] == "household_registered"
    assert event["data"]["reg_records"]["group_identifier"][0]["identifier_value"] == household["id"]
    receiver.received.clear()

    await make_poor(dci_client, household)
    [changed] = await notifications(receiver, 1)
    record = event_of(changed)["data"]["reg_records"]
    assert event_of(changed)["reference_id"] == codes["status"]
    assert attr_of(record, "poverty_status") == "poor" and attr_of(record, "review_year") == 2023
    assert attr_of(record, "status_since") is not None
    receiver.received.clear()

    added = await dci_client.post(f"/registry/households/{household['id']}/members",
                                  headers=commune_officer() | {"If-Match": "*"},
                                  json={"full_name": "Nguyễn Văn Bé", "relation": "child", "sex": "male"})
    assert added.status_code == 201, added.text
    [member] = await notifications(receiver, 1)
    assert event_of(member)["data"]["reg_event_type"] == "member_changed"
    assert event_of(member)["data"]["reg_records"]["group_size"] == 3
    # Nothing about the other commune's household ever reached this commune's client.
    logged = await fetch(registry_db, "SELECT DISTINCT unnest(household_ids)::text AS id FROM dci_access_log")
    assert {r["id"] for r in logged} == {household["id"]}


async def test_a_subscriber_that_was_down_receives_each_change_once(
        dci_client: httpx.AsyncClient, receiver: Receiver, registry_db: str) -> None:
    await register_client(dci_client, "bhxh", callback_urls=[receiver.url])
    await subscribe(dci_client, "bhxh", HOME, [criteria("household_registered", "registered")], receiver)
    receiver.status = 503
    households = [await register(dci_client) for _ in range(3)]

    async def refused() -> bool:
        return receiver.refused >= 6

    await eventually(refused)
    assert receiver.of("notify") == []
    receiver.status = 200
    found = await notifications(receiver, 3)
    assert sorted(event_of(m)["data"]["reg_records"]["group_identifier"][0]["identifier_value"] for m in found) \
        == sorted(h["id"] for h in households)
    assert len({m["header"]["message_id"] for m in found}) == 3
    # The same registry events again (a redelivery, a replay): no second notification.
    rows = await fetch(registry_db, "SELECT body FROM outbox WHERE subject = 'registry.household.registered'")
    events = [Event.from_bytes(bytes(r["body"])) for r in rows]
    db = Database(registry_db, pool_size=2)
    try:
        async with db.system_session() as session:
            cipher = cipher_from_settings(RegistrySettings(**PERSONAL_DATA_KEYS))  # type: ignore[arg-type]
            queued = await service.notify(session, events, cipher)
    finally:
        await db.dispose()
    assert queued == 0
    assert await scalar(registry_db, "SELECT count(*) FROM dci_deliveries WHERE action = 'notify'") == 3
    assert await scalar(registry_db, "SELECT count(*) FROM inbox WHERE consumer = $1", CONSUMER_NAME) >= 3


async def test_unsubscribe_stops_notifications_and_refuses_unknown_codes(
        dci_client: httpx.AsyncClient, receiver: Receiver, registry_db: str) -> None:
    await register_client(dci_client, "bhxh", callback_urls=[receiver.url])
    await register_client(dci_client, "other", callback_urls=[receiver.url])
    answer = await subscribe(dci_client, "bhxh", HOME, [criteria("household_registered", "r")], receiver)
    code = answer["message"]["subscribe_response"][0]["subscriptions"][0]["code"]
    theirs = await subscribe(dci_client, "other", HOME, [criteria("household_registered", "r")], receiver)
    their_code = theirs["message"]["subscribe_response"][0]["subscriptions"][0]["code"]
    body = envelope("unsubscribe", "bhxh", {"transaction_id": "U-1", "timestamp": "2026-01-01T00:00:00+07:00",
                                            "subscription_codes": [code, their_code, "SUB-made-up"]}, 3)
    ack = (await dci_client.post("/registry/unsubscribe", json=body, headers=system("bhxh", HOME))).json()
    assert ack["message"]["ack_status"] == "ACK"

    async def answered() -> list[dict[str, Any]]:
        return receiver.of("on-unsubscribe")

    [done] = await eventually(answered)
    validate(done, ON_UNSUBSCRIBE)
    assert done["message"]["subscription_status"] == [{"code": code, "status": "unsubscribe"}]
    assert done["message"]["status_reason_code"] == "rjct.subscription_code.invalid"
    rows = await fetch(registry_db, "SELECT code, status FROM dci_subscriptions")
    statuses = {r["code"]: r["status"] for r in rows}
    assert statuses == {code: "unsubscribe", their_code: "subscribe"}  # another client's code is left alone
    receiver.received.clear()
    await register(dci_client)
    [only] = await notifications(receiver, 1)
    assert event_of(only)["reference_id"] == their_code
