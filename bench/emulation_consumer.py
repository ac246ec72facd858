"""The emulation service's consumer taking a backlog of the registry's `registry.review.approved`
events (2 × N communes, all in the stream before the service starts), with the next batch fetched
while one is applied (shared/consumer.py `_run_pipelined`), against the baseline of the same run:
the same consumer fetching a batch only after the previous one is applied (`run_once`). The rounds
alternate, each on a fresh database and consumer; the re-scorer is off, so only the consumer counts.

Usage: .venv/bin/python -m bench.emulation_consumer [--communes 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
import nats

from bench.emulation_scoring import YEAR, commune_paths, publish_all, review, seed, wait_for
from bench.stack import bench_stack, migrated_database
from services.emulation.consumers import CONSUMERS
from services.emulation.main import create_app
from services.emulation.settings import EmulationSettings
from shared import consumer
from shared.db import asyncpg_dsn
from shared.principal import generate_keypair
from shared.streams import ensure_streams

PIPELINED = consumer.ConsumerRunner._run_pipelined


@contextmanager
def fetch_ahead(on: bool) -> Iterator[None]:
    consumer.ConsumerRunner._run_pipelined = PIPELINED if on else consumer.ConsumerRunner.run_once  # type: ignore[method-assign]
    try:
        yield
    finally:
        consumer.ConsumerRunner._run_pipelined = PIPELINED  # type: ignore[method-assign]


async def one_round(pg_url: str, nats_url: str, n: int, ahead: bool) -> float:
    db_url = await migrated_database(pg_url, "emulation", "bench_consumer")
    communes = commune_paths(n)
    await seed(db_url, communes)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js)
    await js.purge_stream("REGISTRY")
    await publish_all(js, [review(c, YEAR - 1, 100) for c in communes] + [review(c, YEAR, 80) for c in communes])
    _, public = generate_keypair()
    app = create_app(EmulationSettings(database_url=db_url, nats_url=nats_url, principal_public_key=public,
                                       rescore_interval_seconds=3600))
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        with fetch_ahead(ahead):
            started = time.monotonic()
            async with app.router.lifespan_context(app):
                done = await wait_for(conn, "SELECT count(*) FROM em_review_counts", 2 * n)
        for durable in CONSUMERS:  # the next round's app starts from the stream's beginning again
            await js.delete_consumer(durable.stream, durable.name)
    finally:
        await conn.close()
        await nc.close()
    return done - started


async def main(n: int, rounds: int) -> None:
    with bench_stack() as (pg_url, nats_url):
        times: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(rounds):
            for ahead in (False, True):
                times[ahead].append(await one_round(pg_url, nats_url, n, ahead))
    base, new = statistics.median(times[False]), statistics.median(times[True])
    print(f"{2 * n} review events taken from a backlog, from the service's start (median of {rounds} rounds each, "
          "alternated):")
    print(f"  baseline, fetch after apply: {base:.2f} s ({2 * n / base:.0f} events/s); rounds "
          + ", ".join(f"{t:.2f}" for t in times[False]))
    print(f"  next batch fetched while one is applied: {new:.2f} s ({2 * n / new:.0f} events/s); rounds "
          + ", ".join(f"{t:.2f}" for t in times[True]))
    print(f"  throughput ratio {base / new:.2f}×")
    load = os.getloadavg()
    print(f"machine load average (1/5/15 min): {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--communes", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.communes, args.rounds))
