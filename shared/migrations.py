"""Alembic per service, run programmatically: `python -m shared.migrations upgrade registry URL`.

Each service keeps its migrations in `<package>/migrations`; its env.py is two lines calling
`run_env(metadata)`. Databases are created on demand from a server-level URL.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from pathlib import Path

import asyncpg
from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db import asyncpg_dsn, sqlalchemy_url

SERVICE_PACKAGES = {
    "registry": "services.registry",
    "support": "services.support",
    "emulation": "services.emulation",
    "reporting": "services.reporting",
    "gateway": "gateway",
}


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


def alembic_config(service: str, database_url: str) -> Config:
    package = importlib.import_module(SERVICE_PACKAGES[service])
    assert package.__file__ is not None
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(package.__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(database_url).replace("%", "%%"))
    cfg.attributes["service"] = service
    return cfg


def upgrade(service: str, database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(service, database_url), revision)


async def upgrade_async(service: str, database_url: str) -> None:
    """Create the database if needed and migrate it to head (Alembic runs in a worker thread)."""
    await ensure_database(database_url)
    await asyncio.to_thread(upgrade, service, database_url)


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


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] != "upgrade" or argv[1] not in SERVICE_PACKAGES:
        print("usage: python -m shared.migrations upgrade <service> <database-url>", file=sys.stderr)
        return 2
    asyncio.run(upgrade_async(argv[1], argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
