"""Real PostgreSQL and NATS for benchmarks: embedded in a temporary folder unless DATABASE_URL / NATS_URL are set."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devstack.embedded import EmbeddedNats, EmbeddedPostgres, free_port


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
