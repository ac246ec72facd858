"""The per-household figures the sizing table of docs/operations.md rests on, measured: import N
households (CSV through the registry, in imports of 10,000), wait until reporting has projected them, and
report the time, the CPU seconds each process spent, and what the households added to each database and to
the REGISTRY stream (bytes per household).

    python -m bench.sizing --households 50000

Runs the fault harness's platform (bench/faults.py) without faults: registry-api, registry-relay and
reporting as processes on their own PostgreSQL and NATS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats
import psutil

from bench.faults import Harness, Options
from shared.db import asyncpg_dsn


async def database_bytes(url: str) -> int:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return int(await conn.fetchval("SELECT pg_database_size(current_database())"))
    finally:
        await conn.close()


async def stream_bytes(nats_url: str, stream: str = "REGISTRY") -> tuple[int, int]:
    nc = await nats.connect(nats_url)
    try:
        state = (await nc.jetstream().stream_info(stream)).state
        return int(state.bytes), int(state.messages)
    finally:
        await nc.close()


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU of each process and its children (the registry prepares imports in a worker process)."""
    out = {}
    for name, pid in pids.items():
        total = 0.0
        try:
            process = psutil.Process(pid)
            for one in [process, *process.children(recursive=True)]:
                times = one.cpu_times()
                total += times.user + times.system + times.children_user + times.children_system
        except psutil.NoSuchProcess:
            pass
        out[name] = total
    return out


def postgres_cpu(harness: Harness) -> float:
    postmaster = psutil.Process(int((harness.pg.data_dir / "pgdata" / "postmaster.pid").read_text().split()[0]))
    total = 0.0
    for process in [postmaster, *postmaster.children(recursive=True)]:
        try:
            times = process.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
        except psutil.NoSuchProcess:
            pass
    return total


async def measure(households: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="chungtay-sizing-"))
    harness = Harness(work, Options(households=households, settle_timeout=1800), log=print)
    try:
        await harness.start()
        urls = harness.urls
        before = {name: await database_bytes(url) for name, url in urls.items()}
        stream_before = await stream_bytes(harness.nats.url)
        pids = {name: p.process.pid for name, p in harness.processes.items()}
        cpu_before, pg_before = cpu_seconds(pids), postgres_cpu(harness)
        started = time.monotonic()
        async with httpx.AsyncClient(timeout=600) as client:
            for n, start in enumerate(range(0, households, 10_000)):
                await harness.run_import(client, ("07207", "07210", "07213", "07702")[n % 4],
                                         min(10_000, households - start), start)
        imported = time.monotonic() - started
        await harness.settle()
        projected = time.monotonic() - started
        cpu_after, pg_after = cpu_seconds(pids), postgres_cpu(harness)
        after = {name: await database_bytes(url) for name, url in urls.items()}
        stream_after = await stream_bytes(harness.nats.url)
        cpu = {name: round(cpu_after[name] - cpu_before[name], 1) for name in pids}
        cpu["postgres"] = round(pg_after - pg_before, 1)
        rss = {name: round(psutil.Process(pid).memory_info().rss / 2**20) for name, pid in pids.items()}
        return {
            "households": households, "cores": os.cpu_count(), "load_average": round(os.getloadavg()[0], 2),
            "import_seconds": round(imported, 1), "households_per_second_imported": round(households / imported),
            "projected_seconds": round(projected, 1),
            "cpu_seconds": cpu, "cpu_ms_per_household": {k: round(1000 * v / households, 3) for k, v in cpu.items()},
            "rss_mb": rss,
            "bytes_per_household": {name: round((after[name] - before[name]) / households) for name in urls},
            "stream_bytes_per_household": round((stream_after[0] - stream_before[0]) / households),
            "stream_messages": stream_after[1] - stream_before[1],
        }
    finally:
        await harness.stop()
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sizing", description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=50_000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.households)), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
