"""Figures of the gateway (issue 4), all in one run on this machine:

- throughput of an authenticated GET (`/registry/principal`: the service verifies the principal and
  answers it) through the gateway vs the same service called directly with a valid principal, 64
  connections, measured with `wrk` (target: ratio ≥ 0.5 on 2 cores);
- latency at a fixed 500 requests/s, direct and through the gateway, from an open-loop generator
  (requests leave on schedule whatever the answers do, so a stall is counted, not hidden):
  the added p99 (target ≤ 5 ms);
- tokens issued per second: password grant (argon2id with the production settings), client
  credentials, refresh token.

Everything runs on the same cores as the load generators, so the figures are pessimistic. Needs
`wrk` (Debian's package; `bash devstack/ensure_tools.sh` installs it); the services run as uvicorn
processes (uvloop, httptools) on embedded PostgreSQL and NATS (or DATABASE_URL / NATS_URL), started
by bench/platform.py.

Usage: .venv/bin/python -m bench.gateway [--seconds 10] [--connections 64] [--rate 500] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

import aiohttp
import httpx
import psutil

from bench.openloop import open_loop
from bench.platform import percentile, proxied, registry_and_gateway
from shared.principal import PRINCIPAL_HEADER

PATH = "/registry/principal"


# ---- throughput (wrk) ----------------------------------------------------------------------------
def wrk(url: str, header: str, seconds: int, connections: int) -> float:
    result = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-H", header, url],
                            capture_output=True, text=True, check=True)
    match = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", result.stdout)
    if match is None or non2xx is not None:
        raise RuntimeError(f"wrk failed or saw errors:\n{result.stdout}")
    return float(match.group(1))


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def measured_wrk(url: str, header: str, seconds: int, connections: int, pids: dict[str, int]) -> tuple[float, str]:
    """Requests/s, and the CPU each process spent per request (robust when other work shares the cores)."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    rate = wrk(url, header, seconds, connections)
    used = {name: (cpu_seconds(pid) - before[name]) / (rate * seconds) * 1e6 for name, pid in pids.items()}
    return rate, "  ".join(f"{name} {us:4.0f} µs" for name, us in used.items())


# ---- latency at a fixed rate (open loop) ---------------------------------------------------------
async def fixed_rate(url: str, headers: dict[str, str], rate: int, seconds: int) -> list[float]:
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def one() -> int:
            async with session.get(url, headers=headers) as response:
                await response.read()
                return response.status

        warm_up = [await one() for _ in range(rate)]  # warm the pool and the caches
        run = await open_loop(one, rate, seconds)
    errors = sum(status != 200 for status in warm_up + run.outcomes)
    if errors:
        raise RuntimeError(f"{errors} failed requests at {url}")
    return run.latencies


def loop_lag(gateway_url: str) -> dict[str, float]:
    """The gateway's event-loop lag histogram: cumulative counts per bucket bound."""
    text = httpx.get(gateway_url + "/metrics").text
    found = re.findall(r'^gateway_event_loop_lag_seconds_bucket\{le="([^"]+)"\} ([\d.e+]+)$', text, re.M)
    return {le: float(count) for le, count in found}


# ---- token issue rate ----------------------------------------------------------------------------
async def token_rate(base: str, concurrency: int, seconds: float, form: dict[str, str],
                     chain_refresh: bool = False) -> float:
    issued = 0
    deadline = time.perf_counter() + seconds
    async with aiohttp.ClientSession() as session:
        async def worker() -> None:
            nonlocal issued
            data = dict(form)
            if chain_refresh:  # each worker rotates its own refresh-token family
                async with session.post(base + "/auth/token", data={
                        "grant_type": "password", "username": "province.24", "password": "demo"}) as r:
                    data = {"grant_type": "refresh_token", "refresh_token": (await r.json())["refresh_token"]}
            while time.perf_counter() < deadline:
                async with session.post(base + "/auth/token", data=data) as response:
                    body = await response.json()
                    if response.status != 200:
                        raise RuntimeError(f"token request failed: {body}")
                    if chain_refresh:
                        data["refresh_token"] = body["refresh_token"]
                    issued += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return issued / (time.perf_counter() - started)


