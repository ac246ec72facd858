"""Recording how far each consumer has applied its stream, in the same transaction as its projections.

Every projection handler is wrapped by `tracked`: after the batch is applied, the consumer's row in
`rp_progress` moves to the batch's last event and highest stream sequence.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.consumer import STREAM_SEQ_KEY
from shared.events import Event

REGISTRY_CONSUMER = "reporting-registry"
SUPPORT_CONSUMER = "reporting-support"
EMULATION_CONSUMER = "reporting-emulation"

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
