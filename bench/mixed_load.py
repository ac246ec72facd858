"""Sustained mixed load through the gateway, open loop: reads, writes, imports and report queries at a
fixed offered rate, step by step, reporting per step the rate achieved, p50/p99 latency per kind of
request and the errors (any answer that is not 2xx, any connection failure).

    python -m bench.mixed_load --rates 25,50,100 --seconds 60

The platform runs as processes (uvicorn): registry, reporting and the gateway, on embedded PostgreSQL
and NATS, with every administrative unit loaded and 2,000 households imported first. The load is a
commune officer's (commune 07207), through the gateway with a bearer token:

- 55 % GET /registry/households/{id} (a household's full record, access logged),
- 15 % GET /registry/households?unit=07207&limit=20,
- 15 % POST /registry/households (a new household; its events reach reporting),
- 15 % GET /reporting/indicators/poverty?unit=07207&year=2024,
- plus an import of 200 households every 15 s (POST /registry/imports).

Requests leave on schedule whatever the answers do (a stall is counted, not hidden). The generator shares
the machine's cores with the platform, so the figures are pessimistic.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import tempfile
import time
from collections import defaultdict
from typing import Any

import aiohttp
import httpx

from bench.openloop import open_loop
from bench.stack import bench_stack
from devstack.embedded import free_port
from devstack.migrate import bootstrap, migrate, wait_for_unit_directory
from devstack.processes import AppProcess, spawn, started
from devstack.sample_households import import_file
from shared.crypto import generate_key
from shared.migrations import service_database_url
from shared.principal import generate_keypair

MIX = (("read", 55), ("list", 15), ("write", 15), ("report", 15))
APPS = ("registry", "reporting", "gateway")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def start_platform(pg_url: str, nats_url: str) -> dict[str, AppProcess]:
    urls = {name: service_database_url(pg_url, name) for name in APPS}
    await migrate(urls)
    os.environ.setdefault("CHUNGTAY_DEMO_PASSWORD", "demo")
    await bootstrap(urls)  # every unit (registry), the demo accounts (gateway)
    private_pem, public_pem = generate_keypair()
    ports = {name: free_port() for name in APPS}
    common = {"DB_POOL_SIZE": "20", "NATS_URL": nats_url, "PRINCIPAL_PUBLIC_KEY": public_pem}
    envs: dict[str, dict[str, str]] = {}
    for name in APPS:
        envs[name] = {f"{name.upper()}_{k}": v for k, v in common.items()} | {
            f"{name.upper()}_DATABASE_URL": urls[name]}
    envs["registry"] |= {"REGISTRY_PERSONAL_DATA_KEY": generate_key(),
                         "REGISTRY_PERSONAL_DATA_HASH_KEY": generate_key()}
    envs["gateway"] |= {
        "GATEWAY_PRINCIPAL_PRIVATE_KEY": private_pem, "GATEWAY_KEYS_DIR": tempfile.mkdtemp(prefix="chungtay-keys-"),
        "GATEWAY_SIGNING_KEY_ENCRYPTION_KEY": generate_key(),
        "GATEWAY_UPSTREAM_REGISTRY": f"http://127.0.0.1:{ports['registry']}",
        "GATEWAY_UPSTREAM_REPORTING": f"http://127.0.0.1:{ports['reporting']}",
        "GATEWAY_REQUESTS_PER_PRINCIPAL_PER_MINUTE": "0", "GATEWAY_TOKEN_REQUESTS_PER_IP_PER_MINUTE": "100000"}
    processes = {name: spawn(name, envs[name], port=ports[name]) for name in APPS}
    for name, process in processes.items():
        processes[name] = await started(process, timeout=240)
    await wait_for_unit_directory(urls)
    return processes


LOGIN = {"grant_type": "password", "username": "commune.07207", "password": "demo"}
RENEW_SECONDS = 240  # a new access token this often: they live 600 s (GATEWAY_ACCESS_TOKEN_TTL_SECONDS)


class Load:
    def __init__(self, gateway: str, token: str, household_ids: list[str]) -> None:
        self.gateway = gateway
        self.headers = {"Authorization": f"Bearer {token}"}
        self.ids = household_ids
        self.serial = itertools.count(1)
        self.rng = random.Random(3)
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.samples: dict[str, str] = {}

    def request(self) -> tuple[str, str, str, Any]:
        kind = self.rng.choices([k for k, _ in MIX], weights=[w for _, w in MIX])[0]
        if kind == "read":
            return kind, "GET", f"/registry/households/{self.rng.choice(self.ids)}", None
        if kind == "list":
            return kind, "GET", "/registry/households?unit=07207&limit=20", None
        if kind == "report":
            return kind, "GET", "/reporting/indicators/poverty?unit=07207&year=2024", None
        n = next(self.serial)
        body = {"household_code": f"LOAD-{n:07d}", "commune_code": "07207", "village": "Tổ 3",
                "members": [{"full_name": "Lê Thị Hoa", "citizen_id": f"0248{n:08d}", "birth_date": "1990-05-06",
                             "sex": "female", "ethnicity": "Kinh", "relation": "head"}]}
        return kind, "POST", "/registry/households", body

    async def one(self, session: aiohttp.ClientSession) -> str:
        """One request of the mix: its kind."""
        kind, method, path, body = self.request()
        try:
            async with session.request(method, self.gateway + path, json=body, headers=self.headers) as response:
                payload = await response.read()
                if response.status >= 300:
                    self.errors[kind] += 1
                    self.samples.setdefault(f"{kind} {response.status}", payload[:300].decode(errors="replace"))
        except aiohttp.ClientError as exc:
            self.errors[kind] += 1
            self.samples.setdefault(f"{kind} {type(exc).__name__}", str(exc))
        return kind

    async def imports(self, session: aiohttp.ClientSession, seconds: float) -> None:
        start = 50_000
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            started_at = time.perf_counter()
            form = aiohttp.FormData()
            form.add_field("file", import_file("07207", 200, start), filename="households.csv")
            start += 200
            try:
                async with session.post(self.gateway + "/registry/imports", data=form, headers=self.headers) as r:
                    await r.read()
                    if r.status != 202:
                        self.errors["import"] += 1
            except aiohttp.ClientError:
                self.errors["import"] += 1
            self.latencies["import"].append(time.perf_counter() - started_at)
            await asyncio.sleep(max(0.0, 15.0 - (time.perf_counter() - started_at)))

    async def renew(self, session: aiohttp.ClientSession) -> None:
        """Logs in again before the access token expires, as a client does: a step longer than the
        token's life otherwise ends in 401s (the first 10-minute run did)."""
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            try:
                async with session.post(self.gateway + "/auth/token", data=LOGIN) as response:
                    if response.status == 200:
                        self.headers["Authorization"] = f"Bearer {(await response.json())['access_token']}"
            except aiohttp.ClientError:
                continue  # tried again next round; the token still has half its life

    async def step(self, rate: int, seconds: int) -> dict[str, Any]:
        self.latencies.clear()
        self.errors.clear()
        connector = aiohttp.TCPConnector(limit=512)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
            importer = asyncio.create_task(self.imports(session, seconds))
            renewer = asyncio.create_task(self.renew(session))
            run = await open_loop(lambda: self.one(session), rate, seconds)
            await importer
            renewer.cancel()
        for kind, latency in zip(run.outcomes, run.latencies, strict=True):
            self.latencies[kind].append(latency)
        every = run.latencies  # the imports aside
        return {
            "offered_per_s": rate, "achieved_per_s": round(len(every) / run.elapsed, 1),
            "requests": len(every), "errors": dict(self.errors), "p50_ms": round(1000 * percentile(every, 0.5), 1),
            "p99_ms": round(1000 * percentile(every, 0.99), 1),
            "by_kind": {k: {"n": len(v), "p50_ms": round(1000 * percentile(v, 0.5), 1),
                            "p99_ms": round(1000 * percentile(v, 0.99), 1)} for k, v in sorted(self.latencies.items())},
            "load_average": round(os.getloadavg()[0], 2), "error_samples": dict(list(self.samples.items())[:5]),
        }


