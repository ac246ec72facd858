"""Figures of the event backbone (issue 2): for N events (default 100,000)

- raw: pipelined nats-py JetStream publish (publish_async) of event-sized messages;
- relay: outbox → JetStream, events/s acknowledged and marked sent (target ≥ 50 % of raw);
- consumer: events/s applied with the inbox, in batches (target ≥ 10,000/s on 2 cores).

Usage: .venv/bin/python -m bench.events [--events 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import nats
import uvloop
from nats.js.api import StreamConfig
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bench.stack import bench_stack
from devstack.migrate import upgrade_async
from shared.consumer import Consumer, ConsumerRunner, RunnerOptions
from shared.db import Database
from shared.events import Event, record_events
from shared.migrations import service_database_url
from shared.relay import OutboxRelay
from shared.streams import ensure_streams

TYPE = "registry.household.assessed"


def sample_events(n: int) -> list[Event]:
    return [
        Event(type=TYPE, producer="registry", subject_id=f"household-{i}", unit_code="07207",
              unit_path="v2008.24.213.07207", version=1,
              payload={"review_year": 2025, "status": "poor" if i % 25 == 0 else "not_poor",
                       "previous_status": "not_poor", "transition": "stayed", "member_count": 4,
                       "ethnic_minority": False, "policy_family": False, "area": "rural"})
        for i in range(n)
    ]


async def raw_publish_rate(nats_url: str, events: list[Event]) -> float:
    nc = await nats.connect(nats_url)
    js = nc.jetstream(publish_async_max_pending=4000)
    await js.add_stream(StreamConfig(name="BENCHRAW", subjects=["benchraw.>"]))
    bodies = [e.to_bytes() for e in events]
    started = time.perf_counter()
    window = []
    for i, body in enumerate(bodies):
        window.append(await js.publish_async("benchraw.assessed", body, headers={"Nats-Msg-Id": str(events[i].id)}))
        if len(window) >= 1000:
            await asyncio.gather(*window)
            window = []
    await asyncio.gather(*window)
    elapsed = time.perf_counter() - started
    await nc.close()
    return len(bodies) / elapsed


async def fill_outbox(db: Database, events: list[Event]) -> None:
    for start in range(0, len(events), 5000):
        async with db.system_session() as session:
            await record_events(session, events[start:start + 5000])


async def relay_rate(db: Database, nats_url: str, events: list[Event], batch_size: int) -> float:
    await fill_outbox(db, events)
    nc = await nats.connect(nats_url)
    js = nc.jetstream(publish_async_max_pending=4000)
    await ensure_streams(js)
    relay = OutboxRelay(db.url, js, "registry", batch_size=batch_size)
    started = time.perf_counter()
    sent = 0
    while True:
        n = await relay.relay_once()
        if n == 0:
            break
        sent += n
    elapsed = time.perf_counter() - started
    await relay.stop()
    await nc.close()
    assert sent == len(events), f"relayed {sent} of {len(events)}"
    return sent / elapsed


async def consumer_rate(db: Database, nats_url: str, n: int, batch_size: int) -> float:
    async with db.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE bench_status (household text PRIMARY KEY, status text, version int)"))

    async def project(session: AsyncSession, batch: list[Event]) -> None:
        await session.execute(
            text("INSERT INTO bench_status SELECT * FROM unnest(CAST(:h AS text[]), CAST(:s AS text[]), "
                 "CAST(:v AS int[])) ON CONFLICT (household) DO UPDATE SET status = excluded.status, "
                 "version = excluded.version WHERE bench_status.version < excluded.version"),
            {"h": [e.subject_id for e in batch], "s": [e.payload["status"] for e in batch],
             "v": [e.version for e in batch]},
        )

    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    runner = ConsumerRunner(Consumer("bench-projection", "registry", {TYPE: project}), db, js,
                            RunnerOptions(batch_size=batch_size, ack_wait_seconds=60, fetch_timeout_seconds=1))
    await runner.subscribe()
    started = time.perf_counter()
    done = 0
    while done < n:
        done += await runner.run_once()
    elapsed = time.perf_counter() - started
    await runner.stop()
    await nc.close()
    async with db.engine.connect() as conn:
        applied = (await conn.execute(text("SELECT count(*) FROM bench_status"))).scalar()
    assert applied == n, f"applied {applied} of {n}"
    return n / elapsed


async def main(n: int, relay_batch: int, consumer_batch: int) -> None:
    with bench_stack() as (pg_url, nats_url):
        producer_url = service_database_url(pg_url, "registry")
        consumer_url = service_database_url(pg_url, "reporting")
        await upgrade_async("registry", producer_url)
        await upgrade_async("reporting", consumer_url)
        producer, consumer = Database(producer_url), Database(consumer_url)
        events = sample_events(n)
        raw = await raw_publish_rate(nats_url, events)
        relay = await relay_rate(producer, nats_url, events, relay_batch)
        consume = await consumer_rate(consumer, nats_url, n, consumer_batch)
        await producer.dispose()
        await consumer.dispose()
    print(f"events: {n:,}")
    print(f"raw JetStream publish (pipelined): {raw:,.0f} events/s")
    print(f"outbox relay (acked + marked sent): {relay:,.0f} events/s = {relay / raw:.0%} of raw (target ≥ 50 %)")
    print(f"consumer (applied with inbox, batch {consumer_batch}): {consume:,.0f} events/s (target ≥ 10,000/s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--relay-batch", type=int, default=1000)
    parser.add_argument("--consumer-batch", type=int, default=1000)
    args = parser.parse_args()
    uvloop.install()  # the services run on uvloop too (uvicorn --loop uvloop)
    asyncio.run(main(args.events, args.relay_batch, args.consumer_batch))
