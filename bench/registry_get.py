"""Latency of `GET /registry/households/{id}` (a full record: members, decrypting citizen IDs, masking,
and one access-log row per read) at 200 concurrent requests. Target (issue 3): p99 ≤ 20 ms through
the gateway.

Two targets:
- direct (default): starts embedded PostgreSQL and NATS (or DATABASE_URL / NATS_URL), migrates a
  registry database, runs the registry service as its own uvicorn process (uvloop, httptools), seeds
  households through its API, and calls it with a principal signed like the gateway signs it;
- `--gateway URL`: a running platform (`make run`): signs in with `--username/--password`
  (OAuth2 password grant at /auth/token), seeds households in the user's commune if it has too few,
  and calls through the gateway. The gateway limits requests per principal per minute: run the
  platform with GATEWAY_REQUESTS_PER_PRINCIPAL_PER_MINUTE=0 for a clean figure.

The load generator shares the machine's cores with the server: the figures are pessimistic.
Closed loop, 200 requests are always in flight, so by Little's law the mean latency is 200 / throughput:
p99 ≤ 20 ms there needs more than 10,000 answers a second. `--rate` adds open-loop runs (requests
arrive at a fixed rate, as from many users) that show the latency at a load the service sustains.
When `wrk` is installed (Debian's package; `bash devstack/ensure_tools.sh` installs it) the closed
loop is also driven by it: a C load generator takes less of the shared cores than the Python one.

Usage: .venv/bin/python -m bench.registry_get [--requests 20000] [--concurrency 200] [--households 500]
                                             [--workers 2] [--rate 50 100]
       .venv/bin/python -m bench.registry_get --gateway http://127.0.0.1:8000 --username commune.07207 --password demo
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
import asyncpg
import httpx
import psutil
from sqlalchemy.engine import make_url

from bench.stack import bench_stack
from devstack.embedded import free_port
from devstack.migrate import upgrade_async
from shared.crypto import generate_key
from shared.db import asyncpg_dsn
from shared.migrations import service_database_url
from shared.principal import PRINCIPAL_HEADER, Principal, PrincipalSigner, ScopeUnit, generate_keypair
from shared.scope import split_path

COMMUNE = ("v2008.24.213.07702", "07702", "Xã Quỳnh Sơn")
UNITS = [  # path, hierarchy, code, name, name_search, type, level, parent, urban
    ("v2008.24", "v2008", "24", "Tỉnh Bắc Giang", "tinh bac giang", "Tỉnh", "province", None, None),
    ("v2008.24.213", "v2008", "213", "Thành phố Bắc Giang", "thanh pho bac giang", "Thành phố", "district",
     "v2008.24", None),
    (COMMUNE[0], "v2008", COMMUNE[1], COMMUNE[2], "xa quynh son", "Xã", "commune", "v2008.24.213", False),
]


def household(i: int, commune_code: str) -> dict[str, Any]:
    members = [{"full_name": f"Nguyễn Văn Chủ {i}", "citizen_id": f"0{24_000_000_000 + i * 8:011d}",
                "birth_date": "1970-01-01", "sex": "male", "ethnicity": "Kinh", "relation": "head"}]
    members += [{"full_name": f"Nguyễn Thị Con {i}-{k}", "citizen_id": f"0{24_000_000_000 + i * 8 + k:011d}",
                 "birth_date": "2005-05-05", "sex": "female", "relation": "child"} for k in range(1, 4)]
    return {"household_code": f"BENCH-{i:06d}", "commune_code": commune_code, "village": "Thôn Bench",
            "members": members}


async def seed(base: str, headers: dict[str, str], commune_code: str, n: int, start: int = 0) -> None:
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        for chunk in range(start, start + n, 20):
            answers = await asyncio.gather(*(client.post("/registry/households", json=household(i, commune_code))
                                             for i in range(chunk, min(chunk + 20, start + n))))
            bad = [a for a in answers if a.status_code not in (201, 409)]
            if bad:
                raise RuntimeError(f"seeding failed: {bad[0].status_code} {bad[0].text}")


async def household_ids(base: str, headers: dict[str, str], limit: int) -> list[str]:
    ids: list[str] = []
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        while len(ids) < limit:
            page = (await client.get("/registry/households", params={"limit": 1000, "offset": len(ids)})).json()
            ids += [h["id"] for h in page["items"]]
            if len(page["items"]) < 1000:
                break
    return ids[:limit]


async def hammer(base: str, headers: dict[str, str], ids: list[str], requests: int, concurrency: int,
                 rate: float | None) -> tuple[list[float], Counter[int], float]:
    """Closed loop (`rate` None): `concurrency` clients back to back. Open loop: requests start at a fixed
    rate whatever the answers take, as users do (latency then includes queueing when the rate is too high)."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    async with aiohttp.ClientSession(base, headers=headers, connector=connector) as session:

        async def worker(jobs: Iterator[int]) -> None:
            for _ in jobs:
                url = f"/registry/households/{random.choice(ids)}"
                started = time.perf_counter()
                async with session.get(url) as response:
                    await response.read()
                    statuses[response.status] += 1
                latencies.append(time.perf_counter() - started)

        # Warm up connections, caches and the principal check before timing.
        warm = iter(range(min(1000, requests)))
        await asyncio.gather(*(worker(warm) for _ in range(concurrency)))
        latencies.clear()
        statuses.clear()
        started = time.perf_counter()
        if rate is None:
            jobs = iter(range(requests))
            await asyncio.gather(*(worker(jobs) for _ in range(concurrency)))
        else:
            tasks = []
            for i in range(requests):
                delay = started + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(worker(iter((i,)))))
            await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
    return latencies, statuses, elapsed


