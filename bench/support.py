"""The support service's figures (issue 11), measured against a running service process (uvicorn)
on embedded PostgreSQL and NATS (or DATABASE_URL / NATS_URL):

- import: household deliveries imported from a CSV file end to end (upload, every row checked,
  COPY, history, batch events), as rows/s, against the database's own COPY of the same rows into the
  same tables (`deliveries`, `delivery_history`) in the same run, timed once the relay has published
  the import's events. Target: ≥ 50 % of COPY's rate. Also the CPU each side took (the service with
  its worker, the database's processes; psutil), which a shared machine hides less than the rates.
- fund: 50 concurrent clients spending 1,000 VND at a time from one fund holding 6,000 such spends until
  it is empty (each client stops at its first 409) or 30 s have passed: negative balances (0), the sum
  of accepted spends = opening − closing exactly, accepted spends/s (≥ 300).
- delivery: `POST /support/deliveries` (eligibility checked against the read model) at a fixed
  offered rate, open loop (requests leave on schedule whatever the answers do): p50/p95/p99, the rate
  answered and the service's CPU per delivery (also as ratios to the baseline read's in the same run).
  Target: p99 ≤ 25 ms at 100 requests/s, through the gateway (`--gateway`: timed directly, with a
  principal signed like the gateway signs it, and then through the gateway with a bearer token).
- read model: registry status changes (`registry.household.assessed`) published on NATS at a fixed
  rate; the time from the event's `occurred_at` to the consumer's commit into `sp_households`
  (`applied_at`): p50/p99. Target: p99 ≤ 2 s.

The load generator shares the machine's cores with the service and the database: the figures are
pessimistic on a loaded machine. Prints the machine's load average with them.

Usage: .venv/bin/python -m bench.support [--import-rows 200000] [--households 20000] [--rate 100]
                                         [--seconds 20] [--events 2000] [--event-rate 200] [--fund-clients 50]
A part is skipped with 0 (e.g. only the delivery: --import-rows 0 --events 0 --fund-clients 0).
`--gateway` starts the gateway in front of the service too and times the delivery both ways (a demo
province officer's token through the gateway). `--profile FILE` runs the service under cProfile (CPU
clock, bench/profiled.py) and writes its stats there.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
import httpx
import nats
import orjson
import psutil

from bench.openloop import open_loop
from bench.stack import bench_stack, migrated_database, wait_healthy
from devstack.embedded import free_port
from devstack.migrate import upgrade_async
from gateway import bootstrap as gateway_bootstrap
from services.support import bootstrap
from services.support.imports.rules import COLUMNS
from shared.db import asyncpg_dsn
from shared.events import Event
from shared.migrations import service_database_url
from shared.principal import PRINCIPAL_HEADER, Principal, PrincipalSigner, ScopeUnit, generate_keypair
from shared.streams import ensure_streams

PROVINCE, DISTRICT = "v2008.24", "v2008.24.213"
COMMUNES = [f"{DISTRICT}.{7207 + 3 * i:05d}" for i in range(10)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] if ordered else float("nan")


async def prepare(server_url: str, households: int) -> tuple[str, list[tuple[str, str, str]]]:
    """A migrated support database with the catalogue, the units and `households` poor households in
    the read model (as the registry's events would have left them)."""
    db_url = await migrated_database(server_url, "support", "bench_support")
    await bootstrap.run(db_url)
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        units = [(PROVINCE, "v2008", "24", "province", "Tỉnh Bắc Giang", None),
                 (DISTRICT, "v2008", "213", "district", "Thành phố Bắc Giang", PROVINCE)]
        units += [(p, "v2008", p.rsplit(".", 1)[-1], "commune", f"Phường {i}", DISTRICT)
                  for i, p in enumerate(COMMUNES)]
        await conn.executemany("INSERT INTO sp_units (path, hierarchy, code, level, name, parent_path, version) "
                               "VALUES ($1, $2, $3, $4, $5, $6, 1)", units)
        now = datetime.now(UTC)
        people = [(uuid.uuid4(), COMMUNES[i % len(COMMUNES)], f"BH-{i:07d}") for i in range(households)]
        await conn.copy_records_to_table("sp_households", columns=(
            "id", "unit_path", "household_code", "commune_code", "status", "status_year", "member_count", "removed",
            "version", "changed_at", "applied_at"), records=[
            (h, path, code, path.rsplit(".", 1)[-1], "poor", 2024, 4, False, 1, now, now) for h, path, code in people])
        await conn.execute("DELETE FROM outbox")  # the catalogue's own events are not this bench's business
    finally:
        await conn.close()
    return db_url, [(str(h), p, c) for h, p, c in people]


def start_service(db_url: str, nats_url: str, port: int, public_pem: str,
                  profile: str | None = None) -> subprocess.Popen[bytes]:
    """The service as its own uvicorn process; with `profile`, under cProfile writing its stats there on exit."""
    env = {**os.environ, "SUPPORT_DATABASE_URL": db_url, "SUPPORT_NATS_URL": nats_url,
           "SUPPORT_PRINCIPAL_PUBLIC_KEY": public_pem, "SUPPORT_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    runner = ["-m", "bench.profiled", profile] if profile else ["-m", "uvicorn"]
    return subprocess.Popen([sys.executable, *runner, "--factory", "services.support.main:create_app",
                             "--port", str(port), "--log-level", "warning", "--no-access-log",
                             "--timeout-keep-alive", "120"], env=env,
                            stdin=subprocess.DEVNULL)


def cpu_seconds(pid: int) -> float:
    """CPU time the service process has used: a cost per request that sharing the cores does not hide."""
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def tree_cpu(pid: int | None) -> float:
    """CPU time of a process and its descendants, those that ended included once reaped (the import's
    worker under the service's forkserver, PostgreSQL's backends under the postmaster)."""
    if pid is None:
        return float("nan")
    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            t = process.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
    return total


async def postmaster(conn: asyncpg.Connection) -> int | None:
    """The database server's pid when it runs on this machine (its CPU is then counted), else None."""
    with contextlib.suppress(psutil.Error):
        parent = psutil.Process(await conn.fetchval("SELECT pg_backend_pid()")).parent()
        return parent.pid if parent is not None else None
    return None


# ---- import -------------------------------------------------------------------------------------------
def import_csv(people: list[tuple[str, str, str]], rows: int, seed: int) -> bytes:
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([title for _, title in COLUMNS])
    start = date(2024, 1, 1)
    for i in range(rows):
        _, path, code = people[rng.randrange(len(people))]
        day = (start + timedelta(days=rng.randrange(300))).isoformat()
        if i % 2:
            writer.writerow([path.rsplit(".", 1)[-1], code, "electricity", day, "kwh", "90", "150000",
                             "state_central", "dien_luc", "4", "", ""])
        else:
            writer.writerow([path.rsplit(".", 1)[-1], code, "tet_gifts", day, "portion", "1", "500000",
                             "vnn_fund_district=300000; enterprise=200000", "mttq", "", "Quà Tết", ""])
    return out.getvalue().encode()


async def bench_import(client: httpx.AsyncClient, headers: dict[str, str], db_url: str,
                       people: list[tuple[str, str, str]], rows: int, service_pid: int) -> dict[str, float]:
    data = import_csv(people, rows, seed=11)
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    server = await postmaster(conn)
    await conn.close()
    service_cpu, db_cpu = tree_cpu(service_pid), tree_cpu(server)
    started = time.perf_counter()
    response = await client.post("/support/imports", headers=headers, files={"file": ("bench.csv", data)},
                                 timeout=1800)
    elapsed = time.perf_counter() - started
    service_cpu, db_cpu = tree_cpu(service_pid) - service_cpu, tree_cpu(server) - db_cpu
    assert response.status_code == 201, response.text[:500]
    job = response.json()["id"]
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        # The relay publishes the import's events meanwhile: the COPY below is timed once it is done.
        while await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        relayed = time.perf_counter() - started - elapsed
        # The same rows, as the database holds them, COPYed back into the same tables (indexes and all).
        saved: dict[str, bytes] = {}
        for table in ("deliveries", "delivery_history"):
            buffer = io.BytesIO()
            where = f"import_job_id = '{job}'" if table == "deliveries" else \
                f"delivery_id IN (SELECT id FROM deliveries WHERE import_job_id = '{job}')"
            await conn.copy_from_query(f"SELECT * FROM {table} WHERE {where}", output=buffer, format="text")
            saved[table] = buffer.getvalue()
        await conn.execute(f"DELETE FROM delivery_history WHERE delivery_id IN "
                           f"(SELECT id FROM deliveries WHERE import_job_id = '{job}')")
        await conn.execute(f"DELETE FROM deliveries WHERE import_job_id = '{job}'")
        await conn.execute("VACUUM deliveries")
        await conn.execute("VACUUM delivery_history")
        await conn.execute("CHECKPOINT")
        copy_cpu = tree_cpu(server)
        async with conn.transaction():
            copy_started = time.perf_counter()
            for table in ("deliveries", "delivery_history"):
                await conn.copy_to_table(table, source=io.BytesIO(saved[table]), format="text")
            copy_elapsed = time.perf_counter() - copy_started
        copy_cpu = tree_cpu(server) - copy_cpu
        events = await conn.fetchval("SELECT count(*) FROM outbox WHERE subject = 'support.delivery.recorded_batch'")
    finally:
        await conn.close()
    return {"rows": rows, "import_s": elapsed, "import_rate": rows / elapsed, "copy_s": copy_elapsed,
            "copy_rate": rows / copy_elapsed, "ratio": copy_elapsed / elapsed, "events": events,
            "mb": len(data) / 1e6, "relayed_s": relayed, "service_cpu": service_cpu, "db_cpu": db_cpu,
            "copy_cpu": copy_cpu}


# ---- fund ---------------------------------------------------------------------------------------------
async def bench_fund(client: httpx.AsyncClient, headers: dict[str, str], db_url: str, clients: int = 50,
                     opening: int = 6_000_000, amount: int = 1_000, seconds: float = 30.0) -> dict[str, Any]:
    fund = (await client.post("/support/funds", headers=headers, json={"unit": "213", "hierarchy": "v2008"})).json()
    fund_id = fund["id"]
    donated = await client.post(f"/support/funds/{fund_id}/donations", headers=headers, json={
        "amount_vnd": opening, "occurred_on": "2024-10-17", "donor_name": "Bench"})
    assert donated.status_code == 201, donated.text
    accepted, refused, errors = 0, 0, 0
    url = f"{client.base_url}/support/funds/{fund_id}/spends"
    spend_headers = headers | {"content-type": "application/json"}
    me = psutil.Process()

    async def spender(session: aiohttp.ClientSession, i: int) -> None:
        nonlocal accepted, refused, errors
        body = orjson.dumps({"amount_vnd": amount, "occurred_on": "2024-11-01", "purpose": f"Chi {i}"})
        while time.perf_counter() < deadline:
            async with session.post(url, headers=spend_headers, data=body) as response:
                await response.read()
                status = response.status
            if status == 201:
                accepted += 1
            elif status == 409:
                refused += 1
                return
            else:
                errors += 1

    # aiohttp: the lighter client (as the delivery's), so that the load generator takes less of the cores
    # the service and the database share with it.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients)) as session:
        client_cpu = sum(me.cpu_times()[:2])
        deadline = time.perf_counter() + seconds
        started = time.perf_counter()
        await asyncio.gather(*(spender(session, i) for i in range(clients)))
        client_cpu = sum(me.cpu_times()[:2]) - client_cpu
    elapsed = time.perf_counter() - started
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        closing = await conn.fetchval("SELECT balance_vnd FROM funds WHERE id = $1", uuid.UUID(fund_id))
        negative = await conn.fetchval("SELECT count(*) FROM fund_entries WHERE fund_id = $1 AND balance_after < 0",
                                       uuid.UUID(fund_id))
        spent = await conn.fetchval("SELECT -sum(amount_vnd) FROM fund_entries WHERE fund_id = $1 AND kind = 'spend'",
                                    uuid.UUID(fund_id))
    finally:
        await conn.close()
    return {"clients": clients, "accepted": accepted, "refused": refused, "errors": errors, "seconds": elapsed,
            "rate": accepted / elapsed, "client_cpu": client_cpu / max(accepted, 1), "opening": opening,
            "closing": closing, "negative": negative,
            "consistent": opening - closing == accepted * amount == spent}


# ---- one delivery at a fixed rate ------------------------------------------------------------------
async def bench_delivery(url: str, headers: dict[str, str], people: list[tuple[str, str, str]], rate: int,
                         seconds: int, pids: list[int]) -> dict[str, Any]:
    """`POST url` at `rate`/s, open loop (aiohttp: a lighter client than httpx on the shared cores); the
    CPU per delivery of the processes `pids` (the service, and the gateway when going through it)."""
    rng = random.Random(5)
    headers = headers | {"content-type": "application/json"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1000)) as session:
        async def one() -> int:
            household = people[rng.randrange(len(people))][0]
            body = orjson.dumps({"household_id": household, "programme": "bhyt_poor", "delivered_on": "2024-02-01",
                                 "quantities": [{"measure": "card", "quantity": 4}], "body": "bhxh"})
            try:
                async with session.post(url, headers=headers, data=body) as response:
                    await response.read()
                    return response.status
            except aiohttp.ClientError:
                return 0  # counted, never hidden

        for _ in range(20):  # warm-up
            await one()
        cpu_before = [cpu_seconds(pid) for pid in pids]
        run = await open_loop(one, rate, seconds)
    latencies = [s * 1000 for s in run.latencies]
    statuses = dict(Counter(run.outcomes))  # in the order each status first came
    cpu = [(cpu_seconds(pid) - before) / len(latencies) for pid, before in zip(pids, cpu_before, strict=True)]
    return {"rate": rate, "requests": len(latencies), "statuses": statuses, "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95), "p99": percentile(latencies, 99), "max": max(latencies),
            "answered_rate": len(latencies) / run.elapsed, "cpu": cpu[0],
            "gateway_cpu": cpu[1] if len(cpu) > 1 else None}


# ---- the gateway in front of the service (--gateway) ------------------------------------------------
async def prepare_gateway(pg_url: str) -> str:
    os.environ.setdefault("CHUNGTAY_DEMO_PASSWORD", "demo")
    url = service_database_url(pg_url, "gateway")
    await upgrade_async("gateway", url)
    await gateway_bootstrap.run(url)
    return url


def start_gateway(db_url: str, nats_url: str, port: int, support_port: int, private_pem: str,
                  public_pem: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "GATEWAY_DATABASE_URL": db_url, "GATEWAY_NATS_URL": nats_url,
           "GATEWAY_PRINCIPAL_PRIVATE_KEY": private_pem, "GATEWAY_PRINCIPAL_PUBLIC_KEY": public_pem,
           "GATEWAY_UPSTREAM_SUPPORT": f"http://127.0.0.1:{support_port}",
           # The limiter stays on the hot path, with a limit the bench never reaches (as bench/platform.py).
           "GATEWAY_REQUESTS_PER_PRINCIPAL_PER_MINUTE": "1000000000",
           "GATEWAY_TOKEN_REQUESTS_PER_IP_PER_MINUTE": "1000000000", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "gateway.main:create_app",
                             "--port", str(port), "--log-level", "warning", "--no-access-log",
                             "--timeout-keep-alive", "120"], env=env, stdin=subprocess.DEVNULL)


