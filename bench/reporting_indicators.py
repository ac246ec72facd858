"""Figures of the reporting service (issue 5), in one run:

1. freshness: the registry's bulk import of N households (default 1,000,000) in one province is
   published as `registry.household.assessed_batch` events of 1,000 households each, exactly as the
   registry's import and outbox relay publish them (this script publishes them itself, pipelined,
   so the figure does not depend on the registry's import speed); the reporting service runs as its
   own process (uvicorn). Measured: from the end of the import (last event acknowledged by
   JetStream) until the province's indicators, asked over HTTP, equal the counts of what was
   imported. Target ≤ 30 s. Also: the service's peak memory.
2. the province indicator query with all its communes: p50/p95 over HTTP (principal check, SQL,
   roll-up, JSON) and of the SQL alone, next to a raw GROUP BY (commune, status) over a 1M-row
   households table shaped like the registry's (path index), in the same database. Target p95 ≤ 20 ms.

Usage: .venv/bin/python -m bench.reporting_indicators [--households 1000000] [--communes 600]
       [--consumer-batch 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import nats
import psutil

from bench.stack import bench_stack, migrated_database
from devstack.embedded import free_port
from services.reporting.indicators.repository import figures_by_child
from shared.db import Database, asyncpg_dsn
from shared.events import Event
from shared.principal import PRINCIPAL_HEADER, Principal, PrincipalSigner, ScopeUnit, generate_keypair
from shared.streams import ensure_streams

PROVINCE = "v2008.01"
YEAR = 2024
ITEMS_PER_EVENT = 1000
STATUS_WEIGHTS = {"poor": 4.0, "near_poor": 3.5, "middle_income": 12.5, "not_poor": 80.0}
TRANSITIONS = ["stayed", "newly_poor", "re_poor", "escaped_poverty", "escaped_near_poverty", "became_near_poor"]


def province_units(communes: int) -> tuple[list[Event], list[str]]:
    districts = max(1, communes // 20)
    events = [_unit(PROVINCE, "province", None, "Thành phố Hà Nội")]
    commune_paths = []
    for d in range(districts):
        district = f"{PROVINCE}.{d + 1:03d}"
        events.append(_unit(district, "district", PROVINCE, f"Huyện Thử Nghiệm {d + 1}"))
        for c in range(communes // districts):
            path = f"{district}.{d * 100 + c + 1:05d}"
            events.append(_unit(path, "commune", district, f"Xã Thử Nghiệm {d + 1}-{c + 1}"))
            commune_paths.append(path)
    return events, commune_paths


def _unit(path: str, level: str, parent: str | None, name: str) -> Event:
    return Event(type="registry.unit.changed", producer="registry", subject_id=path, unit_path=path,
                 unit_code=path.rsplit(".", 1)[-1], version=1, payload={
                     "hierarchy": "v2008", "code": path.rsplit(".", 1)[-1], "name": name, "type": level,
                     "level": level, "parent_path": parent, "urban": None, "valid_from": None, "valid_to": None,
                     "poor_district": False, "difficult_commune": False, "ethnic_minority_area": False,
                     "mountainous": False, "successors": []})


class Import:
    """The synthetic import: events generated batch by batch, counts kept, compact rows for the raw table."""

    def __init__(self, households: int, communes: list[str], seed: int = 1) -> None:
        self.households = households
        self.communes = communes
        self.rng = random.Random(seed)
        self.counts = dict.fromkeys(STATUS_WEIGHTS, 0)
        self.rows: list[tuple[int, str, str, int]] = []  # (id, unit_path, status, members) for the raw table

    def events(self) -> list[bytes]:
        """The import's events, serialized (as the outbox holds them)."""
        out = []
        statuses, weights = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
        job = str(uuid.uuid4())
        for start in range(0, self.households, ITEMS_PER_EVENT):
            items = []
            for i in range(start, min(start + ITEMS_PER_EVENT, self.households)):
                path = self.communes[self.rng.randrange(len(self.communes))]
                status = self.rng.choices(statuses, weights)[0]
                members = 1 + int(self.rng.expovariate(1 / 2.6))
                self.counts[status] += 1
                self.rows.append((i, path, status, members))
                items.append({
                    "household_id": f"00000000-0000-7000-8000-{i:012d}", "assessment_id": str(i),
                    "review_year": YEAR, "status": status, "previous_status": None,
                    "transition": self.rng.choice(TRANSITIONS), "member_count": members,
                    "ethnic_minority": self.rng.random() < 0.15, "policy_family": self.rng.random() < 0.05,
                    "social_protection": self.rng.random() < 0.1,
                    "area": "urban" if self.rng.random() < 0.3 else "rural", "commune_code": path[-5:],
                    "standard": "decree_07_2021", "version": 1, "unit_path": path,
                })
            out.append(Event(type="registry.household.assessed_batch", producer="registry", subject_id=job,
                             unit_path=PROVINCE, unit_code="01", payload={"items": items}).to_bytes())
        return out