async def run(rates: list[int], seconds: int) -> list[dict[str, Any]]:
    results = []
    with bench_stack() as (pg_url, nats_url):
        processes = await start_platform(pg_url, nats_url)
        try:
            gateway = processes["gateway"].url
            async with httpx.AsyncClient(timeout=120) as client:
                token = (await client.post(f"{gateway}/auth/token", data=LOGIN)).json()["access_token"]
                headers = {"Authorization": f"Bearer {token}"}
                job = await client.post(f"{gateway}/registry/imports", headers=headers,
                                        files={"file": ("seed.csv", import_file("07207", 2000, 0))})
                assert job.status_code == 202, job.text
                status = "pending"
                while status not in ("completed", "failed", "rejected"):
                    await asyncio.sleep(0.5)
                    status = (await client.get(f"{gateway}/registry/imports/{job.json()['id']}",
                                               headers=headers)).json()["status"]
                ids = []
                for offset in range(0, 2000, 500):
                    page = await client.get(f"{gateway}/registry/households", headers=headers,
                                            params={"unit": "07207", "limit": 500, "offset": offset})
                    ids += [item["id"] for item in page.json()["items"]]
            load = Load(gateway, token, ids)
            print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before the run; "
                  f"{len(ids)} households to read")
            for rate in rates:
                result = await load.step(rate, seconds)
                results.append(result)
                print(result, flush=True)
        finally:
            for process in processes.values():
                process.stop()
    ok = [r for r in results if not r["errors"] and r["p99_ms"] < 100]
    best = max(ok, key=lambda r: r["achieved_per_s"]) if ok else None
    print(f"highest offered rate with p99 < 100 ms and no error: {best['offered_per_s'] if best else 'none'} req/s "
          f"({seconds}s per step)")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mixed_load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="25,50,100")
    parser.add_argument("--seconds", type=int, default=60)
    args = parser.parse_args()
    asyncio.run(run([int(r) for r in args.rates.split(",")], args.seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
