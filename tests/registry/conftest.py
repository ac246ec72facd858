"""Registry fixtures: a database with the administrative units loaded, and the registry app.

Units are loaded once per session into a template database (about 14,000 units and 10,600
crosswalk rows); each test gets its own clone. The template's outbox is emptied so a test's relay
does not publish the load's 14,000 `registry.unit.changed` events.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from services.registry.main import create_app
from services.registry.settings import RegistrySettings
from services.registry.units.load import load_units
from shared.crypto import generate_key
from shared.db import Database, asyncpg_dsn, sqlalchemy_url
from tests.kit import Stack, fresh_database, running_app, service_env


@pytest.fixture(scope="session")
async def units_template(stack: Stack) -> str:
    """Name of a migrated registry database with the units loaded (used only as a template)."""
    url = await fresh_database(stack, "registry")
    db = Database(url, pool_size=1)
    try:
        async with db.system_session() as session:
            await load_units(session)
            await session.execute(text("DELETE FROM outbox"))
    finally:
        await db.dispose()
    name = make_url(url).database
    assert name is not None
    return name


@pytest.fixture
async def registry_db(stack: Stack, units_template: str) -> str:
    """URL of a fresh registry database of this test, migrated, units loaded, outbox empty."""
    name = f"t_registry_units_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(asyncpg_dsn(stack.pg_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{units_template}"')
    finally:
        await admin.close()
    return make_url(sqlalchemy_url(stack.pg_url)).set(database=name).render_as_string(hide_password=False)


@pytest.fixture
async def registry_client(registry_db: str, nats_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The registry app (relay and consumers running) on `registry_db`, and a client talking to it."""
    app = create_app(RegistrySettings(**service_env("registry", registry_db, nats_url)))
    async with running_app(app) as client:
        yield client


# --- households, members, reviews, personal data ---------------------------------------------------

PERSONAL_DATA_KEYS = {"personal_data_key": generate_key(), "personal_data_hash_key": generate_key()}


@pytest.fixture
async def household_client(registry_db: str, nats_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The registry app with personal-data keys configured (citizen IDs are encrypted with them)."""
    settings = RegistrySettings(**service_env("registry", registry_db, nats_url, **PERSONAL_DATA_KEYS))
    async with running_app(create_app(settings)) as client:
        yield client
