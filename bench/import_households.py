"""Bulk import figures (issue 3): N synthetic households (default 1,000,000) imported from CSV end to
end through the registry service, next to a raw asyncpg COPY of the same rows in the same run, and
the service's peak memory.

    .venv/bin/python -m bench.import_households [--rows 1000000] [--seed 11]

The service runs as its own process (uvicorn, relay running) on an embedded PostgreSQL + NATS
(or DATABASE_URL / NATS_URL); the CSV is uploaded over HTTP and the job followed until it is
committed. Its RSS is sampled every 50 ms. Households: about 4 % poor and 3.5 % near-poor under
Decree 07/2021 (review year 2024), communes of Hà Nội and Bắc Giang (urban and rural lines) one
after the other as in a province's merged list, 3.6 members on average. Reference COPYs time the
COPY alone of records the import's own builder made beforehand (one transaction each): the raw COPY
of the same household rows into an unindexed copy of the households table (the issue's baseline),
the same rows into the indexed households table, and the database ceiling (the import's four tables
with their indexes and foreign keys).
Targets: import ≥ 50 % of the raw COPY rate; peak service RSS ≤ 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
from sqlalchemy.engine import make_url

from bench.stack import bench_stack
from devstack.embedded import free_port
from services.registry.classification.classifier import indicator_codes
from services.registry.imports import storage
from services.registry.imports.build import RecordBuilder
from services.registry.imports.columns import COLUMN_NAMES
from services.registry.imports.reader import open_sheet
from services.registry.imports.validation import HouseholdRow, RowValidator
from services.registry.personal_data import PersonalDataCipher
from services.registry.units.load import load
from shared.crypto import generate_key
from shared.db import asyncpg_dsn, sqlalchemy_url
from shared.migrations import upgrade_async
from shared.permissions import IMPORTS_WRITE
from shared.principal import PRINCIPAL_HEADER, Principal, PrincipalSigner, ScopeUnit, generate_keypair

PROVINCES = ("v2008.01", "v2008.24")  # Hà Nội (many urban wards), Bắc Giang (mostly rural)
LINES = {"rural": (1_500_000, 2_250_000), "urban": (2_000_000, 3_000_000)}  # Decree 07/2021: line, middle
INDICATORS = ("employment", "dependants", "nutrition", "health_insurance", "adult_education", "school_attendance",
              "housing_quality", "housing_area", "domestic_water", "latrine", "telecom", "information_access")
FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô")
MIDDLE = ("Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quang", "Xuân", "Kim")
GIVEN = ("An", "Bình", "Cường", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hùng", "Lan", "Linh", "Mai", "Nam", "Phúc",
         "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Việt", "Yến")
MEMBERS = ((1, 9), (2, 16), (3, 23), (4, 26), (5, 14), (6, 7), (7, 5))  # mean 3.61


def generate_csv(path: Path, rows: int, communes: list[tuple[str, bool]], seed: int) -> Counter[str]:
    """Streams the file (constant memory); answers the intended status counts."""
    rnd = random.Random(seed)
    sizes, weights = zip(*MEMBERS, strict=True)
    intended: Counter[str] = Counter()
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(COLUMN_NAMES)
        for i in range(rows):
            code, urban = communes[i * len(communes) // rows]  # a province's list: commune after commune
            line, middle = LINES["urban" if urban else "rural"]
            draw = rnd.random()
            if draw < 0.04:
                status, income, deprived = "poor", rnd.randint(300_000, line), rnd.randint(3, 6)
            elif draw < 0.075:
                status, income, deprived = "near_poor", rnd.randint(300_000, line), rnd.randint(0, 2)
            elif draw < 0.25:
                status, income, deprived = "middle_income", rnd.randint(line + 1, middle), rnd.randint(0, 4)
            else:
                status, income, deprived = "not_poor", rnd.randint(middle + 1, 12_000_000), rnd.randint(0, 2)
            intended[status] += 1
            born = dt.date(1940, 1, 1) + dt.timedelta(days=rnd.randrange(365 * 62))
            writer.writerow((
                f"B{i:07d}", code, f"Thôn {i % 12 + 1}",
                f"{rnd.choice(FAMILY)} {rnd.choice(MIDDLE)} {rnd.choice(GIVEN)}", f"{10**11 + i:012d}",
                born.isoformat(), rnd.choices(sizes, weights)[0], "true" if rnd.random() < 0.15 else "false",
                "true" if rnd.random() < 0.05 else "false", income, ";".join(rnd.sample(INDICATORS, deprived)), 2024))
    return intended


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.peak = 0
        self.phase_peaks: dict[str, int] = {}
        self.phase = "idle"
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                rss = self.process.memory_info().rss
            except psutil.Error:
                return
            self.peak = max(self.peak, rss)
            self.phase_peaks[self.phase] = max(self.phase_peaks.get(self.phase, 0), rss)
            time.sleep(0.05)


async def prepare_database(server_url: str) -> str:
    url = make_url(sqlalchemy_url(server_url)).set(database=f"bench_import_{uuid.uuid4().hex[:8]}")
    db_url = url.render_as_string(hide_password=False)
    await upgrade_async("registry", db_url)
    await load(db_url)
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        await conn.execute("DELETE FROM outbox")  # the units' own events are not this bench's business
    finally:
        await conn.close()
    return db_url


async def communes_of(db_url: str) -> list[tuple[str, bool]]:
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        rows = await conn.fetch("SELECT code, urban FROM units WHERE level = 'commune' AND ("
                                + " OR ".join(f"path LIKE '{p}.%'" for p in PROVINCES) + ") ORDER BY path")
        return [(r["code"], bool(r["urban"])) for r in rows]
    finally:
        await conn.close()


def start_service(db_url: str, nats_url: str, port: int, public_pem: str, workdir: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "REGISTRY_DATABASE_URL": db_url, "REGISTRY_NATS_URL": nats_url,
           "REGISTRY_PRINCIPAL_PUBLIC_KEY": public_pem, "REGISTRY_PERSONAL_DATA_KEY": generate_key(),
           "REGISTRY_PERSONAL_DATA_HASH_KEY": generate_key(), "REGISTRY_IMPORT_MAX_BYTES": str(4 * 1024**3),
           "REGISTRY_IMPORT_SPOOL_DIR": str(workdir), "REGISTRY_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "services.registry.main:create_app",
                             "--port", str(port), "--log-level", "warning"], env=env, stdin=subprocess.DEVNULL)


async def wait_healthy(client: httpx.AsyncClient) -> None:
    for _ in range(300):
        try:
            if (await client.get("/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the registry service did not start")


async def import_over_http(client: httpx.AsyncClient, headers: dict[str, str], csv_path: Path,
                           sampler: RssSampler, db_url: str) -> dict[str, Any]:
    sampler.phase = "import"
    started = time.perf_counter()
    with csv_path.open("rb") as f:
        response = await client.post("/registry/imports", headers=headers, files={"file": ("bench.csv", f)},
                                     timeout=600)
    uploaded = time.perf_counter() - started
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    progress: list[tuple[float, int]] = []
    while True:
        job = (await client.get(f"/registry/imports/{job_id}", headers=headers, params={"errors_limit": 5})).json()
        progress.append((time.perf_counter() - started, job["rows_done"]))
        if job["status"] not in ("pending", "running"):
            break
        await asyncio.sleep(0.25)
    elapsed = time.perf_counter() - started
    sampler.phase = "relay"
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        relay_started = time.perf_counter()
        while await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"):  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        relayed = time.perf_counter() - relay_started
        events = await conn.fetchval("SELECT count(*) FROM outbox")
    finally:
        await conn.close()
    sampler.phase = "idle"
    return {"job": job, "elapsed": elapsed, "uploaded": uploaded, "relay": relayed, "events": events,
            "progress_samples": len(progress)}


def built_batches(csv_path: Path, units: dict[str, Any], size: int = 5000) -> Any:
    """The import's own COPY records, batch by batch, as the runner builds them (sorted the same way)."""
    cipher = PersonalDataCipher(os.urandom(32), os.urandom(32))
    builder = RecordBuilder(uuid.uuid4(), Principal("bench", "admin", frozenset(), ()), cipher, None)
    sheet, _ = open_sheet(csv_path)
    validator = RowValidator(sheet.index, sheet.width, indicator_codes)
    batch: list[Any] = []
    try:
        for number, cells in sheet.rows:
            row = validator.check(number, cells)
            assert isinstance(row, HouseholdRow)
            batch.append((row, cipher.hash(row.head_citizen_id), units[row.commune_code]))
            if len(batch) == size:
                batch.sort(key=lambda p: (p[2].path, p[0].household_code))
                yield builder.build(batch)
                batch = []
        if batch:
            batch.sort(key=lambda p: (p[2].path, p[0].household_code))
            yield builder.build(batch)
    finally:
        sheet.close()


