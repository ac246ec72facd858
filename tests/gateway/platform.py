"""The whole platform in process for the end-to-end gateway tests: the four services on real ports
with their databases (the registry with every administrative unit loaded, whose events fill the
gateway's unit directory), the gateway in front, and the accounts of every role."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from devstack.embedded import EmbeddedNats, free_port
from gateway.main import create_app
from gateway.proxy.front import GatewayFront
from services.registry.units.load import load_units
from services.support import bootstrap as support_bootstrap
from shared.crypto import generate_key
from shared.db import Database, asyncpg_dsn
from shared.services import SERVICES
from tests.gateway.support import gateway_settings, running_gateway, seed, serve
from tests.kit import Stack, eventually, fresh_database, service_env

PASSWORD = "a-long-password"
# Accounts made through the admin API, besides the demo ones: every role, and officers of other
# units to try other units' rows.
EXTRA_ACCOUNTS = {
    "surveyor.07207": ("surveyor", "07207"),
    "viewer.07207": ("viewer", "07207"),
    "commune.07243": ("commune_officer", "07243"),
    "district.215": ("district_officer", "215"),
    "province.25": ("province_officer", "25"),
    "admin.25": ("admin", "25"),
}


@dataclass
class Platform:
    client: httpx.AsyncClient
    front: GatewayFront
    upstreams: dict[str, str]
    databases: dict[str, str]
    tokens: dict[str, str] = field(default_factory=dict)

    def bearer(self, account: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[account]}"}


def _settings(service: str, url: str, nats_url: str) -> Any:
    module = importlib.import_module(f"services.{service}.settings")
    cls = next(v for k, v in vars(module).items() if k.endswith("Settings") and k != "ServiceSettings")
    extra = {"personal_data_key": generate_key(), "personal_data_hash_key": generate_key()} \
        if service == "registry" else {}
    return cls(**service_env(service, url, nats_url, **extra))


async def _registry_with_units(stack: Stack) -> str:
    """A registry database with every unit loaded and the load's events still in the outbox: the
    relay publishes them when the registry starts, as after `make run`'s bootstrap."""
    url = await fresh_database(stack, "registry")
    db = Database(url, pool_size=1)
    try:
        async with db.system_session() as session:
            await load_units(session)
    finally:
        await db.dispose()
    return url


async def start_platform(stack: Stack, tmp: Path) -> AsyncIterator[Platform]:
    async with AsyncExitStack() as exits:
        nats_server = EmbeddedNats(tmp / "nats", free_port())
        nats_server.start()
        exits.callback(nats_server.stop)
        databases = {"registry": await _registry_with_units(stack)}
        for service in SERVICES[1:]:
            databases[service] = await fresh_database(stack, service)
        await support_bootstrap.run(databases["support"])  # the catalogue, as `make run` loads it
        databases["gateway"] = await fresh_database(stack, "gateway")
        await seed(databases["gateway"])
        upstreams = {}
        for service in SERVICES:
            main = importlib.import_module(f"services.{service}.main")
            app = main.create_app(_settings(service, databases[service], nats_server.url))
            upstreams[service] = await exits.enter_async_context(serve(app))
        front = create_app(gateway_settings(databases["gateway"], nats_server.url, upstreams,
                                                requests_per_principal_per_minute=0,
                                                token_requests_per_ip_per_minute=10_000))
        client = await exits.enter_async_context(running_gateway(front))
        units = await _count_units(databases["registry"])

        async def directory_full() -> bool:
            return len(front.app.state.directory) >= units

        await eventually(directory_full, timeout=120, interval=0.5)
        platform = Platform(client, front, upstreams, databases)
        await _accounts(platform)
        yield platform


async def _count_units(url: str) -> int:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM units"))
    finally:
        await conn.close()


async def _login(client: httpx.AsyncClient, username: str, password: str) -> str:
    response = await client.post("/auth/token", data={"grant_type": "password", "username": username,
                                                      "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def _accounts(platform: Platform) -> None:
    client = platform.client
    for name in ("admin", "province.24", "district.213", "commune.07207", "commune.07222", "emulation.24"):
        platform.tokens[name] = await _login(client, name, "demo")
    for username, (role, code) in EXTRA_ACCOUNTS.items():
        created = await client.post("/admin/users", headers=platform.bearer("admin"), json={
            "username": username, "role": role, "scopes": [{"hierarchy": "v2008", "code": code}],
            "password": PASSWORD})
        assert created.status_code == 201, created.text
        platform.tokens[username] = await _login(client, username, PASSWORD)
    grant = await client.post("/auth/token", data={"grant_type": "client_credentials", "client_id": "system.demo",
                                                   "client_secret": "demo"})
    platform.tokens["system.demo"] = grant.json()["access_token"]


async def fingerprint(url: str) -> dict[str, str]:
    """What a database holds, table by table (outbox by count: the relay marks rows sent)."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        tables = [r[0] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename NOT IN ('inbox', 'dead_letters', 'alembic_version') ORDER BY 1")]
        found = {}
        for table in tables:
            if table == "outbox":
                found[table] = str(await conn.fetchval("SELECT count(*) FROM outbox"))
            else:
                found[table] = str(await conn.fetchval(
                    f'SELECT md5(coalesce(string_agg(t::text, \'|\' ORDER BY t::text), \'\')) FROM "{table}" t'))
        return found
    finally:
        await conn.close()


async def settled_fingerprints(databases: dict[str, str]) -> dict[str, dict[str, str]]:
    """Fingerprints once the consumers have stopped changing anything (two equal reads in a row)."""
    previous: dict[str, dict[str, str]] | None = None
    for _ in range(60):
        current = {s: await fingerprint(u) for s, u in databases.items() if s != "gateway"}
        if current == previous:
            return current
        previous = current
        await asyncio.sleep(1.0)
    raise AssertionError("the platform's databases never settled")


def database_name(url: str) -> str:
    return str(make_url(url).database)
