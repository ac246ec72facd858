"""DCI sync search figures (issue 14), through the gateway, with the registry's own call as baseline:

- `POST /registry/sync/search`, one `idtype-value` NationalID item per message, at a fixed offered rate
  (open loop: requests leave on schedule whatever the answers do, so a stall is counted): p50/p99
  through the gateway and direct to the registry (target: p99 ≤ 25 ms at 100 requests/s);
- a batch of 100 `idtype-value` items in one message, one message at a time: latency (target ≤ 200 ms).

The households are COPYed into the registry database (bench/dci_platform.py). A citizen-ID look-up is
one probe of the unique btree index on the keyed hash (32-byte keys, ~200 per 8 kB page): its depth is
3 levels up to ~8 million entries, so 200,000 households (400,000 members) and 1,000,000 (2,000,000)
walk the same number of pages; what grows is the cache the index needs (about 25 MB at 400,000
members, 120 MB at 2,000,000), which the embedded PostgreSQL's default shared_buffers (128 MB) still
holds. Run `--households 1000000` where the disk and time allow (~3 minutes of loading here).

Usage: .venv/bin/python -m bench.dci_search [--households 200000] [--rate 100 25] [--seconds 30] [--batches 40]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time

import aiohttp
import httpx
import orjson
import psutil

from bench.dci_platform import Platform, by_citizen, dci_platform, message, proxied_post
from bench.openloop import open_loop
from bench.platform import percentile

PATH = "/registry/sync/search"


async def searches(url: str, headers: dict[str, str], numbers: list[str], rate: int, seconds: int) -> list[float]:
    headers = headers | {"content-type": "application/json"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=512)) as session:
        async def one(number: str) -> tuple[int, bytes]:
            async with session.post(url, headers=headers, data=message("search", "search_request",
                                                                      [by_citizen(number)])) as response:
                return response.status, await response.read()

        # Warm the pools and caches; a search chooses its citizen ID when it is due.
        answers = [await one(number) for number in random.sample(numbers, min(200, len(numbers)))]
        run = await open_loop(lambda: one(random.choice(numbers)), rate, seconds)
    errors: list[str] = []
    for status, body in answers + run.outcomes:
        answer = orjson.loads(body)
        item = answer["message"]["search_response"][0] if status == 200 else None
        if item is None or item["pagination"]["total_count"] != 1:
            errors.append(f"{status} {body[:200]!r}")
    if errors:
        raise RuntimeError(f"{len(errors)} failed searches, e.g. {errors[0]}")
    return run.latencies


def batches(platform: Platform, count: int) -> list[float]:
    latencies = []
    with httpx.Client(timeout=30) as client:
        for _ in range(count + 3):
            numbers = random.sample(platform.citizen_ids, 100)
            body = message("search", "search_request", [by_citizen(n) for n in numbers])
            started = time.perf_counter()
            response = client.post(platform.gateway + PATH, content=body,
                                   headers=platform.headers | {"content-type": "application/json"})
            latencies.append(time.perf_counter() - started)
            items = response.json()["message"]["search_response"]
            assert len(items) == 100 and all(i["pagination"]["total_count"] == 1 for i in items), response.text[:300]
    return latencies[3:]  # the first ones warm the caches


def cpu(pids: dict[str, int]) -> dict[str, float]:
    return {name: sum(psutil.Process(pid).cpu_times()[:2]) for name, pid in pids.items()}


def per_request(before: dict[str, float], after: dict[str, float], requests: int) -> str:
    """CPU each process spent per request: what the figures would be on cores of their own."""
    used = {name: (after[name] - before[name]) / requests * 1000 for name in before}
    return "CPU per request: " + ", ".join(f"{name} {ms:.2f} ms" for name, ms in used.items())


def line(name: str, values: list[float]) -> str:
    return (f"{name:<28} n={len(values):5d}  p50 {percentile(values, 0.5):6.1f} ms"
            f"  p90 {percentile(values, 0.9):6.1f} ms  p99 {percentile(values, 0.99):6.1f} ms"
            f"  max {max(values) * 1000:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=200_000)
    parser.add_argument("--rate", type=int, nargs="+", default=[100], help="offered rates, one run each")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--batches", type=int, default=40)
    args = parser.parse_args()
    with dci_platform(args.households, "http://127.0.0.1:9/unused") as platform:
        proxied_post(platform.gateway + PATH, platform.headers,
                     message("search", "search_request", [by_citizen(platform.citizen_ids[0])]))
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before the run "
              "(the load generator and other work share the cores); " + platform.load_note)
        for rate in args.rate:
            print(f"sync search, 1 NationalID item per message, {rate} requests/s offered for {args.seconds}s "
                  f"(load average now {os.getloadavg()[0]:.2f}):")
            before = cpu(platform.pids)
            direct = asyncio.run(searches(platform.registry + PATH, platform.direct_headers, platform.citizen_ids,
                                          rate, args.seconds))
            print("  " + line("direct to the registry", direct))
            print("    " + per_request(before, cpu(platform.pids), len(direct) + 200))
            before = cpu(platform.pids)
            via = asyncio.run(searches(platform.gateway + PATH, platform.headers, platform.citizen_ids,
                                       rate, args.seconds))
            print("  " + line("through the gateway", via) + "   (target p99 ≤ 25 ms at 100/s)")
            print("    " + per_request(before, cpu(platform.pids), len(via) + 200))
            print(f"  the gateway adds {percentile(via, 0.99) - percentile(direct, 0.99):+.1f} ms at p99")
        batch = batches(platform, args.batches)
        print("batch of 100 NationalID items in one message, through the gateway, one at a time:")
        print("  " + line("100-item message", batch) + "   (target ≤ 200 ms)")
        print(f"load average after the run {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
