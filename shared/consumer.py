"""The consumer runner: a durable JetStream pull consumer feeding batch handlers idempotently.

For each fetched batch, in ONE database transaction: record the event ids in the inbox (skipping ids
already there), run the handlers for the new events, commit; then ack. A crash before the commit loses
nothing (the batch is redelivered after ack_wait); a crash after it applies nothing twice (the inbox
skips the ids). Replicas of a service share the durable consumer, but a batch is applied under a
transaction-level advisory lock named after the consumer: the projections read a row and write the
difference (counters move by new minus old), which is only right with one writer at a time. The replicas
still fetch and decode side by side and take over from each other. If the batch fails, its messages are
retried one by one so one poison message cannot hold the others; a message failing `max_attempts` times
is parked in the dead-letter stream and the `dead_letters` table with its error, and acked so the stream
flows on.

Log lines written while a batch is handled carry the request id of the request that caused its events
(their correlation_id; a new id when the batch mixes several), and with tracing on each message is a
span, child of the relay's publication span named in its `traceparent` header.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import uuid_utils
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared import pull, tracing
from shared.context import request_id_var
from shared.db import Database
from shared.events import Event, envelope_field
from shared.metrics import (
    CONSUMER_ACK_PENDING,
    CONSUMER_LAG,
    DATABASE_UNAVAILABLE,
    EVENTS_APPLIED,
    EVENTS_DEAD,
    EVENTS_DUPLICATE,
    EVENTS_FAILED,
)
from shared.outages import database_unavailable
from shared.streams import DEAD_LETTER_PREFIX, stream_name
from shared.tasks import stop_task

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, list[Event]], Awaitable[None]]
OUTAGE_RETRY_SECONDS = 2.0  # while the database is down, a batch comes back this much later
STREAM_SEQ_KEY = "stream_seq"  # session.info key: the highest stream sequence of the batch being applied

# One writer per consumer at a time, across replicas (the advisory lock, released at commit or rollback),
# then the batch's ids recorded in the inbox: one statement, one round trip. The lock is taken before
# any id is inserted (each inserted row joins the lock's one row); ON CONFLICT sees the ids another
# replica committed while this one waited, so they come back as duplicates.
_RECORD_INBOX = text(
    "WITH one_writer AS (SELECT pg_advisory_xact_lock(hashtextextended(:lock, 0))) "
    "INSERT INTO inbox (consumer, event_id) SELECT :consumer, id FROM one_writer, unnest(CAST(:ids AS uuid[])) AS id "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)
_RECORD_DEAD = text(
    "INSERT INTO dead_letters (consumer, event_id, subject, body, error, attempts) "
    "VALUES (:consumer, :event_id, :subject, :body, :error, :attempts)"
)


@dataclass
class Consumer:
    """What a service consumes: a durable name, the producing service, and handlers per event type."""

    name: str
    producer: str
    handlers: dict[str, Handler]
    filter_subjects: list[str] = field(default_factory=list)

    @property
    def stream(self) -> str:
        return stream_name(self.producer)


@dataclass
class RunnerOptions:
    batch_size: int = 500
    ack_wait_seconds: float = 30.0
    max_attempts: int = 5
    backoff_seconds: float = 1.0
    fetch_timeout_seconds: float = 1.0


class PoisonMessage(Exception):
    """The message cannot be decoded: retrying will not help."""


def decode(msg: Msg) -> Event:
    try:
        return Event.from_bytes(msg.data)
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError) as exc:
        raise PoisonMessage(f"undecodable event: {exc}") from exc


class ConsumerRunner:
    def __init__(self, consumer: Consumer, db: Database, js: JetStreamContext, options: RunnerOptions) -> None:
        self.consumer = consumer
        self.db = db
        self.js = js
        self.options = options
        self._task: asyncio.Task[None] | None = None
        self._ahead: asyncio.Task[list[Msg]] | None = None  # the next batch, fetched while one is applied
        self._sub: JetStreamContext.PullSubscription | None = None
        # Test hook: called after a batch commits and before it is acked.
        self.after_commit: Callable[[list[Msg]], Awaitable[None]] | None = None

    # ---- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        await self.subscribe()
        self._task = asyncio.create_task(self._run(), name=f"consumer-{self.consumer.name}")

    async def stop(self) -> None:
        await stop_task(self._task)
        await self._hand_back_ahead()
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None

    async def subscribe(self) -> None:
        c = self.consumer
        subjects = c.filter_subjects or [f"{c.producer}.>"]
        config = ConsumerConfig(
            durable_name=c.name,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.options.ack_wait_seconds,
            max_ack_pending=max(self.options.batch_size * 4, 1000),
            filter_subjects=subjects if len(subjects) > 1 else None,
            filter_subject=subjects[0] if len(subjects) == 1 else None,
        )
        self._sub = await self.js.pull_subscribe(
            subject=subjects[0], durable=c.name, stream=c.stream, config=config,
        )

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        lag_updated = 0.0
        while True:
            try:
                processed = await self._run_pipelined()
                if processed == 0 or loop.time() - lag_updated > 5.0:  # idle, or busy for a while
                    await self.update_lag()
                    lag_updated = loop.time()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("consumer loop failed; retrying", extra={"consumer": self.consumer.name})
                await asyncio.sleep(1.0)

    # ---- one batch -------------------------------------------------------------------------
    async def run_once(self) -> int:
        """Fetch and process one batch; returns the number of messages handled."""
        msgs = await self._fetch()
        if msgs:
            await self._process_held(msgs)
        return len(msgs)

    async def _fetch(self) -> list[Msg]:
        assert self._sub is not None, "call subscribe() first"
        return await pull.fetch(self._sub, self.options.batch_size, self.options.fetch_timeout_seconds)

    async def _run_pipelined(self) -> int:
        """Like run_once, but while a batch is applied the next one is already being fetched (what has
        arrived meanwhile). The batches are still applied one after the other, in the order fetched."""
        if self._ahead is not None:
            msgs = await self._ahead  # a stop cancels it with this task
            self._ahead = None
        else:
            msgs = await self._fetch()
        if msgs:
            self._ahead = asyncio.create_task(self._fetch(), name=f"consumer-{self.consumer.name}-fetch")
            await self._process_held(msgs)
        return len(msgs)

    async def _process_held(self, msgs: list[Msg]) -> None:
        """`process`, while JetStream is told every third of the ack wait that the batch — and the one
        fetched ahead, waiting for it — is still being worked on: a slow batch is not delivered again
        meanwhile, and the delivery count a failing message is parked by counts real attempts only."""
        keeper = asyncio.create_task(self._keep_alive(msgs), name=f"consumer-{self.consumer.name}-in-progress")
        try:
            await self.process(msgs)
        finally:
            await stop_task(keeper)

    async def _keep_alive(self, msgs: list[Msg]) -> None:
        while True:
            await asyncio.sleep(self.options.ack_wait_seconds / 3)
            ahead = self._ahead
            held = msgs + (ahead.result() if ahead is not None and ahead.done() and not ahead.cancelled()
                           and ahead.exception() is None else [])
            for msg in held:
                if not msg.is_acked:  # acked or handed back meanwhile: nothing to extend
                    with contextlib.suppress(Exception):
                        await msg.in_progress()

    async def _hand_back_ahead(self) -> None:
        """On stop: a batch fetched ahead and not applied goes back to the stream at once (not after
        the ack wait)."""
        ahead, self._ahead = self._ahead, None
        if ahead is None:
            return
        if not ahead.done():
            await stop_task(ahead)
        if ahead.cancelled() or ahead.exception() is not None:
            return
        for msg in ahead.result():
            with contextlib.suppress(Exception):
                await msg.nak()

    async def process(self, msgs: list[Msg]) -> None:
        token = request_id_var.set(_batch_request_id(msgs))
        spans = [self._span(m) for m in msgs] if tracing.enabled() else []
        error: BaseException | None = None
        try:
            with tracing.current(spans[0] if len(spans) == 1 else None):  # one event: its lines name its trace
                await self._process(msgs)
        except BaseException as exc:
            error = exc
            raise
        finally:
            for span in spans:
                tracing.end(span, error)
            request_id_var.reset(token)

    def _span(self, msg: Msg) -> Any:
        parent = msg.headers.get("traceparent") if msg.headers else None
        return tracing.start_span(f"{self.consumer.name} process {msg.subject}", parent, "CONSUMER",
                                  **{"messaging.system": "nats", "messaging.destination.name": msg.subject,
                                     "messaging.consumer.group.name": self.consumer.name})

    async def _process(self, msgs: list[Msg]) -> None:
        try:
            decoded = [(m, decode(m)) for m in msgs]
            await self._apply(decoded)
        except Exception as exc:
            EVENTS_FAILED.labels(self.consumer.name).inc()
            if database_unavailable(exc):
                DATABASE_UNAVAILABLE.labels(self.consumer.name.split("-", 1)[0]).inc()
                await self._wait_for_database(msgs, exc)
                return
            if len(msgs) == 1:
                await self._failed(msgs[0], exc)
                return
            log.warning("batch failed, retrying messages one by one",
                        extra={"consumer": self.consumer.name, "error": repr(exc), "size": len(msgs)})
            for msg in msgs:
                await self.process([msg])
            return
        if self.after_commit is not None:
            await self.after_commit(msgs)
        for msg in msgs:
            await msg.ack()

    async def _apply(self, decoded: Sequence[tuple[Msg, Event]]) -> None:
        name = self.consumer.name
        async with self.db.system_session() as session:
            # Handlers may record how far the stream is applied (read models report their freshness).
            session.info[STREAM_SEQ_KEY] = _last_stream_seq([m for m, _ in decoded])
            ids = [e.id for _, e in decoded]
            result = await session.execute(_RECORD_INBOX, {"lock": f"consumer:{name}", "consumer": name, "ids": ids})
            fresh_ids = {row[0] for row in result}
            fresh: list[Event] = []
            for _, event in decoded:
                if event.id in fresh_ids:
                    fresh.append(event)
                    fresh_ids.discard(event.id)  # the same id twice in one batch: apply the first only
            duplicates = len(decoded) - len(fresh)
            for run in _runs_by_type(fresh):
                handler = self.consumer.handlers.get(run[0].type)
                if handler is not None:
                    await handler(session, run)
        EVENTS_APPLIED.labels(name).inc(len(fresh))
        if duplicates:
            EVENTS_DUPLICATE.labels(name).inc(duplicates)

    async def _wait_for_database(self, msgs: list[Msg], exc: Exception) -> None:
        """The database is down, not the events at fault: none of them moves towards the dead letters;
        all come back once it may be up again."""
        log.warning("database unavailable; the batch will be delivered again",
                    extra={"consumer": self.consumer.name, "size": len(msgs), "error": repr(exc)})
        for msg in msgs:
            with contextlib.suppress(Exception):
                await msg.nak(delay=OUTAGE_RETRY_SECONDS)
        await asyncio.sleep(OUTAGE_RETRY_SECONDS)

    async def _failed(self, msg: Msg, exc: Exception) -> None:
        attempts = _delivery_count(msg)
        poison = isinstance(exc, PoisonMessage)
        if poison or attempts >= self.options.max_attempts:
            await self._dead_letter(msg, exc, attempts)
            await msg.ack()
            return
        delay = self.options.backoff_seconds * (2 ** (attempts - 1))
        log.warning("event failed, will retry", extra={
            "consumer": self.consumer.name, "attempt": attempts, "delay": delay, "error": repr(exc)})
        await msg.nak(delay=delay)

    async def _dead_letter(self, msg: Msg, exc: Exception, attempts: int) -> None:
        event_id: str | None = None
        with contextlib.suppress(Exception):
            event_id = str(orjson.loads(msg.data)["id"])
        error = f"{type(exc).__name__}: {exc}"
        async with self.db.system_session() as session:
            await session.execute(_RECORD_DEAD, {
                "consumer": self.consumer.name, "event_id": event_id, "subject": msg.subject,
                "body": msg.data, "error": error[:4000], "attempts": attempts,
            })
        headers: dict[str, Any] = {
            "Chungtay-Consumer": self.consumer.name, "Chungtay-Error": error[:1000],
            "Chungtay-Original-Subject": msg.subject, "Chungtay-Attempts": str(attempts),
        }
        await self.js.publish(f"{DEAD_LETTER_PREFIX}.{self.consumer.name}", msg.data, headers=headers)
        EVENTS_DEAD.labels(self.consumer.name).inc()
        log.error("event dead-lettered", extra={"consumer": self.consumer.name, "event_id": event_id, "error": error})

    # ---- observability ---------------------------------------------------------------------
    async def update_lag(self) -> dict[str, int]:
        info = await self.js.consumer_info(self.consumer.stream, self.consumer.name)
        lag = int(info.num_pending or 0)
        ack_pending = int(info.num_ack_pending or 0)
        CONSUMER_LAG.labels(self.consumer.name).set(lag)
        CONSUMER_ACK_PENDING.labels(self.consumer.name).set(ack_pending)
        delivered = info.delivered.stream_seq if info.delivered else 0
        return {"pending": lag, "ack_pending": ack_pending, "delivered_stream_seq": int(delivered or 0)}


def _batch_request_id(msgs: list[Msg]) -> str:
    """The request that caused the batch's events (their correlation_id), or a new id for the batch."""
    found = {envelope_field(m.data, "correlation_id") for m in msgs[:1000]}
    if len(found) == 1 and (only := found.pop()):
        return only
    return str(uuid_utils.uuid7())


def _delivery_count(msg: Msg) -> int:
    try:
        return int(msg.metadata.num_delivered)
    except Exception:
        return 1


def _last_stream_seq(msgs: list[Msg]) -> int | None:
    try:
        return max(int(m.metadata.sequence.stream) for m in msgs)
    except Exception:  # messages without JetStream metadata
        return None


def _runs_by_type(events: list[Event]) -> list[list[Event]]:
    """Consecutive events of one type, in order: handlers get batches without reordering the stream."""
    runs: list[list[Event]] = []
    for event in events:
        if runs and runs[-1][0].type == event.type:
            runs[-1].append(event)
        else:
            runs.append([event])
    return runs
