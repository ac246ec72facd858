"""The personal-data access log, partitioned by month (Vietnam months): reads are logged into their
month's partition, the coming months exist ahead, a month without its partition still logs (the default
partition) and moves into its month when housekeeping creates it, an old month is dropped whole without
touching the others, and the migration keeps the rows a plain log held."""

from __future__ import annotations

import asyncio
from datetime import date, datetime

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from devstack.apps import migrations_dir
from services.registry.households.partitions import ensure_partitions
from services.registry.main import create_app
from services.registry.settings import RegistrySettings
from shared import clock
from shared.db import Database, asyncpg_dsn
from shared.migrations import upgrade
from tests.kit import Stack, eventually, fresh_database, running_app, service_env
from tests.registry.households_helpers import PROVINCE, as_, commune_officer, fetch, register


def month_name(day: date) -> str:
    return f"personal_data_access_log_{day:%Y_%m}"


def months_from(day: date, count: int) -> list[date]:
    months, year, month = [], day.year, day.month
    for _ in range(count):
        months.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


async def partitions(url: str) -> dict[str, str]:
    """Partition name -> its bounds, as PostgreSQL states them."""
    rows = await fetch(url, """
        SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bounds FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'personal_data_access_log'::regclass""")
    return {r["name"]: r["bounds"] for r in rows}


async def test_reads_are_logged_in_their_month_and_the_next_months_exist(household_client: httpx.AsyncClient,
                                                                          registry_db: str) -> None:
    this_month = clock.today().replace(day=1)
    existing = await partitions(registry_db)
    assert {month_name(m) for m in months_from(this_month, 4)} | {"personal_data_access_log_default"} <= set(existing)

    created = await register(household_client)
    read = await household_client.get(f"/registry/households/{created['id']}", headers=commune_officer())
    assert read.status_code == 200
    rows = await fetch(registry_db, "SELECT tableoid::regclass::text AS part FROM personal_data_access_log")
    assert [r["part"] for r in rows] == [month_name(clock.today())]
    log = await household_client.get("/registry/audit/access-log", headers=as_("province_officer", PROVINCE))
    assert log.json()["total"] == 1


async def test_a_month_without_partition_logs_and_moves_into_it_when_created(household_client: httpx.AsyncClient,
                                                                              registry_db: str) -> None:
    created = await register(household_client)
    conn = await asyncpg.connect(asyncpg_dsn(registry_db))
    try:
        # A row of January 2025 (no partition for it: the log began this month) lands in the default one.
        await conn.execute("""
            INSERT INTO personal_data_access_log (id, household_id, unit_path, principal_id, action, unmasked, at)
            SELECT gen_random_uuid(), id, unit_path, 'old-reader', 'read', false, '2025-01-15 10:00+07'
            FROM households WHERE id = $1""", created["id"])
        assert await conn.fetchval("SELECT count(*) FROM personal_data_access_log_default") == 1
        db = Database(registry_db, pool_size=2)
        try:
            # Two processes' housekeeping at once: serialised, each month created once.
            january = date(2025, 1, 1)
            counts = await asyncio.gather(ensure_partitions(db, january), ensure_partitions(db, january))
            assert sorted(counts)[0] == 0 and sorted(counts)[1] >= 12  # January 2025 up to last month at least
            assert await ensure_partitions(db, january) == 0
        finally:
            await db.dispose()
        assert await conn.fetchval("SELECT count(*) FROM personal_data_access_log_default") == 0
        assert await conn.fetchval("SELECT count(*) FROM personal_data_access_log_2025_01") == 1
        # Retention: the old month goes whole, in one statement; the rest of the log stays.
        before = await conn.fetchval("SELECT count(*) FROM personal_data_access_log")
        await conn.execute("DROP TABLE personal_data_access_log_2025_01")
        assert await conn.fetchval("SELECT count(*) FROM personal_data_access_log") == before - 1
    finally:
        await conn.close()
    log = await household_client.get("/registry/audit/access-log", params={"principal_id": "old-reader"},
                                     headers=as_("province_officer", PROVINCE))
    assert log.status_code == 200 and log.json()["total"] == 0


async def test_the_migration_keeps_the_rows_of_a_plain_log(stack: Stack) -> None:
    url = await fresh_database(stack, "registry")  # at head: start again from the revision before
    name = make_url(url).database
    admin = await asyncpg.connect(asyncpg_dsn(stack.pg_url))
    try:
        plain = f"{name}_plain"
        await admin.execute(f'CREATE DATABASE "{plain}"')
    finally:
        await admin.close()
    plain_url = make_url(url).set(database=plain).render_as_string(hide_password=False)
    await asyncio.to_thread(upgrade, migrations_dir("registry"), plain_url, "registry_0006_dci")
    conn = await asyncpg.connect(asyncpg_dsn(plain_url))
    try:
        for at in ("2026-03-31 23:30+07", "2026-04-01 00:30+07", "2026-04-20 12:00+07"):
            await conn.execute("""
                INSERT INTO personal_data_access_log (id, household_id, unit_path, principal_id, action, unmasked, at)
                VALUES (gen_random_uuid(), gen_random_uuid(), 'v2008.24.213.07207', 'reader', 'read', true, $1)""",
                               datetime.fromisoformat(at + ":00"))
    finally:
        await conn.close()
    await asyncio.to_thread(upgrade, migrations_dir("registry"), plain_url, "head")
    rows = await fetch(plain_url, "SELECT tableoid::regclass::text AS part, count(*) AS n "
                                  "FROM personal_data_access_log GROUP BY 1 ORDER BY 1")
    # Vietnam months: 23:30 on 31 March in Hà Nội is March, half an hour later April.
    assert [(r["part"], r["n"]) for r in rows] == [("personal_data_access_log_2026_03", 1),
                                                   ("personal_data_access_log_2026_04", 2)]
    assert month_name(clock.today()) in await partitions(plain_url)


async def test_the_registry_creates_the_coming_months_when_it_starts(registry_db: str, nats_url: str) -> None:
    """The housekeeping worker of a registry process: a coming month missing (dropped here) is there again
    once the service has started."""
    furthest = month_name(months_from(clock.today(), 4)[-1])
    conn = await asyncpg.connect(asyncpg_dsn(registry_db))
    try:
        await conn.execute(f"DROP TABLE {furthest}")
    finally:
        await conn.close()
    assert furthest not in await partitions(registry_db)
    async with running_app(create_app(RegistrySettings(**service_env("registry", registry_db, nats_url)))):
        async def recreated() -> bool:
            return furthest in await partitions(registry_db)

        await eventually(recreated, timeout=30)
