"""Projection of approved annual reviews (`registry.review.approved`): the registry's own counts per commune/year.

Kept as published; `services.reporting.operations.check` compares the household projections against them.
"""

from __future__ import annotations

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.events import BadEvent
from shared.events import Event

_UPSERT = text("""
INSERT INTO rp_reviews AS r (review_id, unit_path, year, counts, members, transitions, approved_at, version)
SELECT review_id, unit_path, year, counts::jsonb, members::jsonb, transitions::jsonb, approved_at, version
FROM unnest(CAST(:ids AS text[]), CAST(:paths AS text[]), CAST(:years AS smallint[]), CAST(:counts AS text[]),
            CAST(:members AS text[]), CAST(:transitions AS text[]), CAST(:approved_at AS timestamptz[]),
            CAST(:versions AS bigint[]))
     AS t(review_id, unit_path, year, counts, members, transitions, approved_at, version)
ON CONFLICT (review_id) DO UPDATE SET
    unit_path = EXCLUDED.unit_path, year = EXCLUDED.year, counts = EXCLUDED.counts, members = EXCLUDED.members,
    transitions = EXCLUDED.transitions, approved_at = EXCLUDED.approved_at, version = EXCLUDED.version
WHERE r.version <= EXCLUDED.version
""")


async def on_review_approved(session: AsyncSession, events: list[Event]) -> None:
    latest: dict[str, Event] = {}
    for event in events:
        if not event.unit_path or "year" not in event.payload:
            raise BadEvent(f"event {event.id} ({event.type}): unit_path and payload.year are required")
        held = latest.get(event.subject_id)
        if held is None or event.version >= held.version:
            latest[event.subject_id] = event
    chosen = list(latest.values())
    await session.execute(_UPSERT, {
        "ids": [e.subject_id for e in chosen], "paths": [e.unit_path for e in chosen],
        "years": [int(e.payload["year"]) for e in chosen],
        "counts": [orjson.dumps(e.payload.get("counts") or {}).decode() for e in chosen],
        "members": [orjson.dumps(e.payload.get("members") or {}).decode() for e in chosen],
        "transitions": [orjson.dumps(e.payload.get("transitions") or {}).decode() for e in chosen],
        "approved_at": [e.occurred_at for e in chosen], "versions": [e.version for e in chosen],
    })
