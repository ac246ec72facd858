"""The fault harness: kill -9 the relay, a consumer, NATS or PostgreSQL at random moments while a
household import and a stream of single writes run; count the events lost and applied twice, the
acknowledged writes lost, and the time to recover.

    python -m bench.faults --trials 20 --households 5000        # about 10 min on the 2-core dev machine
    python -m bench.faults --trials 20 --households 100000      # the issue's size, where the machine allows

The platform runs as real processes on its own PostgreSQL and NATS: `registry-api` (the HTTP service,
background workers off), `registry-relay` (a registry process that gets no traffic, so its outbox relay is
what a kill of "the relay" stops), and `reporting` (the consumer of the registry's events). Each trial:

1. an import of `--households` households (CSV through POST /registry/imports) starts, and `--writers`
   clients register single households one after another (each with an Idempotency-Key, retried until
   answered: a 503 during an outage is expected, a write answered 201 must never be lost);
2. after a random 0.2–1.5 s, the target is killed with SIGKILL and started again `--restart-delay`
   seconds later (as Kubernetes restarts a container); an import the kill failed is uploaded again;
3. the harness waits until every event of the registry's outbox is published and applied by reporting,
   then audits: events in the outbox not in reporting's inbox (lost), events in the inbox not in the
   outbox, acknowledged writes missing from the registry, and reporting's counts against the registry's
   rows (services.reporting.operations.check: any event applied twice or lost shows as a difference).

At the end the REGISTRY stream is read whole: an event id twice in it is a duplicate publication (harmless
to the consumers, whose inbox skips it, but counted). Recovery: from the kill to the first write answered
again (write recovery) and to the moment every event is applied (event recovery).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import importlib
import itertools
import json
import random
import shutil
import signal
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats
import orjson
import psutil

from devstack.backup import dump_stream
from devstack.embedded import EmbeddedNats, EmbeddedPostgres, free_port
from devstack.migrate import migrate, service_database_url
from devstack.processes import AppProcess, service_env, spawn, started
from devstack.sample_households import import_file
from services.reporting.operations.check import check
from shared.crypto import generate_key
from shared.db import asyncpg_dsn
from shared.permissions import ROLE_PERMISSIONS
from shared.principal import PRINCIPAL_HEADER, Principal, PrincipalSigner, ScopeUnit, generate_keypair

TARGETS = ("relay", "consumer", "nats", "postgres")
COMMUNES = ("07207", "07210", "07213", "07702")  # wards and a commune of Bắc Giang city (district 213)
# The harness signs its officer's principal itself (as the gateway would); the processes trust PUBLIC_KEY.
PRIVATE_KEY, PUBLIC_KEY = generate_keypair()
SIGNER = PrincipalSigner(PRIVATE_KEY, ttl_seconds=24 * 3600)
OFFICER = Principal(id="faults", role="district_officer", permissions=frozenset(ROLE_PERMISSIONS["district_officer"]),
                    scopes=(ScopeUnit("v2008", "213", "v2008.24.213", "district"),), kind="user", name="faults")


def auth_headers(principal: Principal) -> dict[str, str]:
    return {PRINCIPAL_HEADER: SIGNER.sign(principal)}
CONSUMER = "reporting-registry"


@dataclass
class Options:
    trials: int = 20
    households: int = 5000
    writers: int = 2
    restart_delay: float = 0.5
    settle_timeout: float = 180.0
    seed: int = 1
    targets: tuple[str, ...] = TARGETS
    stale_after: float = 20.0  # REGISTRY_IMPORT_STALE_AFTER_SECONDS of registry-api (300 by default)
    settle_first: bool = True  # wait for the units' events before the first trial (its recovery time is then clean)


@dataclass
class Trial:
    number: int
    target: str
    killed_after: float = 0.0
    write_recovery: float = 0.0
    event_recovery: float = 0.0
    imports_uploaded: int = 0
    writes_acknowledged: int = 0
    write_errors: int = 0
    lost_events: int = 0
    phantom_events: int = 0
    lost_writes: int = 0
    differences: int = 0


@dataclass
class Writer:
    """Single household registrations, one after another, each retried with its key until answered."""

    client: httpx.AsyncClient
    url: str
    serial: itertools.count[int]
    acknowledged: dict[str, float] = field(default_factory=dict)  # household code -> when answered
    errors: int = 0
    running: bool = True

    async def run(self) -> None:
        while self.running:
            n = next(self.serial)
            code = f"W-{n:07d}"
            body = {"household_code": code, "commune_code": COMMUNES[n % len(COMMUNES)], "village": "Tổ 2",
                    "members": [{"full_name": "Trần Văn Bình", "citizen_id": f"0249{n:08d}",
                                 "birth_date": "1980-02-03", "sex": "male", "ethnicity": "Kinh", "relation": "head"}]}
            headers = {**auth_headers(OFFICER), "Idempotency-Key": code}
            while True:
                try:
                    response = await self.client.post(f"{self.url}/registry/households", json=body, headers=headers)
                    if response.status_code in (200, 201):
                        self.acknowledged[code] = time.monotonic()
                        break
                    if response.status_code < 500 and response.status_code != 409:
                        raise RuntimeError(f"write refused: {response.status_code} {response.text[:300]}")
                except httpx.HTTPError:
                    pass
                self.errors += 1
                await asyncio.sleep(0.2)


class Harness:
    def __init__(self, work: Path, options: Options, log: Any = print) -> None:
        self.work = work
        self.options = options
        self.log = log
        self.rng = random.Random(options.seed)
        self.pg = EmbeddedPostgres(work / "pg", free_port(), durable=True)
        self.nats = EmbeddedNats(work / "nats", free_port())
        self.urls: dict[str, str] = {}
        self.processes: dict[str, AppProcess] = {}
        self.envs: dict[str, dict[str, str]] = {}
        self.serial = itertools.count(1)
        self.writes: dict[str, float] = {}

    # ---- the platform ----------------------------------------------------------------------------
    async def start(self) -> None:
        self.pg.start()
        self.nats.start()
        self.urls = {name: service_database_url(self.pg.url, name) for name in ("registry", "reporting")}
        await migrate(self.urls)
        await importlib.import_module("services.registry.bootstrap").run(self.urls["registry"])  # every unit
        keys = {"personal_data_key": generate_key(), "personal_data_hash_key": generate_key()}
        registry = service_env("registry", self.urls["registry"], self.nats.url, PUBLIC_KEY, **keys)
        self.envs = {
            # An import whose process died is reported failed once its heartbeat is this old (300 s by
            # default); one whose database connection a kill cut is failed as soon as PostgreSQL is back.
            # The harness then uploads it again.
            "registry-api": registry | {"REGISTRY_RUN_BACKGROUND_WORKERS": "false",
                                        "REGISTRY_IMPORT_STALE_AFTER_SECONDS": str(self.options.stale_after)},
            "registry-relay": registry | {"REGISTRY_DB_POOL_SIZE": "2"},
            "consumer": service_env("reporting", self.urls["reporting"], self.nats.url, PUBLIC_KEY),
        }
        apps = {"registry-api": "registry", "registry-relay": "registry", "consumer": "reporting"}
        self.apps = apps
        launched = {name: spawn(apps[name], env) for name, env in self.envs.items()}
        for name, process in launched.items():
            self.processes[name] = await started(process, timeout=180)
        if self.options.settle_first:
            await self.settle()

    async def stop(self) -> None:
        for process in self.processes.values():
            process.stop()
        self.nats.stop()
        self.pg.stop()

    async def restart(self, name: str) -> None:
        old = self.processes[name]
        process = spawn(self.apps[name], self.envs[name], port=old.port)
        self.processes[name] = await started(process, timeout=180)
        with contextlib.suppress(OSError):
            old.log_path.unlink()

    # ---- faults ----------------------------------------------------------------------------------
    async def kill(self, target: str) -> None:
        if target == "relay":
            self.processes["registry-relay"].kill()
            await asyncio.sleep(self.options.restart_delay)
            await self.restart("registry-relay")
        elif target == "consumer":
            self.processes["consumer"].kill()
            await asyncio.sleep(self.options.restart_delay)
            await self.restart("consumer")
        elif target == "nats":
            self.nats.kill()
            await asyncio.sleep(self.options.restart_delay)
            await asyncio.to_thread(self.nats.start)
        elif target == "postgres":
            postmaster = psutil.Process(int((self.pg.data_dir / "pgdata" / "postmaster.pid").read_text().split()[0]))
            family = [postmaster, *postmaster.children(recursive=True)]
            for process in family:  # the whole server at once, as an OOM kill of its container does
                with contextlib.suppress(psutil.NoSuchProcess):
                    process.send_signal(signal.SIGKILL)
            psutil.wait_procs(family, timeout=10)
            await asyncio.sleep(self.options.restart_delay)
            await asyncio.to_thread(self.pg.start)  # crash recovery replays the WAL
        else:
            raise ValueError(target)

    # ---- work ------------------------------------------------------------------------------------
    async def run_import(self, client: httpx.AsyncClient, commune: str, count: int, start: int) -> int:
        """Upload until the import completes (a kill may fail it: nothing of it is stored then)."""
        data = import_file(commune, count, start)
        base = self.processes["registry-api"].url
        for attempt in range(1, 6):
            try:
                deadline = time.monotonic() + 300
                while True:  # 503 while the database is away: the upload is refused, not lost; again
                    response = await client.post(f"{base}/registry/imports", headers=auth_headers(OFFICER),
                                                 files={"file": ("households.csv", data)})
                    if response.status_code != 503 or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(1.0)
                if response.status_code != 202:
                    raise RuntimeError(f"{response.status_code} {response.text[:200]}")
                job_id = response.json()["id"]
                while True:
                    await asyncio.sleep(0.3)
                    job = await client.get(f"{base}/registry/imports/{job_id}", headers=auth_headers(OFFICER))
                    if job.status_code != 200:
                        continue
                    status = job.json()["status"]
                    if status == "completed":
                        return attempt
                    if status in ("failed", "rejected"):
                        errors = job.json().get("errors") or []
                        if status == "rejected" and any("already" in json.dumps(e) for e in errors):
                            return attempt  # an earlier upload did store it before its answer was lost
                        self.log(f"[faults] import of {commune}, upload {attempt}: {status} "
                                 f"{json.dumps(job.json().get('failure') or errors[:2], ensure_ascii=False)[:300]}")
                        break
            except (httpx.HTTPError, RuntimeError, KeyError) as exc:
                self.log(f"[faults] import of {commune}, upload {attempt}: {type(exc).__name__}: {exc}"[:300])
            await asyncio.sleep(1.0)
        raise RuntimeError(f"the import of {commune} never completed")

    async def trial(self, number: int, target: str) -> Trial:
        result = Trial(number, target)
        households = self.options.households
        commune = COMMUNES[number % len(COMMUNES)]
        async with httpx.AsyncClient(timeout=60) as client:
            writers = [Writer(client, self.processes["registry-api"].url, self.serial)
                       for _ in range(self.options.writers)]
            tasks = [asyncio.create_task(w.run()) for w in writers]
            importing = asyncio.create_task(self.run_import(client, commune, households, 100_000 + number * households))
            result.killed_after = self.rng.uniform(0.2, 1.5)
            await asyncio.sleep(result.killed_after)
            killed_at = time.monotonic()
            await self.kill(target)
            result.imports_uploaded = await importing
            await asyncio.sleep(0.5)
            for w in writers:
                w.running = False
            await asyncio.gather(*tasks)
            after = [t for w in writers for t in w.acknowledged.values() if t > killed_at]
            result.write_recovery = (min(after) - killed_at) if after else float("nan")
            for w in writers:
                self.writes.update(w.acknowledged)
                result.writes_acknowledged += len(w.acknowledged)
                result.write_errors += w.errors
        await self.settle()
        result.event_recovery = time.monotonic() - killed_at
        audit = await self.audit()
        result.lost_events, result.phantom_events = audit["lost_events"], audit["phantom_events"]
        result.lost_writes, result.differences = audit["lost_writes"], audit["differences"]
        return result

    # ---- auditing --------------------------------------------------------------------------------
    async def _ids(self, url: str, sql: str) -> set[str]:
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            return {str(r[0]) for r in await conn.fetch(sql)}
        finally:
            await conn.close()

    async def settle(self) -> None:
        deadline = time.monotonic() + self.options.settle_timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                unsent = await self._ids(self.urls["registry"], "SELECT id FROM outbox WHERE sent_at IS NULL")
                if not unsent:
                    outbox = await self._ids(self.urls["registry"], "SELECT id FROM outbox")
                    inbox = await self._ids(self.urls["reporting"],
                                            f"SELECT event_id FROM inbox WHERE consumer = '{CONSUMER}'")
                    if outbox <= inbox:
                        return
            await asyncio.sleep(0.5)
        self.log(f"[faults] not settled within {self.options.settle_timeout:.0f}s")

    async def audit(self) -> dict[str, int]:
        outbox = await self._ids(self.urls["registry"], "SELECT id FROM outbox")
        inbox = await self._ids(self.urls["reporting"], f"SELECT event_id FROM inbox WHERE consumer = '{CONSUMER}'")
        stored = await self._ids(self.urls["registry"], "SELECT household_code FROM households")
        differences = await check(self.urls["reporting"], self.urls["registry"])
        return {"lost_events": len(outbox - inbox), "phantom_events": len(inbox - outbox),
                "lost_writes": len(set(self.writes) - stored), "differences": len(differences)}

    async def stream_duplicates(self) -> tuple[int, int]:
        """(messages in the REGISTRY stream, event ids found more than once)."""
        folder = self.work / "stream-audit"
        folder.mkdir(exist_ok=True)
        nc = await nats.connect(self.nats.url)
        try:
            await dump_stream(nc.jetstream(), "REGISTRY", folder)
        finally:
            await nc.close()
        ids = Counter(orjson.loads(base64.b64decode(orjson.loads(line)["data"]))["id"]
                      for line in (folder / "REGISTRY.jsonl").read_text().splitlines())
        return sum(ids.values()), sum(c - 1 for c in ids.values() if c > 1)


async def run(options: Options, log: Any = print) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="chungtay-faults-"))
    harness = Harness(work, options, log)
    trials: list[Trial] = []
    started_at = time.monotonic()
    try:
        await harness.start()
        targets = [options.targets[i % len(options.targets)] for i in range(options.trials)]
        harness.rng.shuffle(targets)
        for number, target in enumerate(targets, 1):
            result = await harness.trial(number, target)
            trials.append(result)
            log(f"[faults] trial {number:2d} kill -9 {target:8s} after {result.killed_after:.2f}s: "
                f"write recovery {result.write_recovery:5.2f}s, events applied {result.event_recovery:5.1f}s "
                f"after the kill; lost events {result.lost_events}, lost writes {result.lost_writes}, "
                f"differences {result.differences}, uploads {result.imports_uploaded}, "
                f"writes {result.writes_acknowledged} ({result.write_errors} retried)")
        messages, duplicates = await harness.stream_duplicates()
    finally:
        await harness.stop()
        shutil.rmtree(work, ignore_errors=True)
    summary = summarize(trials, messages, duplicates, time.monotonic() - started_at, options)
    log(json.dumps(summary, indent=1))
    return summary


def summarize(trials: list[Trial], messages: int, duplicates: int, seconds: float, options: Options) -> dict[str, Any]:
    by_target: dict[str, dict[str, float]] = {}
    for target in sorted({t.target for t in trials}):
        mine = [t for t in trials if t.target == target]
        writes = [t.write_recovery for t in mine if t.write_recovery == t.write_recovery]
        by_target[target] = {"trials": len(mine), "event_recovery_max_s": round(max(t.event_recovery for t in mine), 2),
                             "event_recovery_median_s": round(statistics.median(t.event_recovery for t in mine), 2),
                             "write_recovery_max_s": round(max(writes), 2) if writes else float("nan"),
                             "import_uploads_max": max(t.imports_uploaded for t in mine)}
    last = trials[-1] if trials else Trial(0, "")
    return {
        "trials": len(trials), "households_per_import": options.households, "seconds": round(seconds, 1),
        "events_in_stream": messages, "duplicate_publications": duplicates,
        "lost_events": last.lost_events, "phantom_events": last.phantom_events,
        "lost_acknowledged_writes": last.lost_writes, "projection_differences": last.differences,
        "writes_acknowledged": sum(t.writes_acknowledged for t in trials),
        "by_target": by_target,
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--households", type=int, default=5000)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--targets", default=",".join(TARGETS), help="what to kill, comma-separated")
    parser.add_argument("--stale-after", type=float, default=Options.stale_after,
                        help="REGISTRY_IMPORT_STALE_AFTER_SECONDS of registry-api (the service's default: 300)")
    args = parser.parse_args()
    summary = asyncio.run(run(Options(trials=args.trials, households=args.households, writers=args.writers,
                                      seed=args.seed, targets=tuple(args.targets.split(",")),
                                      stale_after=args.stale_after)))
    bad = summary["lost_events"] + summary["lost_acknowledged_writes"] + summary["projection_differences"]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