async def timed_copies(db_url: str, csv_path: Path, rows: int) -> dict[str, float]:
    """Rows/s of COPY alone, records built beforehand batch by batch (the build is not timed), each in one
    transaction like the import:
    - raw: the household rows (the households table's columns and types) into a scratch copy of that
      table without indexes or constraints: the issue's "raw asyncpg COPY of the same rows";
    - households: the same rows into the households table itself, with its indexes;
    - ceiling: the import's four tables (households, head members, assessments, history) with their
      indexes and foreign keys: what the storage allows whatever the Python side does."""
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        units = {code: c for code, found in (await storage.communes(conn)).items() for c in found
                 if c.hierarchy == "v2008"}
        await conn.execute("CREATE TABLE scratch_households (LIKE households INCLUDING DEFAULTS)")
        targets = {
            "raw": (("scratch_households", "households", storage.HOUSEHOLD_COLUMNS),),
            "households": (("households", "households", storage.HOUSEHOLD_COLUMNS),),
            "ceiling": (("households", "households", storage.HOUSEHOLD_COLUMNS),
                        ("household_members", "members", storage.MEMBER_COLUMNS),
                        ("household_assessments", "assessments", storage.ASSESSMENT_COLUMNS),
                        ("household_history", "history", storage.HISTORY_COLUMNS)),
        }
        rates: dict[str, float] = {}
        for name, tables in targets.items():
            await conn.execute("TRUNCATE scratch_households, household_history, household_assessments, "
                               "household_members, households CASCADE")
            await conn.execute("CHECKPOINT")  # each run starts without the previous one's dirty pages
            copy_time = 0.0
            async with conn.transaction():
                for records in built_batches(csv_path, units):
                    started = time.perf_counter()
                    for table, attribute, columns in tables:
                        await conn.copy_records_to_table(table, records=getattr(records, attribute), columns=columns)
                    copy_time += time.perf_counter() - started
            rates[name] = rows / copy_time
        return rates
    finally:
        await conn.close()


