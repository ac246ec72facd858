"""The outbox relay: publishes committed outbox rows to JetStream and marks them sent after the PubAck.

- Wakes on LISTEN/NOTIFY as soon as a transaction writing outbox rows commits; polls as a fallback.
- Publishes a batch pipelined (publish_async), sets Nats-Msg-Id to the event id so JetStream drops a
  re-publish inside its duplicate window, and marks rows sent only after every ack of the batch.
- A crash anywhere loses nothing: unmarked rows are published again (consumers dedupe by event id).
- Several replicas may run: rows are claimed with FOR UPDATE SKIP LOCKED.
- With tracing on (shared.tracing), each publication is a span, child of the span that wrote the event,
  and its context goes in the message's `traceparent` header for the consumers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg
from nats.js import JetStreamContext

from shared import tracing
from shared.db import asyncpg_dsn
from shared.events import UnreadableBody, envelope_field, unpacked
from shared.metrics import OUTBOX_ERRORS, OUTBOX_OLDEST, OUTBOX_PENDING, OUTBOX_PUBLISHED
from shared.tasks import stop_task

log = logging.getLogger(__name__)

# Rows are claimed with their sizes first and their bodies read up to `max_batch_bytes`, so a run of
# large events (a bulk import's assessed_batch events are ~400 KB each) never loads the whole batch. A
# packed body (shared.events.unpacked) is published, and counted, as its JSON.
_CLAIM = (
    "SELECT seq, length(body) AS size FROM outbox WHERE sent_at IS NULL "
    "ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED"
)
_BODIES = "SELECT seq, id, subject, body FROM outbox WHERE seq = ANY($1::bigint[]) ORDER BY seq"
_MARK_SENT = "UPDATE outbox SET sent_at = now() WHERE seq = ANY($1::bigint[])"
_PURGE = "DELETE FROM outbox WHERE sent_at < now() - make_interval(hours => $1)"
_PENDING = "SELECT count(*) FROM outbox WHERE sent_at IS NULL"
# The backlog while the relay is busy: rows waiting and the age of the oldest (the relay's lag).
_BACKLOG = ("SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0) "
            "FROM outbox WHERE sent_at IS NULL")


class OutboxRelay:
    def __init__(
        self, database_url: str, js: JetStreamContext, service: str, *,
        batch_size: int = 1000, idle_seconds: float = 1.0, retention_hours: int = 72,
        max_batch_bytes: int = 32 * 1024 * 1024,
    ) -> None:
        self.dsn = asyncpg_dsn(database_url)
        self.js = js
        self.service = service
        self.batch_size = batch_size
        self.max_batch_bytes = max_batch_bytes
        self._cut = False  # the last batch stopped at max_batch_bytes: more rows are waiting
        self.idle_seconds = idle_seconds
        self.retention_hours = retention_hours
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._conn: asyncpg.Connection | None = None
        self._listener: asyncpg.Connection | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self.service}")

    async def stop(self) -> None:
        await stop_task(self._task)
        await self._close()

    def _connected(self) -> bool:
        return all(c is not None and not c.is_closed() for c in (self._conn, self._listener))

    async def _connect(self) -> None:
        await self._close()
        self._conn = await asyncpg.connect(self.dsn)
        self._listener = await asyncpg.connect(self.dsn)
        await self._listener.add_listener("outbox", lambda *_: self._wake.set())
        # A cut connection (PostgreSQL restart, failover) wakes the loop to reconnect: a dead LISTEN
        # connection would otherwise leave the relay asleep until its next poll.
        for conn in (self._conn, self._listener):
            conn.add_termination_listener(lambda _conn: self._wake.set())

    async def _close(self) -> None:
        for conn in (self._conn, self._listener):
            if conn is not None and not conn.is_closed():
                with contextlib.suppress(Exception):
                    await conn.close(timeout=5)
        self._conn = self._listener = None

    async def _run(self) -> None:
        backoff = 0.2
        purge_every, since_purge = 600.0, 0.0
        loop = asyncio.get_running_loop()
        backlog_measured = 0.0
        while True:
            try:
                if not self._connected():
                    await self._connect()
                # Cleared before looking, not after: a commit notified while relay_once runs (after its
                # query, before its end) must still wake the wait below, or it waits a whole poll.
                self._wake.clear()
                sent = await self.relay_once()
                backoff = 0.2
                if (sent == self.batch_size or self._cut) and loop.time() - backlog_measured > 5.0:
                    backlog_measured = loop.time()
                    await self.measure_backlog()
                if sent < self.batch_size and not self._cut:
                    OUTBOX_PENDING.labels(self.service).set(0)
                    OUTBOX_OLDEST.labels(self.service).set(0)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.idle_seconds)
                    since_purge += self.idle_seconds
                    if since_purge >= purge_every:
                        since_purge = 0.0
                        await self.purge()
            except asyncio.CancelledError:
                raise
            except Exception:
                OUTBOX_ERRORS.labels(self.service).inc()
                log.exception("outbox relay failed; retrying", extra={"backoff": backoff})
                await self._close()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    async def relay_once(self) -> int:
        """Publish one batch; returns how many rows were acknowledged and marked sent."""
        if not self._connected():
            await self._connect()
        assert self._conn is not None
        async with self._conn.transaction():
            claimed = await self._conn.fetch(_CLAIM, self.batch_size)
            if not claimed:
                self._cut = False
                return 0
            seqs: list[int] = []
            size = 0
            for r in claimed:
                if seqs and size + r["size"] > self.max_batch_bytes:
                    break
                seqs.append(r["seq"])
                size += r["size"]
            self._cut = len(seqs) < len(claimed)
            rows = await self._conn.fetch(_BODIES, seqs)
            # A packed body (shared.events.unpacked) is published as its JSON, and counts as that.
            sent: list[int] = []
            size = 0
            spans: list[Any] = []
            futures = []
            for r in rows:
                try:
                    body = unpacked(r["body"])
                except UnreadableBody as exc:  # the outbox stops here: say which row stops it
                    raise UnreadableBody(f"outbox row {r['id']} (seq {r['seq']}): {exc}") from exc
                if sent and size + len(body) > self.max_batch_bytes:
                    self._cut = True  # the rest waits for the next batch
                    break
                sent.append(r["seq"])
                size += len(body)
                headers = {"Nats-Msg-Id": str(r["id"])}
                if tracing.enabled():
                    span = tracing.start_span(
                        f"publish {r['subject']}", envelope_field(body, "traceparent"), "PRODUCER",
                        **{"messaging.system": "nats", "messaging.destination.name": r["subject"],
                           "messaging.message.id": str(r["id"]), "chungtay.service": self.service})
                    spans.append(span)
                    headers["traceparent"] = tracing.span_traceparent(span) or ""
                futures.append(await self.js.publish_async(r["subject"], body, headers=headers))
            try:
                # Acks of a batch sent to a server that then died never come: wait only as long as a batch
                # of this size needs (5 s, plus 1 s a MB up to 30 s), then publish it again (the
                # Nats-Msg-Id makes JetStream drop what did arrive). bench/faults.py: NATS kills.
                await asyncio.wait_for(asyncio.gather(*futures), timeout=min(30.0, 5.0 + size / 2**20))
            except BaseException as exc:
                for span in spans:
                    tracing.end(span, exc)
                raise
            await self._conn.execute(_MARK_SENT, sent)
            for span in spans:
                tracing.end(span)
        OUTBOX_PUBLISHED.labels(self.service).inc(len(sent))
        return len(sent)

    async def pending(self) -> int:
        assert self._conn is not None
        return int(await self._conn.fetchval(_PENDING))

    async def measure_backlog(self) -> None:
        assert self._conn is not None
        count, oldest = await self._conn.fetchrow(_BACKLOG)
        OUTBOX_PENDING.labels(self.service).set(count)
        OUTBOX_OLDEST.labels(self.service).set(float(oldest))

    async def purge(self) -> None:
        assert self._conn is not None
        await self._conn.execute(_PURGE, self.retention_hours)
