"""Announce the current state of the registry's households again, for the services that keep a read
model of them (support, emulation) and learnt some fields only from events written after those
households last changed: the deprivation indicators, the member ids, an imported household's code.

    python -m services.registry.operations.republish [--unit CODE [--hierarchy v2008|v2025]]
                                                     [--batch 1000] [--database-url URL]

Writes one `registry.household.restated` event per living household (docs/events.md) into the
registry's outbox, `--batch` households per transaction (keyset on the id: an interrupted run keeps
what it committed and can simply be run again); the running registry's relay publishes them. Each
event carries the household's current version: a consumer holding that version fills only what it
lacks, one holding an older version takes the household as an update would, one holding a newer
version ignores it — so running it twice, or while officers change households, changes nothing more.
`--unit`: only the households of that unit (a province, district or commune, by code) and below.
URL defaults to REGISTRY_DATABASE_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from services.registry import events
from services.registry.operations import repository
from services.registry.settings import RegistrySettings
from shared.context import request_id_var
from shared.db import asyncpg_dsn
from shared.events import uuid7, write_events


class RepublishError(RuntimeError):
    pass


@dataclass(frozen=True)
class Republished:
    households: int
    batches: int
    unit_path: str | None
    correlation_id: str


async def _scope(conn: asyncpg.Connection, unit: str | None, hierarchy: str | None) -> str | None:
    if unit is None:
        return None
    found = await repository.units(conn, unit, hierarchy)
    if not found:
        raise RepublishError(f"no unit {unit}" + (f" in {hierarchy}" if hierarchy else ""))
    if len(found) > 1:
        raise RepublishError(f"{unit} names units in {' and '.join(r['hierarchy'] for r in found)}: "
                             "give --hierarchy")
    return str(found[0]["path"])


async def republish(database_url: str, *, unit: str | None = None, hierarchy: str | None = None,
                    batch: int = 1000, progress: Callable[[int], None] | None = None) -> Republished:
    """One `registry.household.restated` event per living household in scope, `batch` per transaction."""
    correlation = f"republish-{uuid7()}"  # every event of the run carries it
    token = request_id_var.set(correlation)
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        path = await _scope(conn, unit, hierarchy)
        after, total, batches = repository.FIRST_ID, 0, 0
        while True:
            async with conn.transaction():
                rows = [dict(r) for r in await repository.households(conn, after, None if path is None else [path],
                                                                     batch)]
                if rows:
                    await write_events(conn, [events.household_restated(r) for r in rows])
            if not rows:
                return Republished(total, batches, path, correlation)
            after, total, batches = rows[-1]["id"], total + len(rows), batches + 1
            if progress is not None:
                progress(total)
    finally:
        await conn.close()
        request_id_var.reset(token)


def main(argv: list[str] | None = None) -> int:
    settings = RegistrySettings()
    parser = argparse.ArgumentParser(prog="python -m services.registry.operations.republish", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=settings.database_url, help="the registry's database")
    parser.add_argument("--unit", help="a province, district or commune code: only its households")
    parser.add_argument("--hierarchy", choices=("v2008", "v2025"), help="when the code names units in both")
    parser.add_argument("--batch", type=int, default=1000, help="households per transaction (default 1000)")
    args = parser.parse_args(argv)
    if args.batch < 1:
        parser.error("--batch must be at least 1")
    started = time.monotonic()
    try:
        done = asyncio.run(republish(args.database_url, unit=args.unit, hierarchy=args.hierarchy, batch=args.batch,
                                     progress=lambda n: print(f"{n} households written", flush=True)))
    except (RepublishError, OSError, asyncpg.PostgresError) as exc:
        print(f"republish failed: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {done.households} registry.household.restated events in {done.batches} batches "
          f"({done.unit_path or 'every unit'}; correlation id {done.correlation_id}) in "
          f"{time.monotonic() - started:.1f} s; the registry's relay publishes them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
