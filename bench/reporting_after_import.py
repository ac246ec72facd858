"""Reporting figures after the REGISTRY's own import (issue 5), in one run:

The registry and the reporting service run as their own processes on one PostgreSQL and NATS. The
registry loads the administrative units (their ~14,000 `registry.unit.changed` events reach
reporting first), then imports N households (default 1,000,000) of Hà Nội and Bắc Giang from CSV
over HTTP (bench/import_households.py's file). Measured:

1. from the import's end (the job `completed`: its one transaction committed) until both provinces'
   indicators over HTTP equal the registry's own counts (a GROUP BY over its assessments). Target ≤ 30 s.
   The registry's outbox relay publishing the import's events is inside this time.
2. the province query (Hà Nội, its 30 districts over 579 communes) p50/p95 over HTTP, next to a raw
   GROUP BY (commune, status) over the registry's `household_assessments` table, in the same run.
   Target p95 ≤ 20 ms.
3. a rebuild of the projections from the stream (services.reporting.operations.rebuild) while the service runs,
   then the check against the registry's database (services.reporting.operations.check).

Usage: .venv/bin/python -m bench.reporting_after_import [--rows 1000000] [--seed 11]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.import_households import PROVINCES, MemorySampler, communes_of, generate_csv
from bench.import_households import start_service as start_registry
from bench.reporting_indicators import percentile, start_service, wait_for
from bench.stack import bench_stack, migrated_database
from devstack.embedded import free_port
from services.registry.units.load import load
from services.reporting.operations.check import check
from services.reporting.operations.rebuild import rebuild
from shared.db import asyncpg_dsn
from shared.permissions import IMPORTS_WRITE, INDICATORS_READ
from shared.principal import PRINCIPAL_HEADER, Principal, PrincipalSigner, ScopeUnit, generate_keypair

YEAR = 2024
_COUNTS = """
SELECT status, count(*) FROM household_assessments
WHERE unit_path > $1 AND unit_path < $2 AND review_year = $3 GROUP BY status
"""
_GROUP_BY = """
SELECT unit_path, status, count(*), sum(member_count) FROM household_assessments
WHERE unit_path > $1 AND unit_path < $2 AND review_year = $3 GROUP BY 1, 2
"""


async def registry_counts(conn: asyncpg.Connection, province: str) -> tuple[int, int, int]:
    rows = {r[0]: r[1] for r in await conn.fetch(_COUNTS, province + ".", province + "/", YEAR)}
    return sum(rows.values()), rows.get("poor", 0), rows.get("near_poor", 0)


async def indicators(client: httpx.AsyncClient, province: str) -> tuple[int, int, int]:
    response = await client.get("/reporting/indicators/poverty", params={"unit": province, "year": YEAR})
    unit = response.json()["unit"]
    return unit["households"], unit["poor"], unit["near_poor"]


async def unsent(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))


async def run(rows: int, seed: int) -> None:
    private_pem, public_pem = generate_keypair()
    signer = PrincipalSigner(private_pem, ttl_seconds=24 * 3600)
    officer = Principal(id="bench", role="province_officer", permissions=frozenset({IMPORTS_WRITE, INDICATORS_READ}),
                        scopes=tuple(ScopeUnit("v2008", p.split(".")[1], p, "province") for p in PROVINCES))
    headers = {PRINCIPAL_HEADER: signer.sign(officer)}
    workdir = Path(tempfile.mkdtemp(prefix="chungtay-bench-reporting-"))
    with bench_stack() as (pg_url, nats_url):
        registry_url = await migrated_database(pg_url, "registry", "bench_registry")
        await load(registry_url)  # the units and their events, which reporting needs first
        reporting_url = await migrated_database(pg_url, "reporting", "bench_reporting")
        csv_path = workdir / "households.csv"
        started = time.perf_counter()
        generate_csv(csv_path, rows, await communes_of(registry_url), seed)
        print(f"generated {rows:,} households of {', '.join(PROVINCES)} in {time.perf_counter() - started:.0f}s")

        registry_port, reporting_port = free_port(), free_port()
        registry = start_registry(registry_url, nats_url, registry_port, public_pem, workdir)
        reporting = start_service(reporting_url, nats_url, public_pem, reporting_port, batch=50)
        sampler = MemorySampler(reporting.pid)
        conn = await asyncpg.connect(asyncpg_dsn(registry_url))
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{registry_port}", headers=headers,
                                         timeout=600) as reg, \
                    httpx.AsyncClient(base_url=f"http://127.0.0.1:{reporting_port}", headers=headers,
                                      timeout=60) as rep:
                await wait_for(lambda: _healthy(reg), 120, 0.2)
                await wait_for(lambda: _healthy(rep), 120, 0.2)
                await wait_for(lambda: _units_applied(conn, rep), 300, 0.5)
                print("units: the registry's unit events are applied by reporting")
                sampler.start()
                job, import_seconds, import_end = await _import(reg, csv_path)
                print(f"registry import: {job['rows_stored']:,} households in {import_seconds:.1f}s, "
                      f"counts {job['counts']}")
                want = {p: await registry_counts(conn, p) for p in PROVINCES}

                async def equal() -> bool:
                    return all([await indicators(rep, p) == want[p] for p in PROVINCES])

                relayed_at: list[float] = []

                async def relayed() -> bool:
                    if not relayed_at and await unsent(conn) == 0:
                        relayed_at.append(time.perf_counter())
                    return bool(relayed_at)

                await wait_for(lambda: _both(relayed, equal), 900, 0.1)
                equal_at = time.perf_counter()
                sampler.stopped.set()
                print(f"FRESHNESS: both provinces' indicators equal the registry's counts {equal_at - import_end:.1f}s "
                      f"after the import's end (target <= 30 s); the registry's relay had published the import's "
                      f"events {relayed_at[0] - import_end:.1f}s after its end; reporting peak RSS "
                      f"{sampler.peak_rss / 2**20:.0f} MB")
                await _query_figures(rep, conn, PROVINCES[0])
                started = time.perf_counter()
                stats = await rebuild(reporting_url, nats_url, log=lambda _: None)
                rebuilt = time.perf_counter() - started
                differences = await check(reporting_url, registry_url=registry_url)
                print(f"REBUILD from the stream while the service runs: {stats['messages']:,} events in {rebuilt:.1f}s "
                      f"({stats['failed'] and len(stats['failed']) or 0} failed); check against the registry's "
                      f"database: {len(differences)} differences")
        finally:
            sampler.stopped.set()
            await conn.close()
            for process in (registry, reporting):
                process.terminate()
                process.wait(30)


async def _both(first: Callable[[], Awaitable[bool]], second: Callable[[], Awaitable[bool]]) -> bool:
    return bool(await first()) and bool(await second())


async def _healthy(client: httpx.AsyncClient) -> bool:
    try:
        return (await client.get("/health")).status_code == 200
    except httpx.HTTPError:
        return False


async def _units_applied(conn: asyncpg.Connection, rep: httpx.AsyncClient) -> bool:
    return await unsent(conn) == 0 and bool((await rep.get("/reporting/status")).json()["caught_up"])


async def _import(client: httpx.AsyncClient, csv_path: Path) -> tuple[dict[str, Any], float, float]:
    started = time.perf_counter()
    with csv_path.open("rb") as f:
        response = await client.post("/registry/imports", files={"file": ("bench.csv", f)})
    assert response.status_code == 202, response.text
    while True:
        job = (await client.get(f"/registry/imports/{response.json()['id']}", params={"errors_limit": 5})).json()
        if job["status"] not in ("pending", "running"):
            break
        await asyncio.sleep(0.1)
    ended = time.perf_counter()
    assert job["status"] == "completed", job
    return job, ended - started, ended


async def _query_figures(client: httpx.AsyncClient, conn: asyncpg.Connection, province: str, runs: int = 300) -> None:
    params: dict[str, str | int] = {"unit": province, "year": YEAR}
    body = (await client.get("/reporting/indicators/poverty", params=params)).json()
    for _ in range(20):
        await client.get("/reporting/indicators/poverty", params=params)
    http = []
    for _ in range(runs):
        t = time.perf_counter()
        await client.get("/reporting/indicators/poverty", params=params)
        http.append((time.perf_counter() - t) * 1000)
    raw = []
    for _ in range(15):
        t = time.perf_counter()
        await conn.fetch(_GROUP_BY, province + ".", province + "/", YEAR)
        raw.append((time.perf_counter() - t) * 1000)
    print(f"QUERY: {body['unit']['name']} ({body['unit']['households']:,} households), {len(body['children'])} "
          f"districts: HTTP p50 {statistics.median(http):.1f} ms, p95 {percentile(http, 95):.1f} ms (target <= 20 ms)")
    print(f"RAW GROUP BY (commune, status) over the registry's household_assessments, same province: "
          f"p50 {statistics.median(raw):.0f} ms, p95 {percentile(raw, 95):.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    asyncio.run(run(args.rows, args.seed))


if __name__ == "__main__":
    main()