def report(target: str, latencies: list[float], statuses: Counter[int], elapsed: float, load: str) -> None:
    ms = sorted(x * 1000 for x in latencies)

    def pct(p: float) -> float:
        return ms[min(len(ms) - 1, int(len(ms) * p))]

    print(f"GET /registry/households/{{id}} via {target}: {len(ms)} requests, {load}")
    print(f"  throughput {len(ms) / elapsed:,.0f} req/s;  statuses {dict(statuses)}")
    print(f"  latency ms: p50 {pct(0.50):.1f}  p90 {pct(0.90):.1f}  p99 {pct(0.99):.1f}  max {ms[-1]:.1f}  "
          f"mean {statistics.fmean(ms):.1f}")
    print(f"  p99 target ≤ 20 ms: {'met' if pct(0.99) <= 20 else 'NOT met'}")


def closed_loop_wrk(base: str, headers: dict[str, str], ids: list[str], concurrency: int, target: str) -> None:
    """The same closed loop driven by wrk (C, one thread per core): the Python client above takes CPU
    and adds its own scheduling delays to the figures; this one shows what the service gives."""
    ids_lua = ", ".join(f'"{i}"' for i in ids)
    script = (f"local ids = {{{ids_lua}}}\n"
              "request = function()\n"
              '  return wrk.format("GET", "/registry/households/" .. ids[math.random(#ids)])\n'
              "end\n")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    try:
        command = ["wrk", "-t2", f"-c{concurrency}", "-d10s", "--latency", "-s", file.name]
        for name, value in headers.items():
            command += ["-H", f"{name}: {value}"]
        out = subprocess.run([*command, base], capture_output=True, text=True, timeout=60).stdout
    finally:
        os.unlink(file.name)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    percentiles = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)$", out, re.MULTILINE))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: .*", out)
    print(f"GET /registry/households/{{id}} via {target}, closed loop driven by wrk: {concurrency} connections, 10 s")
    print(f"  throughput {float(rate.group(1)) if rate else 0:,.0f} req/s;  latency p50 {percentiles.get('50')}  "
          f"p90 {percentiles.get('90')}  p99 {percentiles.get('99')}" + (f";  {errors.group(0)}" if errors else ""))


@contextmanager
def registry_process(db_url: str, nats_url: str, public_pem: str, port: int,
                     workers: int) -> Iterator[tuple[str, int]]:
    env = {**os.environ, "REGISTRY_DATABASE_URL": db_url, "REGISTRY_NATS_URL": nats_url,
           "REGISTRY_PRINCIPAL_PUBLIC_KEY": public_pem, "REGISTRY_PERSONAL_DATA_KEY": generate_key(),
           "REGISTRY_PERSONAL_DATA_HASH_KEY": generate_key(), "REGISTRY_LOG_LEVEL": "WARNING",
           "REGISTRY_DB_POOL_SIZE": os.environ.get("REGISTRY_DB_POOL_SIZE", "20")}
    args = [sys.executable, "-m", "uvicorn", "--factory", "services.registry.main:create_app", "--host", "127.0.0.1",
            "--port", str(port), "--no-access-log", "--loop", "uvloop", "--http", "httptools",
            "--log-level", "warning", "--workers", str(workers)]
    process = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError("the registry service did not start")
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(15)