async def gateway_headers(client: httpx.AsyncClient) -> dict[str, str]:
    """A province officer's bearer token (demo account `province.24`: Bắc Giang, the bench's province),
    once the gateway knows the support service's routes."""
    await wait_healthy(client, "the gateway", 600)
    form = {"grant_type": "password", "username": "province.24", "password": os.environ["CHUNGTAY_DEMO_PASSWORD"]}
    token = (await client.post("/auth/token", data=form)).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(60):  # the gateway reads a service's routes at start, or when first asked (every 2 s at most)
        answer = await client.get("/support/catalogue", headers=headers, params={"catalogue": "measure"})
        if answer.status_code == 200:
            return headers
        await asyncio.sleep(0.5)
    raise RuntimeError("the gateway does not reach the support service")


# ---- the machine's baseline in the same run -------------------------------------------------------
async def bench_baseline(client: httpx.AsyncClient, headers: dict[str, str], seconds: float = 5.0,
                         concurrency: int = 50) -> float:
    """Closed-loop requests/s of the service's lightest read that touches the database (the measures
    list: one query): what this machine gives the service right now, to read the other figures by."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def reader() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            response = await client.get("/support/catalogue", headers=headers, params={"catalogue": "measure"})
            done += response.status_code == 200

    started = time.perf_counter()
    await asyncio.gather(*(reader() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


# ---- registry status change → read model ------------------------------------------------------------
async def bench_read_model(nats_url: str, db_url: str, people: list[tuple[str, str, str]], count: int,
                           rate: int) -> dict[str, Any]:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js)
    chosen = people[:count]
    try:
        started = time.perf_counter()
        for i, (household, path, _) in enumerate(chosen):
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            event = Event(type="registry.household.assessed", producer="registry", subject_id=household,
                          unit_code=path.rsplit(".", 1)[-1], unit_path=path, version=2, payload={
                              "household_id": household, "assessment_id": str(uuid.uuid4()), "review_year": 2025,
                              "status": "near_poor", "previous_status": "poor", "transition": "escaped_poverty",
                              "member_count": 4, "ethnic_minority": False, "policy_family": False,
                              "social_protection": False, "area": "urban", "commune_code": path.rsplit(".", 1)[-1],
                              "standard": "decree_07_2021"})
            await js.publish(event.subject, event.to_bytes(), headers={"Nats-Msg-Id": str(event.id)})
    finally:
        await nc.close()
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        ids = [uuid.UUID(h) for h, _, _ in chosen]
        for _ in range(600):
            done = await conn.fetchval("SELECT count(*) FROM sp_households WHERE id = ANY($1) AND version = 2", ids)
            if done == len(ids):
                break
            await asyncio.sleep(0.1)
        rows = await conn.fetch("SELECT extract(epoch FROM applied_at - changed_at) AS lag FROM sp_households "
                                "WHERE id = ANY($1) AND version = 2", ids)
    finally:
        await conn.close()
    lags = [float(r["lag"]) * 1000 for r in rows]
    return {"events": count, "rate": rate, "applied": len(lags), "p50": percentile(lags, 50),
            "p99": percentile(lags, 99), "max": max(lags) if lags else float("nan")}


async def main(args: argparse.Namespace) -> None:
    private_pem, public_pem = generate_keypair()
    principal = Principal(id="bench", role="province_officer", permissions=frozenset({"*"}),
                          scopes=(ScopeUnit("v2008", "24", PROVINCE, "province"),))
    headers = {PRINCIPAL_HEADER: PrincipalSigner(private_pem, ttl_seconds=24 * 3600).sign(principal)}
    with bench_stack() as (pg_url, nats_url):
        db_url, people = await prepare(pg_url, args.households)
        port = free_port()
        service = start_service(db_url, nats_url, port, public_pem, args.profile)
        gateway, gateway_port, via_headers = None, free_port(), headers
        if args.gateway:
            gateway = start_gateway(await prepare_gateway(pg_url), nats_url, gateway_port, port, private_pem,
                                    public_pem)
        try:
            limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120, limits=limits) as client:
                await wait_healthy(client, "the support service", 600)
                if gateway is not None:
                    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{gateway_port}", timeout=30) as via:
                        via_headers = await gateway_headers(via)
                if args.profile:
                    service.send_signal(signal.SIGUSR1)  # start profiling (bench/profiled.py)
                print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()}")
                cpu_before = cpu_seconds(service.pid)
                started = time.perf_counter()
                baseline = await bench_baseline(client, headers)
                read_cpu = (cpu_seconds(service.pid) - cpu_before) / (baseline * (time.perf_counter() - started))
                print(f"baseline: GET /support/catalogue?catalogue=measure (one query), 50 concurrent, closed loop: "
                      f"{baseline:.0f} requests/s; service CPU {read_cpu * 1000:.2f} ms/request")
                if args.events:
                    rm = await bench_read_model(nats_url, db_url, people, min(args.events, len(people)),
                                                args.event_rate)
                    print(f"read model: {rm['applied']}/{rm['events']} status changes at {rm['rate']}/s offered; "
                          f"event → sp_households p50 {rm['p50']:.0f} ms, p99 {rm['p99']:.0f} ms, "
                          f"max {rm['max']:.0f} ms (target p99 ≤ 2,000 ms)")
                if args.rate:
                    # Households the read-model run left poor (it moved the first `--events` ones out).
                    poor = people[args.events:] or people
                    runs = [("direct", f"http://127.0.0.1:{port}", headers, [service.pid])]
                    if gateway is not None:
                        runs.append(("through the gateway", f"http://127.0.0.1:{gateway_port}", via_headers,
                                     [service.pid, gateway.pid]))
                    for how, base, how_headers, pids in runs:
                        d = await bench_delivery(base + "/support/deliveries", how_headers, poor, args.rate,
                                                 args.seconds, pids)
                        gateway_cpu = (f"; gateway CPU {d['gateway_cpu'] * 1000:.2f} ms/delivery"
                                       if d["gateway_cpu"] is not None else "")
                        print(f"delivery ({how}): {d['requests']} POST /support/deliveries at {d['rate']}/s offered "
                              f"(open loop), statuses {d['statuses']}; p50 {d['p50']:.1f} ms, p95 {d['p95']:.1f} ms, "
                              f"p99 {d['p99']:.1f} ms, max {d['max']:.1f} ms (target p99 ≤ 25 ms); answered "
                              f"{d['answered_rate']:.0f}/s = {d['answered_rate'] / baseline:.2f} × the baseline "
                              f"read's rate; service CPU {d['cpu'] * 1000:.2f} ms/delivery = "
                              f"{d['cpu'] / read_cpu:.2f} × the read's{gateway_cpu}; load {os.getloadavg()[0]:.1f}")
                if args.fund_clients:
                    cpu_before = cpu_seconds(service.pid)
                    f = await bench_fund(client, headers, db_url, clients=args.fund_clients)
                    spend_cpu = (cpu_seconds(service.pid) - cpu_before) / max(f['accepted'], 1)
                    print(f"fund: {f['clients']} clients, {f['accepted']} spends accepted in {f['seconds']:.1f} s = "
                          f"{f['rate']:.0f} spends/s (target ≥ 300) = {f['rate'] / baseline:.2f} × the baseline "
                          f"read's rate; service CPU {spend_cpu * 1000:.2f} ms/spend = "
                          f"{spend_cpu / read_cpu:.2f} × the read's; load generator CPU "
                          f"{f['client_cpu'] * 1000:.2f} ms/spend; negative balances {f['negative']}; "
                          f"opening {f['opening']:,} − closing {f['closing']:,} = accepted × 1,000: "
                          f"{f['consistent']}; refused (409) {f['refused']}; errors {f['errors']}")
                if args.import_rows:
                    i = await bench_import(client, headers, db_url, people[args.events:] or people, args.import_rows,
                                           service.pid)
                    print(f"import: {i['rows']:,} rows ({i['mb']:.0f} MB CSV, {i['events']} batch events) in "
                          f"{i['import_s']:.1f} s = {i['import_rate']:,.0f} rows/s; COPY of the same rows into the "
                          f"same tables {i['copy_s']:.1f} s = {i['copy_rate']:,.0f} rows/s; import / COPY rate = "
                          f"{i['ratio']:.0%} (target ≥ 50 %); the events published by the relay "
                          f"{i['relayed_s']:.1f} s after the answer")
                    print(f"import CPU: the service and its worker {i['service_cpu']:.1f} s, the database "
                          f"{i['db_cpu']:.1f} s (the COPY's {i['copy_cpu']:.1f} s); together "
                          f"{(i['service_cpu'] + i['db_cpu']) / i['copy_cpu']:.2f} × the COPY's")
                print(f"load average after: {os.getloadavg()}")
        finally:
            # uvicorn raises the signal again once it has stopped: SIGINT's KeyboardInterrupt still lets
            # cProfile write its stats, SIGTERM would not.
            service.send_signal(signal.SIGINT if args.profile else signal.SIGTERM)
            service.wait(timeout=60)
            if gateway is not None:
                gateway.terminate()
                gateway.wait(timeout=30)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--import-rows", type=int, default=200_000)
    parser.add_argument("--households", type=int, default=20_000)
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--fund-clients", type=int, default=50)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--event-rate", type=int, default=200)
    parser.add_argument("--gateway", action="store_true",
                        help="also start the gateway and time the delivery through it (after the direct run)")
    parser.add_argument("--profile", help="run the service under cProfile and write its stats to this file")
    asyncio.run(main(parser.parse_args()))