# ---- the run -----------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is needed: run `bash devstack/ensure_tools.sh` (it installs Debian's wrk)", file=sys.stderr)
        return 2
    with registry_and_gateway() as services:
        registry_url, gateway_url = services.registry, services.gateway
        token = services.token({"grant_type": "password", "username": "commune.07207", "password": "demo"})
        direct = services.direct_headers(token)
        direct_header = direct[PRINCIPAL_HEADER]
        via = {"Authorization": f"Bearer {token}"}
        me = httpx.get(gateway_url + "/auth/me", headers=via).json()
        through = proxied("GET", gateway_url + PATH, via)  # once the gateway has read the registry's routes
        assert through.json()["sub"] == me["id"], through.text
        assert httpx.get(registry_url + PATH, headers=direct).json()["sub"] == me["id"]

        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before the run "
              "(other work on the machine shares the cores)")
        print(f"throughput, GET {PATH}, {args.connections} connections, {args.seconds}s per run (wrk):")
        wrk(registry_url + PATH, f"{PRINCIPAL_HEADER}: {direct_header}", 2, args.connections)  # warm-up
        wrk(gateway_url + PATH, f"Authorization: Bearer {token}", 2, args.connections)
        ratios = []
        pids = {"gateway": services.pids["gateway"], "service": services.pids["registry"]}
        for round_ in range(1, args.rounds + 1):
            d, d_cpu = measured_wrk(registry_url + PATH, f"{PRINCIPAL_HEADER}: {direct_header}", args.seconds,
                                    args.connections, {"service": services.pids["registry"]})
            g, g_cpu = measured_wrk(gateway_url + PATH, f"Authorization: Bearer {token}", args.seconds,
                                    args.connections, pids)
            ratios.append(g / d)
            print(f"  round {round_}: direct {d:6.0f} req/s   gateway {g:6.0f} req/s   ratio {g / d:.2f}   "
                  f"CPU per request: direct [{d_cpu}]  via gateway [{g_cpu}]")
        print(f"  throughput ratio (median of {args.rounds}): {statistics.median(ratios):.2f}  (target ≥ 0.50)")

        slices = max(3, args.seconds // 2)
        print(f"latency at {args.rate} requests/s, {slices} alternating 2 s slices each (open loop):")
        # Alternating short slices: a burst of other work on the machine hits both sides alike;
        # the median over slice pairs of the p99 difference discounts a burst that hit one slice.
        d_lat: list[float] = []
        g_lat: list[float] = []
        pairs: list[float] = []
        lag_before = loop_lag(gateway_url)
        for _ in range(slices):
            d_slice = asyncio.run(fixed_rate(registry_url + PATH, direct, args.rate, 2))
            g_slice = asyncio.run(fixed_rate(gateway_url + PATH, via, args.rate, 2))
            d_lat += d_slice
            g_lat += g_slice
            pairs.append(percentile(g_slice, .99) - percentile(d_slice, .99))
        lag_after = loop_lag(gateway_url)
        lag = {le: lag_after[le] - lag_before.get(le, 0) for le in lag_after}
        total = lag.get("+Inf", 0)
        print(f"  gateway event loop busy (100 ms timer late): >10 ms {total - lag.get('0.01', 0):.0f}, "
              f">50 ms {total - lag.get('0.05', 0):.0f}, >100 ms {total - lag.get('0.1', 0):.0f} "
              f"of {total:.0f} ticks")
        for name, lat in (("direct", d_lat), ("gateway", g_lat)):
            print(f"  {name:8s} p50 {percentile(lat, .5):6.2f} ms   p90 {percentile(lat, .9):6.2f} ms   "
                  f"p99 {percentile(lat, .99):6.2f} ms   max {max(lat) * 1000:6.2f} ms")
        added50 = percentile(g_lat, .5) - percentile(d_lat, .5)
        added99 = percentile(g_lat, .99) - percentile(d_lat, .99)
        print(f"  added by the gateway: p50 {added50:.2f} ms, p99 {added99:.2f} ms (pooled); "
              f"p99 per slice pair: median {statistics.median(pairs):.2f} ms "
              f"[{', '.join(f'{p:.1f}' for p in pairs)}]  (target p99 ≤ 5 ms)")

        print("tokens issued per second (and the gateway's CPU per token):")
        grants = [
            ("password grant (argon2id, production cost), 4 concurrent", 4, False,
             {"grant_type": "password", "username": "commune.07207", "password": "demo"}),
            ("client_credentials, 16 concurrent", 16, False,
             {"grant_type": "client_credentials", "client_id": "system.demo", "client_secret": "demo"}),
            ("refresh_token rotation, 16 concurrent", 16, True, {}),
        ]
        for label, concurrency, chain, form in grants:
            before = cpu_seconds(services.pids["gateway"])
            started = time.perf_counter()
            rate = asyncio.run(token_rate(gateway_url, concurrency, args.seconds / 2, form, chain_refresh=chain))
            issued = rate * (time.perf_counter() - started)
            per_token = (cpu_seconds(services.pids["gateway"]) - before) / max(issued, 1) * 1000
            print(f"  {label:58s} {rate:6.0f}/s   {per_token:5.1f} ms CPU")
        print(f"load average after the run: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