async def drop_database(db_url: str) -> None:
    url = make_url(db_url)
    admin = await asyncpg.connect(asyncpg_dsn(url.set(database="postgres").render_as_string(hide_password=False)))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    finally:
        await admin.close()


async def direct(args: argparse.Namespace) -> None:
    with bench_stack() as (pg_url, nats_url):
        # A database of its own (never the platform's chungtay_registry), dropped at the end.
        db_url = make_url(service_database_url(pg_url, "registry")).set(
            database=f"bench_registry_{uuid.uuid4().hex[:8]}").render_as_string(hide_password=False)
        try:
            await direct_on(args, db_url, nats_url)
        finally:
            await drop_database(db_url)


async def direct_on(args: argparse.Namespace, db_url: str, nats_url: str) -> None:
    await upgrade_async("registry", db_url)
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    await conn.executemany("INSERT INTO units (path, hierarchy, code, name, name_search, type, level, parent_path, "
                           "urban) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING", UNITS)
    await conn.close()
    private_pem, public_pem = generate_keypair()
    hierarchy, codes = split_path(COMMUNE[0])
    principal = Principal(id="bench-officer", role="commune_officer", permissions=frozenset({"*"}),
                          scopes=(ScopeUnit(hierarchy, codes[-1], COMMUNE[0], "commune"),))
    headers = {PRINCIPAL_HEADER: PrincipalSigner(private_pem, ttl_seconds=3600).sign(principal)}
    with registry_process(db_url, nats_url, public_pem, free_port(), args.workers) as (base, pid):
        await seed(base, headers, COMMUNE[1], args.households)
        ids = await household_ids(base, headers, args.households)
        await measure(args, f"the registry service directly ({args.workers} uvicorn worker)", base, headers, ids,
                      pid)


def cpu_seconds(pid: int | None) -> float:
    """CPU time of the service process and its workers: a cost per request that contention does not hide."""
    if pid is None:
        return 0.0
    process = psutil.Process(pid)
    total = 0.0
    for p in [process, *process.children(recursive=True)]:
        times = p.cpu_times()
        total += times.user + times.system
    return total


async def measure(args: argparse.Namespace, target: str, base: str, headers: dict[str, str], ids: list[str],
                  pid: int | None = None) -> None:
    cpu = cpu_seconds(pid)
    latencies, statuses, elapsed = await hammer(base, headers, ids, args.requests, args.concurrency, None)
    report(f"{target}, closed loop", latencies, statuses, elapsed, f"{args.concurrency} concurrent")
    if pid is not None:
        used = cpu_seconds(pid) - cpu
        print(f"  service CPU {used / len(latencies) * 1000:.2f} ms per request (incl. warm-up); "
              f"machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if shutil.which("wrk"):
        closed_loop_wrk(base, headers, ids, args.concurrency, target)
    for rate in args.rate:
        latencies, statuses, elapsed = await hammer(base, headers, ids, min(args.requests, int(rate * 30)),
                                                    args.concurrency, rate)
        report(f"{target}, open loop", latencies, statuses, elapsed, f"{rate:g} req/s offered")


async def through_gateway(args: argparse.Namespace) -> None:
    base = args.gateway.rstrip("/")
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        token = await client.post("/auth/token", data={"grant_type": "password", "username": args.username,
                                                       "password": args.password})
        token.raise_for_status()
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        me = (await client.get("/registry/principal", headers=headers)).json()
    commune = next((s for s in me["scopes"] if s.get("level") == "commune"), None)
    ids = await household_ids(base, headers, args.households)
    if len(ids) < args.households and commune:
        await seed(base, headers, commune["code"], args.households - len(ids), start=900_000)
        ids = await household_ids(base, headers, args.households)
    if not ids:
        raise SystemExit("no households visible to this user; sign in as a commune officer")
    await measure(args, f"the gateway {base}", base, headers, ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--households", type=int, default=500)
    parser.add_argument("--rate", type=float, nargs="*", default=[],
                        help="also measure at these offered rates (req/s, open loop, 30 s or --requests each)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of the service (direct target)")
    parser.add_argument("--gateway", help="URL of a running gateway (make run); default: the service directly")
    parser.add_argument("--username", default="commune.07207")
    parser.add_argument("--password", default=os.environ.get("CHUNGTAY_DEMO_PASSWORD", "demo"))
    args = parser.parse_args()
    asyncio.run(through_gateway(args) if args.gateway else direct(args))


if __name__ == "__main__":
    main()