async def publish(js: nats.js.JetStreamContext, events: list[Event] | list[bytes], window: int = 32) -> None:
    pending = []
    for event in events:
        body = event if isinstance(event, bytes) else event.to_bytes()
        msg_id = str(uuid.uuid4()) if isinstance(event, bytes) else str(event.id)
        subject = "registry.household.assessed_batch" if isinstance(event, bytes) else event.subject
        pending.append(await js.publish_async(subject, body, headers={"Nats-Msg-Id": msg_id}))
        if len(pending) >= window:
            await asyncio.gather(*pending)
            pending = []
    await asyncio.gather(*pending)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def start_service(db_url: str, nats_url: str, public_pem: str, port: int, batch: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "REPORTING_DATABASE_URL": db_url, "REPORTING_NATS_URL": nats_url,
           "REPORTING_PRINCIPAL_PUBLIC_KEY": public_pem, "REPORTING_CONSUMER_BATCH_SIZE": str(batch),
           "REPORTING_LOG_LEVEL": "WARNING"}
    args = [sys.executable, "-m", "uvicorn", "--factory", "services.reporting.main:create_app", "--port", str(port),
            "--no-access-log", "--loop", "uvloop", "--http", "httptools"]
    return subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL)


async def wait_for(check: Callable[[], Awaitable[Any]], timeout: float, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(interval)
    raise TimeoutError("condition not met")


async def run(households: int, communes: int, consumer_batch: int) -> None:
    with bench_stack() as (pg_url, nats_url):
        db_url_s = await migrated_database(pg_url, "reporting", "bench_reporting")
        private_pem, public_pem = generate_keypair()
        signer = PrincipalSigner(private_pem, ttl_seconds=3600)
        officer = Principal(id="bench", role="province_officer", permissions=frozenset({"reporting.indicators.read"}),
                            scopes=(ScopeUnit("v2008", "01", PROVINCE, "province"),))
        headers = {PRINCIPAL_HEADER: signer.sign(officer)}
        nc = await nats.connect(nats_url)
        js = nc.jetstream(publish_async_max_pending=256)
        await ensure_streams(js)
        port = free_port()
        service = start_service(db_url_s, nats_url, public_pem, port, consumer_batch)
        proc = psutil.Process(service.pid)
        base = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
                await wait_for(lambda: _healthy(client), 60, 0.2)
                unit_events, commune_paths = province_units(communes)
                await publish(js, unit_events)
                await wait_for(lambda: _caught_up(client), 120, 0.2)
                print(f"units: 1 province, {len(unit_events) - 1 - len(commune_paths)} districts, "
                      f"{len(commune_paths)} communes")

                data = Import(households, commune_paths)
                started = time.perf_counter()
                events = data.events()
                generated = time.perf_counter()
                print(f"generated {households:,} households in {len(events)} events ({generated - started:.1f}s)")
                peak = [0]
                sampler = asyncio.create_task(_sample_rss(proc, peak))
                t0 = time.perf_counter()
                await publish(js, events)
                import_end = time.perf_counter()
                del events
                print(f"import published: {households / (import_end - t0):,.0f} households/s "
                      f"({import_end - t0:.1f}s for {households:,})")
                want = (households, data.counts["poor"], data.counts["near_poor"])
                await wait_for(lambda: _equal(client, want), 600, 0.1)
                equal_at = time.perf_counter()
                sampler.cancel()
                print(f"FRESHNESS: province indicators equal the import's counts {equal_at - import_end:.1f}s after "
                      f"the import's end (target <= 30 s); {households / (equal_at - t0):,.0f} households/s "
                      f"end to end; reporting service peak RSS {peak[0] / 2**20:.0f} MB "
                      f"(consumer batch {consumer_batch} messages)")
                await _query_figures(client, db_url_s, data)
        finally:
            service.terminate()
            service.wait(20)
            await nc.close()


async def _healthy(client: httpx.AsyncClient) -> bool:
    try:
        return (await client.get("/health")).status_code == 200
    except httpx.HTTPError:
        return False


async def _caught_up(client: httpx.AsyncClient) -> bool:
    return bool((await client.get("/reporting/status")).json()["caught_up"])


async def _equal(client: httpx.AsyncClient, want: tuple[int, int, int]) -> bool:
    unit = (await client.get("/reporting/indicators/poverty", params={"unit": "01", "year": YEAR})).json()["unit"]
    return (unit["households"], unit["poor"], unit["near_poor"]) == want


async def _sample_rss(proc: psutil.Process, peak: list[int]) -> None:
    while True:
        peak[0] = max(peak[0], proc.memory_info().rss)
        await asyncio.sleep(0.2)


async def _query_figures(client: httpx.AsyncClient, db_url: str, data: Import, runs: int = 300) -> None:
    params: dict[str, str | int] = {"unit": "01", "year": YEAR}
    body = (await client.get("/reporting/indicators/poverty", params=params)).json()
    for _ in range(20):
        await client.get("/reporting/indicators/poverty", params=params)
    http = []
    for _ in range(runs):
        t = time.perf_counter()
        response = await client.get("/reporting/indicators/poverty", params=params)
        http.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200
    db = Database(db_url, pool_size=2)
    sql = []
    async with db.system_session() as session:
        for _ in range(runs):
            t = time.perf_counter()
            await figures_by_child(session, PROVINCE, YEAR - 1, YEAR)
            sql.append((time.perf_counter() - t) * 1000)
    await db.dispose()
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    rows = await conn.fetchval("SELECT count(*) FROM rp_commune_year WHERE unit_path > $1", PROVINCE + ".")
    raw = await _raw_group_by(conn, data.rows)
    await conn.close()
    print(f"QUERY: province with {len(body['children'])} districts over {len(data.communes)} communes "
          f"({rows} aggregate rows): HTTP p50 {statistics.median(http):.1f} ms, p95 {percentile(http, 95):.1f} ms "
          f"(target <= 20 ms); SQL alone p50 {statistics.median(sql):.1f} ms, p95 {percentile(sql, 95):.1f} ms")
    print(f"RAW GROUP BY (commune, status) over {len(data.rows):,} household rows: "
          f"p50 {statistics.median(raw):.0f} ms, p95 {percentile(raw, 95):.0f} ms")


async def _raw_group_by(conn: asyncpg.Connection, rows: list[tuple[int, str, str, int]], runs: int = 15) -> list[float]:
    await conn.execute("""
        CREATE TABLE bench_households (id bigint PRIMARY KEY, unit_path varchar(160) COLLATE "C" NOT NULL,
                                       status varchar(16), member_count int NOT NULL)""")
    await conn.copy_records_to_table("bench_households", records=rows)
    await conn.execute("CREATE INDEX ON bench_households (unit_path)")
    await conn.execute("ANALYZE bench_households")
    query = ("SELECT unit_path, status, count(*), sum(member_count) FROM bench_households "
             "WHERE unit_path > $1 AND unit_path < $2 GROUP BY 1, 2")
    await conn.fetch(query, PROVINCE + ".", PROVINCE + "/")
    timings = []
    for _ in range(runs):
        t = time.perf_counter()
        await conn.fetch(query, PROVINCE + ".", PROVINCE + "/")
        timings.append((time.perf_counter() - t) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--communes", type=int, default=600)
    parser.add_argument("--consumer-batch", type=int, default=50, help="messages per consumer transaction")
    args = parser.parse_args()
    asyncio.run(run(args.households, args.communes, args.consumer_batch))


if __name__ == "__main__":
    main()
