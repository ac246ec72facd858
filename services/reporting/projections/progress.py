"""How far each consumer has applied its stream, written in the same transaction as the projections.

Every indicator answer carries this as `current_as_of`, so a reader knows which event it reflects.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.driver import fetch
from shared.consumer import STREAM_SEQ_KEY
from shared.events import Event

REGISTRY_CONSUMER = "reporting-registry"

_RECORD = text("""
INSERT INTO rp_progress AS p (consumer, last_event_id, last_event_type, last_occurred_at, last_stream_seq,
                              applied_at, events_applied)
VALUES (:consumer, :event_id, :event_type, :occurred_at, :stream_seq, now(), :count)
ON CONFLICT (consumer) DO UPDATE SET
    last_event_id = EXCLUDED.last_event_id,
    last_event_type = EXCLUDED.last_event_type,
    last_occurred_at = EXCLUDED.last_occurred_at,
    last_stream_seq = GREATEST(p.last_stream_seq, EXCLUDED.last_stream_seq),
    applied_at = EXCLUDED.applied_at,
    events_applied = p.events_applied + EXCLUDED.events_applied
""")

_READ = "SELECT last_event_id, last_event_type, last_occurred_at, last_stream_seq, applied_at, events_applied " \
        "FROM rp_progress WHERE consumer = $1"

Apply = Callable[[AsyncSession, list[Event]], Awaitable[None]]


async def record_progress(session: AsyncSession, consumer: str, events: list[Event]) -> None:
    last = events[-1]
    await session.execute(_RECORD, {
        "consumer": consumer, "event_id": last.id, "event_type": last.type, "occurred_at": last.occurred_at,
        "stream_seq": session.info.get(STREAM_SEQ_KEY), "count": len(events),
    })


def tracked(consumer: str, apply: Apply) -> Apply:
    """A batch handler that also records the consumer's progress after applying the batch."""

    async def handler(session: AsyncSession, events: list[Event]) -> None:
        await apply(session, events)
        await record_progress(session, consumer, events)

    handler.__name__ = getattr(apply, "__name__", "handler")
    return handler


PROGRESS_COLUMNS = "last_event_id, last_event_type, last_occurred_at, last_stream_seq, applied_at, events_applied"


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
