"""Several replicas of each kind of process, as real processes side by side (uvicorn, as the pods run):

- two reporting processes share each durable consumer: every event is applied once (the inbox holds each
  id once, the processes' applied counters add up to the events published) and the figures equal the
  hand counts, not doubled;
- two support processes relay one outbox: every row is published once (the relays' published counters
  add up to the rows, not more), and the stream holds each event once;
- two gateway processes share revocations (the database) and rate limits (Redis).
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import nats
import orjson

from gateway import bootstrap
from gateway.settings import GatewaySettings
from shared.events import Event
from shared.streams import ensure_streams
from tests.gateway.support import FAST_ARGON2, SIGNING_KEY_ENCRYPTION_KEY, publish_units, units_for_tests
from tests.kit import PRIVATE_KEY, PUBLIC_KEY, Stack, auth_headers, eventually, fetch, fresh_database, scalar
from tests.ops.processes import metric, replicas, service_env
from tests.reporting.conftest import OPERATOR, PROVINCE_OFFICER
from tests.reporting.registry_events import DISTRICT_A, PROVINCE, all_unit_events, province_dataset, publish
from tests.reporting.support_events import catalogue_events, seed_003_deliveries
from tests.reporting.test_indicators import assert_report


async def _status(client: httpx.AsyncClient, base: str, consumer: str) -> dict[str, object]:
    body = (await client.get(f"{base}/reporting/status", headers=auth_headers(OPERATOR))).json()
    return dict(next(c for c in body["consumers"] if c["consumer"] == consumer))


async def test_two_reporting_processes_apply_each_event_once(stack: Stack, nats_url: str) -> None:
    db = await fresh_database(stack, "reporting")
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js)
    data = province_dataset(households=1200)
    support = seed_003_deliveries()
    # Small batches: both processes pull from each durable consumer many times.
    env = service_env("reporting", db, nats_url, consumer_batch_size="3")
    try:
        async with replicas("reporting", env) as (one, two), httpx.AsyncClient(timeout=30) as client:
            registry_events = [*all_unit_events(), *data.events]
            last = await publish(js, registry_events)
            support_last = await publish(js, [*catalogue_events(), *support.events])

            async def settled() -> bool:
                registry = await _status(client, one.url, "reporting-registry")
                support_state = await _status(client, two.url, "reporting-support")
                return (registry["lag"] == 0 and registry["applied"]["stream_seq"] >= last  # type: ignore[index]
                        and support_state["lag"] == 0
                        and support_state["applied"]["stream_seq"] >= support_last)  # type: ignore[index]

            await eventually(settled, timeout=90, interval=0.5)

            applied = [metric(await p.metrics(), "events_applied_total", consumer="reporting-registry")
                       for p in (one, two)]
            assert sum(applied) == len(registry_events), applied
            assert all(a > 0 for a in applied), f"both processes took a share of the stream: {applied}"
            support_applied = [metric(await p.metrics(), "events_applied_total", consumer="reporting-support")
                               for p in (one, two)]
            assert sum(support_applied) == len(catalogue_events()) + len(support.events), support_applied

            # Figures equal the hand counts whichever process answers (nothing counted twice).
            for process in (one, two):
                response = await client.get(f"{process.url}/reporting/indicators/poverty",
                                            params={"unit": "24", "year": 2024}, headers=auth_headers(PROVINCE_OFFICER))
                assert response.status_code == 200, response.text
                assert_report(response.json(), data, 2024, PROVINCE)
            totals = await client.get(f"{two.url}/reporting/support/totals", params={"unit": DISTRICT_A, "year": 2024},
                                      headers=auth_headers(PROVINCE_OFFICER))
            credit = next(p for p in totals.json()["programmes"] if p["programme"] == "nhcsxh_credit")
            assert (credit["households"], credit["amount_vnd"]) == (195, 6_896_000_000)
        assert await scalar(db, "SELECT count(*) FROM inbox WHERE consumer = 'reporting-registry'") == len(
            registry_events)
    finally:
        await nc.close()


async def test_two_relays_publish_each_outbox_row_once(stack: Stack, nats_url: str) -> None:
    db = await fresh_database(stack, "support")
    # Small relay batches: both relays claim rows over and over, side by side.
    env = service_env("support", db, nats_url, relay_batch_size="7")
    ids: list[str] = []
    async with replicas("support", env) as (one, two):
        conn_rows = 0
        for _ in range(60):  # 600 events in 60 commits, while both relays run
            events = [Event(type="support.ops.replica_probe", producer="support", subject_id=str(i), payload={"i": i})
                      for i in range(conn_rows, conn_rows + 10)]
            conn_rows += 10
            ids += [str(e.id) for e in events]
            await fetch(db, "INSERT INTO outbox (id, subject, body) SELECT * FROM unnest($1::uuid[], $2::text[], "
                            "$3::bytea[])", [e.id for e in events], [e.subject for e in events],
                        [e.to_bytes() for e in events])
            await asyncio.sleep(0.01)

        async def drained() -> bool:
            return await scalar(db, "SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0

        await eventually(drained, timeout=60)
        rows = int(await scalar(db, "SELECT count(*) FROM outbox"))
        published = [metric(await p.metrics(), "outbox_published_total", service="support") for p in (one, two)]
    assert sum(published) == rows, f"every row published by exactly one relay: {published} for {rows} rows"
    assert all(p > 0 for p in published), f"both relays took a share: {published}"

    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe("support.ops.>", durable=None, stream="SUPPORT")
        seen: list[str] = []
        while True:
            try:
                msgs = await sub.fetch(200, timeout=2)
            except Exception:
                break
            seen += [orjson.loads(m.data)["id"] for m in msgs]
    finally:
        await nc.close()
    assert sorted(seen) == sorted(ids), "the stream holds each event once"


async def test_two_gateways_share_revocations_and_rate_limits(stack: Stack, nats_url: str, redis_url: str,
                                                               tmp_path: Path) -> None:
    db = await fresh_database(stack, "gateway")
    await bootstrap.run(db, GatewaySettings(database_url=db, **FAST_ARGON2))
    await publish_units(nats_url, units_for_tests())
    env = {"GATEWAY_DATABASE_URL": db, "GATEWAY_NATS_URL": nats_url, "GATEWAY_PRINCIPAL_PRIVATE_KEY": PRIVATE_KEY,
           "GATEWAY_PRINCIPAL_PUBLIC_KEY": PUBLIC_KEY, "GATEWAY_SIGNING_KEY_ENCRYPTION_KEY": SIGNING_KEY_ENCRYPTION_KEY,
           "GATEWAY_KEYS_DIR": str(tmp_path), "GATEWAY_REDIS_URL": redis_url, "GATEWAY_TRUST_FORWARDED_FOR": "true",
           "GATEWAY_TOKEN_REQUESTS_PER_IP_PER_MINUTE": "5", "GATEWAY_REVOCATION_POLL_SECONDS": "0.2",
           "GATEWAY_KEY_RELOAD_SECONDS": "1", "GATEWAY_DB_POOL_SIZE": "5"}
    async with replicas("gateway", env) as (one, two), httpx.AsyncClient(timeout=30) as client:
        # Revocation: a session ended on one replica is refused by the other.
        login = await client.post(f"{one.url}/auth/token", headers={"X-Forwarded-For": "198.51.100.20"},
                                  data={"grant_type": "password", "username": "commune.07207", "password": "demo"})
        assert login.status_code == 200, login.text
        bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}

        async def accepted_by_two() -> bool:  # the other replica may load the signing key a moment later
            return (await client.get(f"{two.url}/auth/me", headers=bearer)).status_code == 200

        await eventually(accepted_by_two, timeout=20)
        assert (await client.post(f"{one.url}/auth/logout", headers=bearer)).status_code == 204

        async def refused_by_two() -> bool:
            return (await client.get(f"{two.url}/auth/me", headers=bearer)).status_code == 401

        await eventually(refused_by_two, timeout=10)

        # Rate limits: 5 token requests a minute per address, counted across both replicas. Alternating,
        # each replica alone sees 4 of 8 and would refuse none.
        address = f"203.0.113.{uuid.uuid4().int % 250 + 1}"
        statuses = []
        for i in range(8):
            target = one if i % 2 == 0 else two
            response = await client.post(f"{target.url}/auth/token", headers={"X-Forwarded-For": address},
                                         data={"grant_type": "password", "username": "nobody", "password": "x"})
            statuses.append(response.status_code)
        assert statuses[:5] == [400] * 5, statuses
        assert statuses[5:] == [429] * 3, statuses
