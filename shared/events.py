"""The one event envelope, and writing events into the outbox inside the caller's transaction.

Envelope (docs/architecture.md, "The event backbone"): id (UUIDv7, also the JetStream Nats-Msg-Id),
type, version, occurred_at, producer, unit_code, unit_path, subject_id, payload — plus correlation_id,
the HTTP request id that caused the change, and, when tracing is on (shared.tracing), traceparent: the
span that caused it, so the relay and the consumers continue its trace.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
import uuid_utils
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared import tracing
from shared.context import request_id_var


def uuid7() -> UUID:
    return UUID(bytes=uuid_utils.uuid7().bytes)


@dataclass(frozen=True)
class Event:
    type: str
    producer: str
    subject_id: str
    payload: dict[str, Any]
    unit_code: str | None = None
    unit_path: str | None = None
    version: int = 1
    id: UUID = field(default_factory=uuid7)
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    correlation_id: str | None = field(default_factory=request_id_var.get)
    traceparent: str | None = field(default_factory=tracing.current_traceparent)

    @property
    def subject(self) -> str:
        """The NATS subject is the event type: `registry.household.assessed`."""
        return self.type

    def to_dict(self) -> dict[str, Any]:
        # The payload stays last: envelope_field() reads the small fields from the head of the body.
        head = {
            "id": str(self.id),
            "type": self.type,
            "version": self.version,
            "occurred_at": self.occurred_at.isoformat(),
            "producer": self.producer,
            "unit_code": self.unit_code,
            "unit_path": self.unit_path,
            "subject_id": self.subject_id,
            "correlation_id": self.correlation_id,
        }
        if self.traceparent:
            head["traceparent"] = self.traceparent
        head["payload"] = self.payload
        return head

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_bytes(cls, data: bytes) -> Event:
        raw = orjson.loads(data)
        return cls(
            id=UUID(raw["id"]),
            type=raw["type"],
            version=int(raw.get("version", 1)),
            occurred_at=datetime.fromisoformat(raw["occurred_at"]),
            producer=raw["producer"],
            unit_code=raw.get("unit_code"),
            unit_path=raw.get("unit_path"),
            subject_id=str(raw["subject_id"]),
            correlation_id=raw.get("correlation_id"),
            traceparent=raw.get("traceparent"),
            payload=raw.get("payload") or {},
        )


_HEAD_BYTES = 2048
_FIELD_PATTERNS: dict[str, re.Pattern[bytes]] = {}


def envelope_field(body: bytes, name: str) -> str | None:
    """A string field of the envelope's head (correlation_id, traceparent) without parsing the body: an
    import's event is ~400 KB and the relay and consumers need only these few bytes of it."""
    pattern = _FIELD_PATTERNS.get(name)
    if pattern is None:
        pattern = _FIELD_PATTERNS[name] = re.compile(b'"' + name.encode() + rb'":"([^"\\]{1,256})"')
    found = pattern.search(body, 0, _HEAD_BYTES)
    if found is None:
        return None
    head = body[:found.start()]
    if b'"payload":' in head:  # the match lies inside the payload, not the envelope
        return None
    return found.group(1).decode()


# The outbox insert, with `outbox_params`: a hot write may end its own statement with it (a data-modifying
# CTE before it), so that its row and its events go to the database in one round trip.
OUTBOX_INSERT_SQL = ("INSERT INTO outbox (id, subject, body) "
                     "SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:subjects AS text[]), CAST(:bodies AS bytea[]))")
_INSERT_OUTBOX = text(OUTBOX_INSERT_SQL)


def outbox_params(events: Sequence[Event]) -> dict[str, list[Any]]:
    return {"ids": [e.id for e in events], "subjects": [e.subject for e in events],
            "bodies": [e.to_bytes() for e in events]}


async def record_events(session: AsyncSession, events: Sequence[Event]) -> None:
    """Write events into the outbox in the session's transaction: they exist iff the change commits.

    One statement for the whole list, so a bulk import of thousands of events is one round trip.
    """
    if not events:
        return
    await session.execute(_INSERT_OUTBOX, outbox_params(events))


async def record_event(session: AsyncSession, event: Event) -> None:
    await record_events(session, [event])


# The same insert for a raw asyncpg connection (a bulk import's own, or a session's driver connection).
_OUTBOX_ASYNCPG = ("INSERT INTO outbox (id, subject, body) "
                   "SELECT * FROM unnest($1::uuid[], $2::text[], $3::bytea[])")

# An outbox row's body is the event's JSON, or — a bulk import's events of up to 1 MB — that JSON
# compressed with zlib (`packed`), which the relay publishes unpacked (`unpacked`): the first byte
# tells them apart (JSON's `{`, zlib's 0x78). Compressing in the import's worker process costs a third
# of what PostgreSQL's own pglz compression costs the database, and the rows it writes are 15 times
# smaller.
OutboxRow = tuple[UUID, str, bytes]  # (id, subject, body)


def packed(event: Event) -> OutboxRow:
    """The event as an outbox row with its body compressed."""
    return event.id, event.subject, zlib.compress(event.to_bytes(), 1)


class UnreadableBody(ValueError):
    """An outbox body that is neither an event's JSON nor zlib-packed JSON."""


def unpacked(body: bytes) -> bytes:
    """An outbox row's body as the event's JSON."""
    if body[:1] == b"{":
        return body
    try:
        return zlib.decompress(body)
    except zlib.error as exc:
        raise UnreadableBody(f"neither JSON nor zlib-packed JSON ({exc})") from exc


async def write_outbox(conn: Any, rows: Sequence[OutboxRow]) -> None:
    """Outbox rows on an asyncpg connection, in the transaction open on it."""
    if rows:
        await conn.execute(_OUTBOX_ASYNCPG, *(list(column) for column in zip(*rows, strict=True)))


async def write_events(conn: Any, events: Sequence[Event]) -> None:
    """`record_events` on an asyncpg connection, in the transaction open on it."""
    await write_outbox(conn, [(e.id, e.subject, e.to_bytes()) for e in events])
