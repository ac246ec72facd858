"""Real PostgreSQL and NATS for benchmarks: embedded in a temporary folder unless DATABASE_URL / NATS_URL are set;
a service's database on them, and the wait for a service started on them to answer."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from devstack.embedded import EmbeddedNats, EmbeddedPostgres, free_port
from devstack.migrate import upgrade_async
from shared.db import asyncpg_dsn, sqlalchemy_url


@contextmanager
def bench_stack() -> Iterator[tuple[str, str]]:
    """Yields (server-level PostgreSQL URL, NATS URL)."""
    tmp = Path(tempfile.mkdtemp(prefix="chungtay-bench-"))
    pg = nats = None
    try:
        pg_url, nats_url = os.environ.get("DATABASE_URL"), os.environ.get("NATS_URL")
        if not pg_url:
            pg = EmbeddedPostgres(tmp / "pg", free_port(), durable=True)
            pg.start()
            pg_url = pg.url
        if not nats_url:
            nats = EmbeddedNats(tmp / "nats", free_port())
            nats.start()
            nats_url = nats.url
        yield pg_url, nats_url
    finally:
        if nats:
            nats.stop()
        if pg:
            pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


async def migrated_database(pg_url: str, service: str, prefix: str) -> str:
    """A new database `{prefix}_xxxxxx` on the server of `pg_url`, migrated to `service`'s head; its URL."""
    url = make_url(sqlalchemy_url(pg_url)).set(database=f"{prefix}_{uuid.uuid4().hex[:6]}")
    admin = await asyncpg.connect(asyncpg_dsn(pg_url))
    await admin.execute(f'CREATE DATABASE "{url.database}"')
    await admin.close()
    db_url = url.render_as_string(hide_password=False)
    await upgrade_async(service, db_url)
    return db_url


async def wait_healthy(client: httpx.AsyncClient, name: str, attempts: int) -> None:
    """Until the service `client` talks to answers its /health with 200, trying `attempts` times 0.1 s
    apart; then RuntimeError "`name` did not start"."""
    for _ in range(attempts):
        try:
            if (await client.get("/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{name} did not start")
