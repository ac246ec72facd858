"""Reading how far a consumer has applied its stream: the freshness every answer reports.

Every indicator answer carries it as `current_as_of`, so a reader knows which event it reflects.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.progress.projection import REGISTRY_CONSUMER
from services.reporting.sql import fetch

PROGRESS_COLUMNS = "last_event_id, last_event_type, last_occurred_at, last_stream_seq, applied_at, events_applied"
_READ = f"SELECT {PROGRESS_COLUMNS} FROM rp_progress WHERE consumer = $1"


async def read_progress(session: AsyncSession, consumer: str = REGISTRY_CONSUMER) -> dict[str, Any]:
    rows = await fetch(session, _READ, consumer)
    return progress_of(rows[0] if rows else None)


def progress_of(row: Any) -> dict[str, Any]:
    """The freshness an answer reports, from a row holding PROGRESS_COLUMNS (or None: nothing applied)."""
    if row is None or row["applied_at"] is None:
        return {"event_id": None, "event_type": None, "occurred_at": None, "stream_seq": None,
                "applied_at": None, "events_applied": 0}
    return {
        "event_id": str(row["last_event_id"]) if row["last_event_id"] else None,
        "event_type": row["last_event_type"],
        "occurred_at": row["last_occurred_at"].isoformat() if row["last_occurred_at"] else None,
        "stream_seq": row["last_stream_seq"],
        "applied_at": row["applied_at"].isoformat() if row["applied_at"] else None,
        "events_applied": row["events_applied"],
    }


async def read_progresses(session: AsyncSession, consumers: list[str]) -> dict[str, dict[str, Any]]:
    """The freshness of several consumers in one round trip."""
    rows = await fetch(session, f"SELECT consumer, {PROGRESS_COLUMNS} FROM rp_progress "
                                "WHERE consumer = ANY($1::text[])", consumers)
    found = {r["consumer"]: r for r in rows}
    return {name: progress_of(found.get(name)) for name in consumers}
