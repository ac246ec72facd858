"""Session-wide real PostgreSQL and NATS: embedded on free ports, or DATABASE_URL / NATS_URL."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from devstack.embedded import EmbeddedNats, EmbeddedPostgres, free_port
from tests.kit import Stack, env_urls


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    pg_env, nats_env = env_urls()
    tmp = Path(tempfile.mkdtemp(prefix="chungtay-test-"))
    pg = nats = None
    try:
        if not pg_env:
            pg = EmbeddedPostgres(tmp / "pg", free_port(), durable=False)
            pg.start()
        if not nats_env:
            nats = EmbeddedNats(tmp / "nats", free_port())
            nats.start()
        yield Stack(pg_url=pg_env or pg.url, nats_url=nats_env or nats.url)  # type: ignore[union-attr]
    finally:
        if nats:
            nats.stop()
        if pg:
            pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)  # hundreds of test databases: gigabytes left behind otherwise


@pytest.fixture
def fresh_nats() -> Iterator[EmbeddedNats]:
    """A NATS server of the test's own, for tests that restart or inspect streams.

    Its folder is its own (not tmp_path, which a concurrent pytest session may prune under it).
    """
    folder = Path(tempfile.mkdtemp(prefix="chungtay-nats-"))
    server = EmbeddedNats(folder, free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
async def nats_url(stack: Stack, fresh_nats: EmbeddedNats) -> AsyncIterator[str]:
    """Each test gets empty streams unless NATS_URL points at a shared server."""
    _, nats_env = env_urls()
    yield nats_env or fresh_nats.url
