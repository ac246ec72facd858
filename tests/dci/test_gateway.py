"""End to end through the gateway, as a DCI client written from the spec would call it: a system client
(client_credentials) registered by the administrator runs sync search, async search with its callback,
txn status, and subscribe / notify, against the whole platform (real PostgreSQL and NATS)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.dci.conftest import Receiver, by_citizen, envelope, search_body
from tests.dci.spec.schemas import ACK, NOTIFY, ON_SEARCH, ON_SUBSCRIBE, TXN_ON_STATUS, validate
from tests.gateway.platform import Platform, start_platform
from tests.kit import Stack, eventually

CLIENT = "system.demo"  # the platform's demo system client: role system_client, scope province 24


@pytest.fixture(scope="module")
async def platform(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    async for running in start_platform(stack, tmp_path_factory.mktemp("dci-platform")):
        yield running


async def _household(platform: Platform, citizen_id: str) -> dict[str, Any]:
    response = await platform.client.post("/registry/households", headers=platform.bearer("commune.07207"), json={
        "household_code": f"DCI-{uuid.uuid4().hex[:6]}", "commune_code": "07207", "village": "Tổ 5",
        "members": [{"full_name": "Hoàng Văn Nam", "citizen_id": citizen_id, "relation": "head", "sex": "male",
                     "birth_date": "1970-02-03"}]})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _wait(receiver: Receiver, action: str, count: int = 1) -> list[dict[str, Any]]:
    async def arrived() -> list[dict[str, Any]] | None:
        found = receiver.of(action)
        return found if len(found) >= count else None

    return list(await eventually(arrived))


async def test_a_dci_client_through_the_gateway(platform: Platform, receiver: Receiver) -> None:
    client = platform.client
    system = platform.bearer(CLIENT)
    # Before its registration the client is refused; without a token the gateway answers 401.
    body = search_body(CLIENT, [by_citizen("024070000001")])
    assert (await client.post("/registry/sync/search", json=body)).status_code == 401
    refused = await client.post("/registry/sync/search", json=body, headers=system)
    assert refused.status_code == 403 and refused.json()["errors"][0]["code"] == "err.sender_id.invalid"
    registered = await client.put("/registry/dci/clients", headers=platform.bearer("admin"), json={
        "client_id": CLIENT, "display_name": "Hệ thống minh hoạ", "callback_urls": [receiver.url],
        "allow_unsigned": True, "data_profile": "masked"})
    assert registered.status_code == 200, registered.text
    officer = await client.put("/registry/dci/clients", headers=platform.bearer("province.24"),
                               json={"client_id": "x", "display_name": "x"})
    assert officer.status_code == 403

    await _household(platform, "024070000001")
    answer = await client.post("/registry/sync/search", json=search_body(CLIENT, [by_citizen("024070000001")]),
                               headers=system)
    assert answer.status_code == 200, answer.text
    validate(answer.json(), ON_SEARCH)
    [item] = answer.json()["message"]["search_response"]
    person = item["data"]["reg_records"][0]["group_head_info"]["demographic_info"]
    assert person["identifier"][0]["identifier_value"] == "0240******01"  # the masked profile

    ack = await client.post("/registry/search", headers=system, json=search_body(
        CLIENT, [by_citizen("024070000001")], sender_uri=f"{receiver.url}/registry/on-search"))
    validate(ack.json(), ACK)
    correlation_id = ack.json()["message"]["correlation_id"]
    [on_search] = await _wait(receiver, "on-search")
    validate(on_search, ON_SEARCH)
    assert on_search["message"]["correlation_id"] == correlation_id
    assert on_search["message"]["search_response"][0]["pagination"]["total_count"] == 1

    status = await client.post("/registry/sync/txn/status", headers=system, json=envelope("txn-status", CLIENT, {
        "transaction_id": "S-1", "txnstatus_request": {"reference_id": "S-1", "txn_type": "search",
                                                       "attribute_type": "correlation_id",
                                                       "attribute_value": correlation_id}}, 1))
    validate(status.json(), TXN_ON_STATUS)
    assert status.json()["message"]["txnstatus_response"]["txn_status"]["search_response"][0]["status"] == "succ"

    subscribed = await client.post("/registry/subscribe", headers=system, json=envelope("subscribe", CLIENT, {
        "transaction_id": "SUB-1", "subscribe_request": [{
            "reference_id": "new-households", "timestamp": "2026-01-01T00:00:00+07:00",
            "subscribe_criteria": {"reg_event_type": "household_registered", "notify_record_type": "spdci:Group"}}]},
        1, sender_uri=f"{receiver.url}/registry/notify"))
    validate(subscribed.json(), ACK)
    [on_subscribe] = await _wait(receiver, "on-subscribe")
    validate(on_subscribe, ON_SUBSCRIBE)
    household = await _household(platform, "024070000002")
    [notified] = await _wait(receiver, "notify")
    validate(notified, NOTIFY)
    record = notified["message"]["notify_event"][0]["data"]["reg_records"]
    assert record["group_identifier"][0]["identifier_value"] == household["id"]
