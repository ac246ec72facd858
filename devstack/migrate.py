"""Migrate and bootstrap every service's database: the one-shot step before the services start.

    python -m devstack.migrate                  # migrate every database to head, then run the bootstraps
    python -m devstack.migrate wait NAME        # block until NAME's database is at head (k8s init containers)
    python -m devstack.migrate upgrade NAME URL # migrate one database to head (created if missing)

Each service's URL is `<SERVICE>_DATABASE_URL` when set (the same variable the service reads), else
the database `chungtay_<service>` on the server that `DATABASE_URL` points at. `make run`
(devstack/run.py), the compose `migrate` service and the Kubernetes migrate Job all go through here.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
import time
from collections.abc import Mapping, Sequence

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import pool, text
from sqlalchemy.ext.asyncio import create_async_engine

from devstack.apps import APPS, migrations_dir, package_of
from shared import migrations
from shared.db import sqlalchemy_url
from shared.migrations import service_database_url

NAMES = APPS  # migration order: the services first, the gateway last


def log(message: str) -> None:
    print(f"[chungtay] {message}", flush=True)


def database_urls(names: Sequence[str] = NAMES, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The database URL of each named service: its own variable first, else derived from DATABASE_URL."""
    env = os.environ if env is None else env
    server_url = env.get("DATABASE_URL")
    urls = {}
    for name in names:
        own = env.get(f"{name.upper()}_DATABASE_URL")
        if own:
            urls[name] = own
        elif server_url:
            urls[name] = service_database_url(server_url, name)
        else:
            raise SystemExit(f"no database URL for {name}: set {name.upper()}_DATABASE_URL or DATABASE_URL")
    return urls


async def upgrade_async(name: str, database_url: str) -> None:
    """Create the database of `name` (a service or the gateway) if needed and migrate it to head."""
    await migrations.upgrade_async(migrations_dir(name), database_url)


async def migrate(urls: Mapping[str, str]) -> None:
    for name, url in urls.items():
        await upgrade_async(name, url)
        log(f"database of {name} migrated")


async def prepare_databases(server_url: str) -> dict[str, str]:
    """`make run`: one database per service on one server, created if needed and migrated."""
    urls = {name: service_database_url(server_url, name) for name in NAMES}
    await migrate(urls)
    return urls


async def bootstrap(urls: Mapping[str, str]) -> None:
    """Each package may have a `bootstrap.run(database_url)` for reference or demo data; it is idempotent."""
    for name, url in urls.items():
        package = package_of(name)
        try:
            module = importlib.import_module(f"{package}.bootstrap")
        except ModuleNotFoundError as exc:
            if exc.name != f"{package}.bootstrap":
                raise  # the bootstrap exists but something it imports is missing: a real error
            continue
        started = time.monotonic()
        await module.run(url)
        log(f"{name} bootstrap done in {time.monotonic() - started:.1f}s")


async def current_and_head(name: str, url: str) -> tuple[str | None, str | None]:
    """(revision the database is at, head revision of the code); (None, head) if unreachable."""
    head = ScriptDirectory.from_config(migrations.alembic_config(migrations_dir(name), url)).get_current_head()
    engine = create_async_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:
            current = await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
    except Exception:
        current = None
    finally:
        await engine.dispose()
    return current, head


async def wait_migrated(urls: Mapping[str, str], timeout: float, interval: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    pending = list(urls)
    while pending:
        for name in list(pending):
            current, head = await current_and_head(name, urls[name])
            if current == head:
                log(f"database of {name} is at {head}")
                pending.remove(name)
        if pending:
            if time.monotonic() > deadline:
                log(f"timed out waiting for the migration of {', '.join(pending)}")
                return False
            await asyncio.sleep(interval)
    return True


async def wait_for_unit_directory(urls: Mapping[str, str], timeout: float = 300) -> int:
    """Until the gateway's unit directory holds every registry unit: before that, requests naming a
    unit are refused as unknown, so `make run` must not say "ready" early. Returns the unit count."""
    registry = create_async_engine(sqlalchemy_url(urls["registry"]), poolclass=pool.NullPool)
    gateway = create_async_engine(sqlalchemy_url(urls["gateway"]), poolclass=pool.NullPool)
    deadline = time.monotonic() + timeout
    try:
        while True:
            async with registry.connect() as conn:
                units = int((await conn.execute(text("SELECT count(*) FROM units"))).scalar_one())
            async with gateway.connect() as conn:
                known = int((await conn.execute(text("SELECT count(*) FROM directory_units"))).scalar_one())
            if known >= units:
                return units
            if time.monotonic() > deadline:
                raise TimeoutError(f"the gateway's unit directory holds {known} of {units} units after {timeout:.0f}s")
            await asyncio.sleep(0.5)
    finally:
        await registry.dispose()
        await gateway.dispose()


def main(argv: list[str]) -> int:
    if not argv:
        urls = database_urls()
        asyncio.run(migrate(urls))
        asyncio.run(bootstrap(urls))
        return 0
    if argv[0] == "wait" and len(argv) > 1 and all(name in NAMES for name in argv[1:]):
        timeout = float(os.environ.get("CHUNGTAY_MIGRATE_WAIT_SECONDS", "600"))
        return 0 if asyncio.run(wait_migrated(database_urls(argv[1:]), timeout)) else 1
    if argv[0] == "upgrade" and len(argv) == 3 and argv[1] in NAMES:
        asyncio.run(upgrade_async(argv[1], argv[2]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
