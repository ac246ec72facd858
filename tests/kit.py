"""The test kit: real PostgreSQL and NATS (embedded, or the URLs in the environment), fresh databases
cloned from a migrated template, principals signed like the gateway signs them, and service apps
running in process with their lifespan (relay and consumers included).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from devstack.migrate import upgrade_async
from shared.db import asyncpg_dsn, sqlalchemy_url
from shared.principal import PRINCIPAL_HEADER, Principal, PrincipalSigner, ScopeUnit, generate_keypair
from shared.scope import split_path

PRIVATE_KEY, PUBLIC_KEY = generate_keypair()
# Long-lived: some modules sign their callers once at import, and a loaded machine runs the suite for
# well over ten minutes.
SIGNER = PrincipalSigner(PRIVATE_KEY, ttl_seconds=12 * 3600)


@dataclass
class Stack:
    pg_url: str  # server-level URL (database "postgres")
    nats_url: str


_template_lock = asyncio.Lock()
_templates: dict[str, str] = {}


async def _admin(stack: Stack) -> asyncpg.Connection:
    return await asyncpg.connect(asyncpg_dsn(stack.pg_url))


async def fresh_database(stack: Stack, service: str) -> str:
    """A new database for `service`, migrated to head (cloned from a template migrated once)."""
    async with _template_lock:
        template = _templates.get(service)
        if template is None:
            template = f"tpl_{service}_{uuid.uuid4().hex[:8]}"
            url = make_url(sqlalchemy_url(stack.pg_url)).set(database=template).render_as_string(hide_password=False)
            await upgrade_async(service, url)
            _templates[service] = template
    name = f"t_{service}_{uuid.uuid4().hex[:10]}"
    admin = await _admin(stack)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await admin.close()
    return make_url(sqlalchemy_url(stack.pg_url)).set(database=name).render_as_string(hide_password=False)


def scope_unit(path: str) -> ScopeUnit:
    hierarchy, codes = split_path(path)
    level = {0: "national", 1: "province", 2: "district" if hierarchy == "v2008" else "commune",
             3: "commune"}[len(codes)]
    return ScopeUnit(hierarchy=hierarchy, code=codes[-1] if codes else hierarchy, path=path, level=level)


def make_principal(role: str, scope_paths: Iterable[str], permissions: Iterable[str] = ("*",),
                   principal_id: str | None = None, kind: str = "user") -> Principal:
    return Principal(
        id=principal_id or f"{role}-{uuid.uuid4().hex[:6]}", role=role, permissions=frozenset(permissions),
        scopes=tuple(scope_unit(p) for p in scope_paths), kind=kind, name=role,
    )


def auth_headers(principal: Principal) -> dict[str, str]:
    return {PRINCIPAL_HEADER: SIGNER.sign(principal)}


def service_env(service: str, database_url: str, nats_url: str, **extra: Any) -> dict[str, Any]:
    return {"database_url": database_url, "nats_url": nats_url, "principal_public_key": PUBLIC_KEY,
            "consumer_ack_wait_seconds": 2.0, "consumer_backoff_seconds": 0.2, "relay_idle_seconds": 0.5,
            **extra}


@asynccontextmanager
async def running_app(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan (relay, consumers) and an HTTP client talking to it in process."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def eventually(check: Any, timeout: float = 30.0, interval: float = 0.1) -> Any:
    """Polls an async check until it returns a truthy value (events cross services asynchronously)."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: Any = None
    while True:
        last = await check()
        if last:
            return last
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")
        await asyncio.sleep(interval)


def env_urls() -> tuple[str | None, str | None]:
    return os.environ.get("DATABASE_URL"), os.environ.get("NATS_URL")


async def fetch(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    """Rows of a query on a service database, outside any service (what the test checks, not how)."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def scalar(url: str, sql: str, *args: object) -> Any:
    rows = await fetch(url, sql, *args)
    return rows[0][0] if rows else None


async def cut_connections(stack: Stack, database_url: str) -> None:
    """What a PostgreSQL restart or failover does to a database's open connections: ends them all."""
    admin = await _admin(stack)
    try:
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                            make_url(database_url).database)
    finally:
        await admin.close()


@asynccontextmanager
async def unreachable(stack: Stack, database_url: str) -> AsyncIterator[None]:
    """The database refuses every connection (its open ones ended) until the block is left."""
    database = make_url(database_url).database
    admin = await _admin(stack)
    try:
        await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
        await cut_connections(stack, database_url)
        yield
    finally:
        await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        await admin.close()


# The Debian package that brings each system tool `devstack/ensure_tools.sh` installs.
TOOL_PACKAGES = {"docker-compose": "docker-compose", "redis-server": "redis-server", "wrk": "wrk",
                 "soffice": "libreoffice-writer-nogui", "pdftoppm": "poppler-utils",
                 "chromium": "chromium"}


def system_tool(name: str) -> str:
    """The path of a system tool a few tests need. `make test` installs it as root
    (devstack/ensure_tools.sh): missing for root, that is a failure; missing for another user, who
    cannot install it, the test is skipped with the reason."""
    found = shutil.which(name)
    if found:
        return found
    package = TOOL_PACKAGES.get(name, name)
    if os.geteuid() == 0:
        pytest.fail(f"{name} is not installed: `bash devstack/ensure_tools.sh` (run by make test) installs the "
                    f"Debian package {package}")
    pytest.skip(f"needs {name} (Debian package {package}), which only root can install: "
                "`sudo bash devstack/ensure_tools.sh`")
