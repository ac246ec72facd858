"""`dci_deliveries` does not only grow: the registry's housekeeping (at start and every six hours, with the
access-log partitions) deletes callbacks delivered or given up more than REGISTRY_DCI_DELIVERY_RETENTION_DAYS
ago, and keeps every callback still waiting, however old, and the recent ones."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import asyncpg
import pytest

from services.registry.dci import housekeeping
from services.registry.main import create_app
from services.registry.settings import RegistrySettings
from shared import clock
from shared.db import Database, asyncpg_dsn
from tests.kit import eventually, fetch, running_app, service_env
from tests.registry.conftest import PERSONAL_DATA_KEYS
from tests.registry.test_rekey import cipher

DAY = timedelta(days=1)


async def _deliveries(registry_db: str, rows: dict[str, tuple[timedelta, str | None, timedelta | None]]) -> None:
    """name -> (age, 'delivered' | 'expired' | None (waiting), how long ago it was delivered / given up)."""
    now = clock.now()
    conn = await asyncpg.connect(asyncpg_dsn(registry_db))
    try:
        for name, (age, outcome, ago) in rows.items():
            done = now - ago if ago is not None else None
            await conn.execute(
                "INSERT INTO dci_deliveries (id, message_id, client_id, action, url, body_sealed, attempts, "
                "next_attempt_at, delivered_at, expired_at, created_at) "
                "VALUES ($1, $2, 'bhxh', 'notify', 'http://127.0.0.1:9/dci', $3, 1, $4, $5, $6, $7)",
                uuid.uuid4(), name, b"sealed", now + 365 * DAY,  # a waiting one is not due during the test
                done if outcome == "delivered" else None, done if outcome == "expired" else None, now - age)
    finally:
        await conn.close()


async def _left(registry_db: str) -> set[str]:
    return {r["message_id"] for r in await fetch(registry_db, "SELECT message_id FROM dci_deliveries")}


ROWS = {
    "delivered-40-days-ago": (40 * DAY, "delivered", 40 * DAY),
    "given-up-31-days-ago": (38 * DAY, "expired", 31 * DAY),
    "delivered-yesterday": (2 * DAY, "delivered", DAY),
    "delivered-29-days-ago-after-8-days": (37 * DAY, "delivered", 29 * DAY),
    "waiting-for-60-days": (60 * DAY, None, None),
    "waiting-since-today": (timedelta(minutes=5), None, None),
}
KEPT = {"delivered-yesterday", "delivered-29-days-ago-after-8-days", "waiting-for-60-days", "waiting-since-today"}


async def test_the_registry_deletes_old_delivered_and_given_up_callbacks_and_keeps_waiting_ones(
        registry_db: str, nats_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    await _deliveries(registry_db, ROWS)
    monkeypatch.setenv("REGISTRY_DCI_DELIVERY_RETENTION_DAYS", "30")
    settings = RegistrySettings(**service_env("registry", registry_db, nats_url, **PERSONAL_DATA_KEYS))
    async with running_app(create_app(settings)):
        async def purged() -> bool:
            return await _left(registry_db) == KEPT

        await eventually(purged)


async def test_one_process_purges_at_a_time_and_a_shorter_retention_takes_more(registry_db: str) -> None:
    await _deliveries(registry_db, ROWS)
    db = Database(registry_db, pool_size=2)
    try:
        keys = cipher(PERSONAL_DATA_KEYS)
        # Two processes' rounds at once: whichever runs deletes; none deletes a row twice or fails.
        rounds = await asyncio.gather(*(housekeeping.run(db, keys, 30 * 86400.0) for _ in range(2)))
        assert sum(r.purged for r in rounds if r is not None) == 2
        assert await _left(registry_db) == KEPT
        # A retention of one hour: every finished callback goes, the waiting ones stay.
        again = await housekeeping.run(db, keys, 3600.0)
        assert again is not None and again.purged == 2
        assert await _left(registry_db) == {"waiting-for-60-days", "waiting-since-today"}
    finally:
        await db.dispose()
