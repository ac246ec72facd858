"""Reference data of the support service, run by `make run` after migrations: the catalogue
(programmes, funding sources, bodies, measures, activity kinds) from data/catalogue.json."""

from __future__ import annotations

from services.support.catalogue.service import load_file
from shared.db import Database


async def run(database_url: str) -> None:
    """Idempotent: a second run writes nothing and emits no event."""
    db = Database(database_url, pool_size=1)
    try:
        async with db.system_session() as session:
            changed = await load_file(session)
    finally:
        await db.dispose()
    print(f"[chungtay] support catalogue: {changed} entries added or changed", flush=True)
