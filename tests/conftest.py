"""Session-wide real PostgreSQL and NATS: embedded on free ports, or DATABASE_URL / NATS_URL; and a
Redis of the tests' own (REDIS_URL to use another)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from devstack.embedded import EmbeddedNats, EmbeddedPostgres, free_port, port_open
from tests.kit import Stack, env_urls, system_tool


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


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis server started for the tests on a free port (`devstack/ensure_tools.sh` installs
    Debian's redis-server), or REDIS_URL when set."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    binary = system_tool("redis-server")
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="chungtay-redis-"))
    server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", str(folder)],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 15
        while not port_open(port):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"redis-server did not start on port {port}")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(folder, ignore_errors=True)
