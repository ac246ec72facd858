"""Replacing the personal-data keys (services.registry.rekey) with DCI in use: a person subscription
still hears of its person, a callback not yet delivered is delivered under the new keys, and txn status
still hands out an async search's answer."""

from __future__ import annotations

from services.registry.rekey import rekey
from shared.crypto import generate_key
from tests.dci.conftest import (
    Receiver,
    a_callback_waiting,
    a_household_for_bhxh,
    envelope,
    registry_app,
    system,
)
from tests.dci.subscribing import criteria, event_of, make_poor, notifications, subscribe
from tests.kit import eventually, fetch
from tests.registry.conftest import PERSONAL_DATA_KEYS
from tests.registry.households_helpers import HOME
from tests.registry.test_rekey import cipher


async def test_dci_keeps_working_under_new_personal_data_keys(
        registry_db: str, nats_url: str, receiver: Receiver, fast_dci_worker: None) -> None:
    new_keys = {"personal_data_key": generate_key(), "personal_data_hash_key": generate_key()}
    async with registry_app(registry_db, nats_url) as client:
        household, number = await a_household_for_bhxh(client, receiver)
        await subscribe(client, "bhxh", HOME, [criteria("status_changed", "person", {
            "type": "NationalID", "value": number}, filter_type="idtype-value")], receiver)
        # A second search's answer waits, sealed, through the change of keys.
        answered = await a_callback_waiting(client, number, receiver)

    result = await rekey(registry_db, cipher(PERSONAL_DATA_KEYS), cipher(new_keys))
    assert result.dci.people == 1 and result.dci.unreadable == 0
    assert result.dci.sealed >= 4  # two requests, two answers, the waiting callback
    [stored] = await fetch(registry_db, "SELECT filter->'person'->>'citizen_id_hash' AS h FROM dci_subscriptions")
    assert stored["h"] == cipher(new_keys).hash(number).hex()

    receiver.status = 200
    async with registry_app(registry_db, nats_url, new_keys) as client:
        [waited] = await eventually(lambda: receiver.arrived("on-search"))
        assert waited["message"]["search_response"][0]["pagination"]["total_count"] == 1
        status = await client.post("/registry/sync/txn/status", headers=system("bhxh", HOME), json=envelope(
            "txn-status", "bhxh", {"transaction_id": "S-1", "txnstatus_request": {
                "reference_id": "s", "txn_type": "search", "attribute_type": "correlation_id",
                "attribute_value": answered}}, 1))
        [item] = status.json()["message"]["txnstatus_response"]["txn_status"]["search_response"]
        assert item["data"]["reg_records"][0]["group_identifier"][0]["identifier_value"] == household["id"]
        receiver.received.clear()
        await make_poor(client, household)
        [notified] = await notifications(receiver, 1)
        assert event_of(notified)["data"]["reg_records"]["group_identifier"][0]["identifier_value"] == household["id"]