async def main(rows: int, seed: int) -> None:
    private_pem, public_pem = generate_keypair()
    token = PrincipalSigner(private_pem, ttl_seconds=24 * 3600).sign(Principal(
        id="bench", role="province_officer", permissions=frozenset({IMPORTS_WRITE}),
        scopes=tuple(ScopeUnit("v2008", p.split(".")[1], p, "province") for p in PROVINCES)))
    headers = {PRINCIPAL_HEADER: token}
    workdir = Path(tempfile.mkdtemp(prefix="chungtay-bench-import-"))
    try:
        await run(rows, seed, workdir, headers, public_pem)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


async def run(rows: int, seed: int, workdir: Path, headers: dict[str, str], public_pem: str) -> None:
    with bench_stack() as (pg_url, nats_url):
        db_url = await prepare_database(pg_url)
        communes = await communes_of(db_url)
        csv_path = workdir / "households.csv"
        started = time.perf_counter()
        intended = generate_csv(csv_path, rows, communes, seed)
        size = csv_path.stat().st_size / 1e6
        print(f"generated {rows:,} households in {len(communes)} communes ({size:.0f} MB) in "
              f"{time.perf_counter() - started:.1f} s; intended {dict(intended)}")
        port = free_port()
        service = start_service(db_url, nats_url, port, public_pem, workdir)
        sampler = RssSampler(service.pid)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                await wait_healthy(client)
                sampler.start()
                idle_rss = psutil.Process(service.pid).memory_info().rss
                result = await import_over_http(client, headers, csv_path, sampler, db_url)
        finally:
            sampler.stopped.set()
            service.terminate()
            service.wait(30)
        job = result["job"]
        assert job["status"] == "completed", job
        assert job["rows_stored"] == rows and job["counts"] == dict(intended), (job["counts"], intended)
        copies = await timed_copies(db_url, csv_path, rows)
    rate = rows / result["elapsed"]
    mb = 1024 * 1024
    print(f"import end to end: {rows:,} households in {result['elapsed']:.1f} s = {rate:,.0f} households/s "
          f"(upload {result['uploaded']:.1f} s; {result['progress_samples']} progress polls; status "
          f"{job['status']}, counts {job['counts']})")
    raw, indexed, ceiling = copies["raw"], copies["households"], copies["ceiling"]
    print(f"raw COPY of the same household rows (asyncpg copy_records_to_table, binary, one transaction) into "
          f"an unindexed copy of the households table: {raw:,.0f} rows/s")
    print(f"import / raw COPY: {rate / raw:.0%} (target ≥ 50 %)")
    print(f"same rows into the households table itself (its indexes): {indexed:,.0f} rows/s; the import "
          f"reaches {rate / indexed:.0%} of it")
    print(f"database ceiling: COPY alone of the import's 4 tables (households, head members, assessments, "
          f"history; their indexes and foreign keys), records pre-built: {ceiling:,.0f} households/s; the import "
          f"reaches {rate / ceiling:.0%} of it")
    peaks = {phase: peak / mb for phase, peak in sampler.phase_peaks.items()}
    print(f"service RSS: idle {idle_rss / mb:.0f} MB, peak during the import {peaks.get('import', 0):.0f} MB, "
          f"peak while the relay published its {result['events']} events {peaks.get('relay', 0):.0f} MB "
          f"({result['relay']:.1f} s) (target ≤ 300 MB)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.seed))
