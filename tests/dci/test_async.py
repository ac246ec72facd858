"""DCI async search and txn status: ACK with a correlation id at once, on-search delivered to the
client's registered callback (never elsewhere), a callback that fails retried without holding the
search up, and txn status (sync and async) reporting each transaction of the caller only."""

from __future__ import annotations

from typing import Any

import httpx

from tests.dci.conftest import Receiver, by_citizen, envelope, register_client, search_body, search_item, system
from tests.dci.spec.schemas import ACK, ON_SEARCH, TXN_ON_STATUS, validate
from tests.kit import eventually, scalar
from tests.registry.households_helpers import HOME, OTHER_COMMUNE, commune_officer, register


async def _cid(client: httpx.AsyncClient, household: dict[str, Any], officer: dict[str, str]) -> str:
    record = await client.get(f"/registry/households/{household['id']}",
                              params={"unmasked": "true", "purpose": "DCI test"}, headers=officer)
    return str(record.json()["members"][0]["citizen_id"])


def _status_body(sender: str, attribute: str, value: Any, **kw: Any) -> dict[str, Any]:
    message = {"transaction_id": "STATUS-1", "txnstatus_request": {
        "reference_id": "S-1", "txn_type": "search", "attribute_type": attribute, "attribute_value": value}}
    return envelope("txn-status", sender, message, 1, **kw)


async def test_async_search_acks_then_delivers_on_search_to_the_callback(
        dci_client: httpx.AsyncClient, receiver: Receiver, registry_db: str) -> None:
    await register_client(dci_client, "bhxh", callback_urls=[receiver.url])
    household = await register(dci_client)
    foreign = await register(dci_client, commune_code="07714", headers=commune_officer(OTHER_COMMUNE))
    mine, theirs = await _cid(dci_client, household, commune_officer()), \
        await _cid(dci_client, foreign, commune_officer(OTHER_COMMUNE))
    body = search_body("bhxh", [by_citizen(mine, reference_id="mine"), by_citizen(theirs, reference_id="theirs"),
                                search_item("predicate", [], "bad")],
                       sender_uri=f"{receiver.url}/registry/on-search")
    response = await dci_client.post("/registry/search", json=body, headers=system("bhxh", HOME))
    assert response.status_code == 200, response.text
    ack = response.json()
    validate(ack, ACK)
    assert ack["message"]["ack_status"] == "ACK"
    correlation_id = ack["message"]["correlation_id"]
    [delivered] = await eventually(lambda: _async(receiver.of("on-search")))
    validate(delivered, ON_SEARCH)
    assert receiver.received[0]["path"] == "/dci/registry/on-search"
    message = delivered["message"]
    assert message["correlation_id"] == correlation_id
    assert message["transaction_id"] == body["message"]["transaction_id"]
    mine_item, theirs_item, bad = message["search_response"]
    assert mine_item["pagination"]["total_count"] == 1 and theirs_item["pagination"]["total_count"] == 0
    assert bad["status"] == "rjct" and bad["status_reason_code"] == "rjct.filter.invalid"
    assert await scalar(registry_db, "SELECT status FROM dci_transactions") == "succ"
    assert await scalar(registry_db, "SELECT count(*) FROM dci_access_log") == 1

    # txn status, sync: the same transaction by correlation id, transaction id or reference ids.
    for attribute, value in (("correlation_id", correlation_id),
                             ("transaction_id", body["message"]["transaction_id"]),
                             ("reference_id_list", ["mine"])):
        status = await dci_client.post("/registry/sync/txn/status", json=_status_body("bhxh", attribute, value),
                                       headers=system("bhxh", HOME))
        answer = status.json()
        validate(answer, TXN_ON_STATUS)
        items = answer["message"]["txnstatus_response"]["txn_status"]["search_response"]
        assert items[0]["reference_id"] == "mine" and items[0]["status"] == "succ", (attribute, items)
    # Records handed out again by txn status are logged again (three sync status calls found "mine").
    assert await scalar(registry_db, "SELECT count(*) FROM dci_access_log WHERE action = 'txn-status'") == 3
    # txn status, async: ACK, then txn-on-status to the callback.
    asked = await dci_client.post("/registry/txn/status", headers=system("bhxh", HOME),
                                  json=_status_body("bhxh", "correlation_id", correlation_id))
    assert asked.json()["message"]["ack_status"] == "ACK"
    [on_status] = await eventually(lambda: _async(receiver.of("txn-on-status")))
    validate(on_status, TXN_ON_STATUS)
    assert on_status["message"]["txnstatus_response"]["txn_status"]["correlation_id"] == correlation_id


async def _async(value: Any) -> Any:
    return value


async def test_another_client_cannot_read_a_transaction(dci_client: httpx.AsyncClient, receiver: Receiver) -> None:
    await register_client(dci_client, "bhxh", callback_urls=[receiver.url])
    await register_client(dci_client, "nhcsxh", callback_urls=[receiver.url])
    ack = (await dci_client.post("/registry/search", headers=system("bhxh", HOME), json=search_body(
        "bhxh", [by_citizen("024000000001")]))).json()
    status = await dci_client.post("/registry/sync/txn/status", headers=system("nhcsxh", HOME), json=_status_body(
        "nhcsxh", "correlation_id", ack["message"]["correlation_id"]))
    assert status.json()["message"]["txnstatus_response"]["txn_status"]["search_response"] == []


async def test_callbacks_go_only_to_registered_urls(dci_client: httpx.AsyncClient, receiver: Receiver,
                                                    registry_db: str) -> None:
    await register_client(dci_client, "bhxh", callback_urls=[receiver.url])
    for uri in ("http://169.254.169.254/latest/meta-data", "http://127.0.0.1:5432/", f"{receiver.url}/../admin",
                receiver.url.replace("/dci", "/dcix"), receiver.url.replace("http:", "https:"),
                f"http://127.0.0.1:{receiver.port + 1}/dci"):
        response = await dci_client.post("/registry/search", headers=system("bhxh", HOME), json=search_body(
            "bhxh", [by_citizen("024000000001")], sender_uri=uri))
        ack = response.json()
        validate(ack, ACK)
        assert ack["message"]["ack_status"] == "ERR", uri
        assert ack["message"]["error"]["code"] == "err.sender_uri.invalid", uri
    assert await scalar(registry_db, "SELECT count(*) FROM dci_transactions") == 0
    assert await scalar(registry_db, "SELECT count(*) FROM dci_deliveries") == 0


async def test_a_failing_callback_is_retried_and_never_holds_the_search(
        dci_client: httpx.AsyncClient, receiver: Receiver, registry_db: str) -> None:
    await register_client(dci_client, "bhxh", callback_urls=[receiver.url])
    receiver.status = 503
    ack = (await dci_client.post("/registry/search", headers=system("bhxh", HOME), json=search_body(
        "bhxh", [by_citizen("024000000001")]))).json()
    assert ack["message"]["ack_status"] == "ACK"

    async def retried() -> bool:
        return receiver.refused >= 3

    await eventually(retried)
    # The search itself is done; only the callback waits.
    assert await scalar(registry_db, "SELECT status FROM dci_transactions") == "succ"
    assert await scalar(registry_db, "SELECT attempts >= 3 AND delivered_at IS NULL FROM dci_deliveries")
    receiver.status = 200
    [delivered] = await eventually(lambda: _async(receiver.of("on-search")))
    assert delivered["message"]["correlation_id"] == ack["message"]["correlation_id"]
    assert await scalar(registry_db, "SELECT delivered_at IS NOT NULL FROM dci_deliveries")
