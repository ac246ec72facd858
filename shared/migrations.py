"""Alembic per service, run programmatically on a migrations folder the caller names.

Each service keeps its migrations in `<package>/migrations`; its env.py is two lines calling
`run_env(metadata)`. Databases are created on demand from a server-level URL. Which folder belongs
to which service is the tooling's knowledge (`devstack.apps`): `shared/` names no service package.
By hand: `python -m devstack.migrate upgrade <service> <database URL>`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db import asyncpg_dsn, sqlalchemy_url


def database_name(service: str) -> str:
    return f"chungtay_{service}"


def service_database_url(server_url: str, service: str) -> str:
    """The URL of the service's own database on the server `server_url` points at."""
    return make_url(sqlalchemy_url(server_url)).set(database=database_name(service)).render_as_string(
        hide_password=False)


async def ensure_database(database_url: str) -> None:
    """CREATE DATABASE if it does not exist (connects to the server's `postgres` database)."""
    url = make_url(database_url)
    name = url.database
    admin = await asyncpg.connect(asyncpg_dsn(url.set(database="postgres").render_as_string(hide_password=False)))
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


def alembic_config(migrations: Path, database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations))
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(database_url).replace("%", "%%"))
    return cfg


def upgrade(migrations: Path, database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(migrations, database_url), revision)


async def upgrade_async(migrations: Path, database_url: str) -> None:
    """Create the database if needed and migrate it to head (Alembic runs in a worker thread)."""
    await ensure_database(database_url)
    await asyncio.to_thread(upgrade, migrations, database_url)


def run_env(target_metadata: MetaData | None) -> None:
    """The body of every service's migrations/env.py."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return

    def do_run(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
        await engine.dispose()

    asyncio.run(run_async())

