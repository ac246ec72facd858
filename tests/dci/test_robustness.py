"""Whatever a client sends, the DCI endpoints answer in the DCI way (an item or header refusal, an ERR
acknowledgement, or the spec's HTTP error body), never a 500, and keep nothing of a refused message."""

from __future__ import annotations

import os
import uuid
from typing import Any

import httpx
import orjson
import pytest

from services.registry.personal_data import PersonalDataCipher
from shared.permissions import ROLE_PERMISSIONS
from shared.principal import Principal, principal_claims
from tests.dci.conftest import Receiver, envelope, register_client, search_body, search_item, system
from tests.kit import eventually, fetch, scalar, scope_unit
from tests.registry.households_helpers import HOME

GARBAGE: list[Any] = [
    None, 1, "search", [], [1, 2], {"header": []}, {"header": {}, "message": {}},
    {"header": {"message_id": "x" * 500, "message_ts": "2026-01-01T00:00:00Z", "action": "search",
                "sender_id": "bhxh", "total_count": 1}, "message": {}},
    {"header": {"message_id": "m", "message_ts": 5, "action": "search", "sender_id": "bhxh", "total_count": True},
     "message": {"transaction_id": {"a": 1}, "search_request": "all"}},
]
DEEP: dict[str, Any] = {"review_year": 1}
for _ in range(12):
    DEEP = {"$and": [{"$not": DEEP}]}
WEIRD_ITEMS: list[Any] = [
    None, 7, {"reference_id": ["r"]}, {"reference_id": "r1", "timestamp": "2026-01-01T00:00:00Z", "search_criteria": 3},
    search_item("expression", {"value": {"review_year": {"$gt": 10**30}}}, "big-int"),
    search_item("expression", {"value": {"review_year": "9" * 40}}, "big-text-int"),
    search_item("expression", {"value": DEEP}, "deep"),
    search_item("expression", {"value": {"group_size": {"$in": list(range(2000))}}}, "long-in"),
    search_item("predicate", [{"expression1": {"attribute_name": "group_size", "operator": "in",
                                               "attribute_value": [{"x": 1}]}}], "objects"),
    search_item("idtype-value", {"type": "HouseholdCode", "value": "x" * 5000}, "long-code"),
    search_item("expression", {"value": {"poverty_status": "poor"}}, "huge-page",
                pagination={"page_size": 10, "page_number": 10**18}),
    search_item("expression", {"value": {"poverty_status": "poor"}}, "float-page",
                pagination={"page_size": 1e308, "page_number": 1}),
    search_item("expression", {"value": {"registration_date": {"$gte": "0001-01-01"}}}, "old-date"),
    search_item("expression", {"value": {"village": "'; DROP TABLE households; --"}}, "quote"),
]


@pytest.mark.parametrize("path", ["/registry/sync/search", "/registry/search", "/registry/sync/txn/status",
                                  "/registry/txn/status", "/registry/subscribe", "/registry/unsubscribe"])
async def test_garbage_never_gets_a_500(dci_client: httpx.AsyncClient, registry_db: str, path: str) -> None:
    await register_client(dci_client, "bhxh", callback_urls=["http://127.0.0.1:9/cb"])
    headers = system("bhxh", HOME)
    for body in GARBAGE:
        response = await dci_client.post(path, json=body, headers=headers)
        assert response.status_code in (200, 400, 401, 403), (body, response.text)
    response = await dci_client.post(path, content=b"\xff\xfe not json", headers=headers)
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "err.request.bad"
    assert await scalar(registry_db, "SELECT count(*) FROM dci_transactions") == 0
    assert await scalar(registry_db, "SELECT count(*) FROM dci_deliveries") == 0


async def test_weird_items_are_refused_one_by_one(dci_client: httpx.AsyncClient) -> None:
    await register_client(dci_client, "bhxh")
    answer = await dci_client.post("/registry/sync/search", json=search_body("bhxh", WEIRD_ITEMS),
                                   headers=system("bhxh", HOME))
    assert answer.status_code == 200, answer.text
    got = {i["reference_id"]: (i["status"], i.get("status_reason_code")) for i in
           answer.json()["message"]["search_response"]}
    for reference in ("big-int", "big-text-int", "long-in", "objects", "huge-page", "float-page", "deep"):
        assert got[reference][0] == "rjct", (reference, got[reference])
    for reference in ("long-code", "old-date", "quote"):
        assert got[reference] in (("succ", None), ("rjct", "rjct.filter.invalid")), (reference, got[reference])
    assert got["quote"] == ("succ", None) and got["old-date"] == ("succ", None)


async def test_rows_sealed_under_replaced_keys_hold_nothing_up(dci_client: httpx.AsyncClient, receiver: Receiver,
                                                               registry_db: str) -> None:
    """A callback or an async request sealed under personal-data keys since replaced (or damaged) is
    given up on its own; every other search and callback goes on."""
    await register_client(dci_client, "bhxh", callback_urls=[receiver.url])
    old_keys = PersonalDataCipher(os.urandom(32), os.urandom(32))
    principal = Principal(id="p-bhxh", role="system_client", permissions=ROLE_PERMISSIONS["system_client"],
                          scopes=(scope_unit(HOME),), kind="client", name="bhxh")
    await fetch(registry_db, "INSERT INTO dci_deliveries (id, message_id, client_id, action, url, body_sealed, "
                             "attempts, next_attempt_at) VALUES ($1, 'stale-callback', 'bhxh', 'on-search', $2, $3, 0, "
                             "now())", uuid.uuid4(), receiver.url, old_keys.seal(b'{"header": {}}'))
    await fetch(registry_db, "INSERT INTO dci_transactions (id, client_id, kind, mode, message_id, transaction_id, "
                             "correlation_id, status, reference_ids, principal, sender_uri, request_sealed, "
                             "item_statuses, attempts) VALUES ($1, 'bhxh', 'search', 'async', 'stale-m', 'stale-t', "
                             "'stale-c', 'pdng', '{r}', $2::jsonb, $3, $4, '[]', 0)", uuid.uuid4(),
                orjson.dumps(principal_claims(principal)).decode(), receiver.url, old_keys.seal(b"{}"))
    body = search_body("bhxh", [search_item("expression", {"value": {"poverty_status": "poor"}}, "fresh")],
                       sender_uri=receiver.url)
    ack = (await dci_client.post("/registry/search", json=body, headers=system("bhxh", HOME))).json()
    assert ack["message"]["ack_status"] == "ACK"

    async def both_answered() -> list[dict[str, Any]] | None:
        found = receiver.of("on-search")
        return found if len(found) >= 2 else None

    answers = {a["message"]["transaction_id"]: a for a in await eventually(both_answered)}
    assert answers[body["message"]["transaction_id"]]["header"]["status"] == "succ"
    assert answers["stale-t"]["header"]["status"] == "rjct"  # told to send it again, not left pending
    [stale] = await fetch(registry_db, "SELECT expired_at, last_error, delivered_at FROM dci_deliveries "
                                       "WHERE message_id = 'stale-callback'")
    assert stale["expired_at"] is not None and stale["delivered_at"] is None
    assert "cannot be opened" in stale["last_error"]
    status = await dci_client.post("/registry/sync/txn/status", headers=system("bhxh", HOME), json=envelope(
        "txn-status", "bhxh", {"transaction_id": "S-1", "txnstatus_request": {
            "reference_id": "s", "txn_type": "search", "attribute_type": "correlation_id",
            "attribute_value": "stale-c"}}, 1))
    assert status.status_code == 200, status.text
    assert status.json()["message"]["txnstatus_response"]["txn_status"]["search_response"] == []
