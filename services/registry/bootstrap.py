"""Reference data of the registry, run by `make run` after migrations: the administrative units."""

from __future__ import annotations

import logging

from services.registry.units.load import load

log = logging.getLogger(__name__)


async def run(database_url: str) -> None:
    """Idempotent: a second run writes nothing and emits no event."""
    report = await load(database_url)
    log.info("administrative units: %s", report.summary())
    print(f"[chungtay] registry units: {report.summary()}", flush=True)
