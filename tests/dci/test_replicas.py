"""Two registry processes side by side (uvicorn, as the pods run), one database and one NATS: both run the
DCI consumer (turning registry events into notifications) and the DCI worker (posting callbacks, with
retries, claimed with SKIP LOCKED). A subscriber that is down for a while and then back receives each
notification exactly once, whichever process queued it and whichever process delivered it."""

from __future__ import annotations

import httpx

from tests.dci.conftest import ADMIN, Receiver, envelope, system
from tests.dci.spec.schemas import NOTIFY, validate
from tests.dci.subscribing import criteria, event_of
from tests.kit import eventually, scalar
from tests.ops.processes import metric, replicas, service_env
from tests.registry.conftest import PERSONAL_DATA_KEYS
from tests.registry.households_helpers import HOME, commune_officer, household_body

HOUSEHOLDS = 24


async def test_two_registry_processes_deliver_each_notification_once(
        registry_db: str, nats_url: str, receiver: Receiver) -> None:
    env = service_env("registry", registry_db, nats_url, **PERSONAL_DATA_KEYS, consumer_batch_size="2",
                      dci_poll_seconds="0.1", dci_retry_base_seconds="0.2", dci_retry_cap_seconds="0.5",
                      dci_deliveries_per_round="3")
    async with replicas("registry", env) as (one, two), httpx.AsyncClient(timeout=30) as client:
        registered = await client.put(f"{one.url}/registry/dci/clients", headers=ADMIN, json={
            "client_id": "bhxh", "display_name": "Bảo hiểm xã hội", "callback_urls": [receiver.url],
            "allow_unsigned": True, "data_profile": "full"})
        assert registered.status_code == 200, registered.text
        body = envelope("subscribe", "bhxh", {"transaction_id": "SUB-T", "subscribe_request": [
            criteria("household_registered", "registered")]}, 1, sender_uri=f"{receiver.url}/notify")

        async def subscribed() -> bool:  # the other process may hold the client registration 5 s in cache
            answer = await client.post(f"{two.url}/registry/subscribe", json=body, headers=system("bhxh", HOME))
            return bool(answer.json()["message"]["ack_status"] == "ACK")

        await eventually(subscribed, timeout=20)
        await eventually(lambda: receiver.arrived("on-subscribe"))

        # The subscriber is down while the households come in, through both processes in turn.
        receiver.status = 503
        ids: list[str] = []
        for i in range(HOUSEHOLDS):
            target = one if i % 2 == 0 else two
            created = await client.post(f"{target.url}/registry/households", json=household_body(),
                                        headers=commune_officer())
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])

        async def refused_often() -> bool:
            return receiver.refused >= HOUSEHOLDS

        await eventually(refused_often, timeout=60)
        receiver.status = 200

        async def all_delivered() -> bool:
            pending = await scalar(registry_db, "SELECT count(*) FROM dci_deliveries WHERE action = 'notify' "
                                                "AND delivered_at IS NULL")
            return len(receiver.of("notify")) >= HOUSEHOLDS and pending == 0

        await eventually(all_delivered, timeout=90, interval=0.3)
        notified = receiver.of("notify")
        for message in notified:
            validate(message, NOTIFY)
        households = [event_of(m)["data"]["reg_records"]["group_identifier"][0]["identifier_value"] for m in notified]
        assert sorted(households) == sorted(ids), "each household's registration notified exactly once"
        assert len({m["header"]["message_id"] for m in notified}) == HOUSEHOLDS
        assert await scalar(registry_db, "SELECT count(*) FROM dci_deliveries WHERE action = 'notify'") == HOUSEHOLDS
        # Both processes consumed the registry's events (the notifications came from both sides).
        applied = [metric(await p.metrics(), "events_applied_total", consumer="registry-dci") for p in (one, two)]
        assert all(a > 0 for a in applied), f"both processes took a share of the events: {applied}"
