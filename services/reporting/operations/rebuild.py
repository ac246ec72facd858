"""Rebuild the projections from scratch by replaying each consumed stream (REGISTRY, SUPPORT, ...) from its start.

    python -m services.reporting.operations.rebuild [--database-url URL] [--nats-url URL] [--registry-url URL]
                                                    [--only registry|support ...]

An operator tool. In ONE transaction: lock the projection tables and the inbox against writes (the
service's live consumers wait; readers keep seeing the old figures until the commit), empty the
projections of each consumer rebuilt (consumers.PROJECTION_TABLES) and its inbox rows, replay every
message up to the stream's last sequence through the same batch handlers the live consumer uses
(recording each event id in the inbox, so the live consumer skips what the replay applied and applies
what came after), commit.
A failure rolls everything back: the old projections stay. With `--registry-url` the check
(services.reporting.operations.check) runs at the end against the registry's own counts.
URLs default to REPORTING_DATABASE_URL / REPORTING_NATS_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from collections.abc import Sequence
from typing import Any

import nats
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.consumers import CONSUMERS, PROJECTION_TABLES
from services.reporting.settings import ReportingSettings
from shared.consumer import STREAM_SEQ_KEY, Consumer, PoisonMessage, decode
from shared.db import Database
from shared.events import Event, uuid7

# EXCLUSIVE blocks the live consumer's writes but not readers: the service answers with the old
# figures until the rebuild commits, then with the new ones (DELETE, not TRUNCATE, keeps it MVCC).
APPLY_BYTES = 16 * 2**20  # events gathered per transaction step: at most this many bytes ...
APPLY_EVENTS = 5_000  # ... or this many events

_FORGET = text("DELETE FROM inbox WHERE consumer = :consumer")
_FORGET_PROGRESS = text("DELETE FROM rp_progress WHERE consumer = :consumer")
_RECORD_INBOX = text(
    "INSERT INTO inbox (consumer, event_id) SELECT :consumer, unnest(CAST(:ids AS uuid[])) "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)
_TOTALS = text("""
SELECT year, sum(h_poor + h_near_poor + h_middle_income + h_not_poor) AS households,
       sum(h_poor) AS poor, sum(h_near_poor) AS near_poor
FROM rp_commune_year GROUP BY year ORDER BY year
""")


async def apply_batch(session: AsyncSession, consumer: Consumer, events: list[Event]) -> int:
    """The live runner's logic for one batch: inbox first (duplicates in the stream apply once), then
    the handlers over runs of one event type, in stream order. Returns the events applied."""
    if not events:
        return 0
    fresh_ids = {row[0] for row in await session.execute(_RECORD_INBOX, {
        "consumer": consumer.name, "ids": [e.id for e in events]})}
    fresh: list[Event] = []
    for event in events:
        if event.id in fresh_ids:
            fresh.append(event)
            fresh_ids.discard(event.id)
    runs: list[list[Event]] = []
    for event in fresh:  # consecutive events of one type, in stream order
        if runs and runs[-1][0].type == event.type:
            runs[-1].append(event)
        else:
            runs.append([event])
    for run in runs:
        handler = consumer.handlers.get(run[0].type)
        if handler is not None:
            await handler(session, run)
    return len(fresh)


async def _apply_isolated(session: AsyncSession, consumer: Consumer, events: list[Event],
                          stats: dict[str, Any]) -> None:
    """Apply a batch in a savepoint; if it fails, event by event, skipping (and listing) the ones that
    fail — the live consumer parks those as dead letters instead of stopping."""
    try:
        async with session.begin_nested():
            stats["applied"] += await apply_batch(session, consumer, events)
        return
    except Exception:
        if len(events) == 1:
            raise
    for event in events:
        try:
            async with session.begin_nested():
                stats["applied"] += await apply_batch(session, consumer, [event])
        except Exception as exc:
            stats["failed"].append(f"{event.id} {event.type}: {type(exc).__name__}: {exc}"[:300])


async def replay(session: AsyncSession, js: JetStreamContext, consumer: Consumer, batch: int,
                 log: Any = print) -> dict[str, Any]:
    """Feed the whole stream (up to its last sequence now) through the handlers, inside `session`."""
    info = await js.stream_info(consumer.stream)
    last_seq = int(info.state.last_seq or 0)
    stats: dict[str, Any] = {"stream_last_seq": last_seq, "messages": 0, "applied": 0, "poison": 0, "failed": []}
    if int(info.state.messages or 0) == 0:
        return stats
    name = f"{consumer.name}-rebuild-{uuid7().hex[:12]}"
    await js.add_consumer(consumer.stream, ConsumerConfig(
        name=name, deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.ALL, inactive_threshold=300.0,
        max_ack_pending=-1, mem_storage=True, filter_subject=f"{consumer.producer}.>"))
    sub = await js.pull_subscribe_bind(consumer=name, stream=consumer.stream)
    seen, started, reported = 0, time.monotonic(), 0
    events: list[Event] = []
    size = 0
    try:
        done = False
        while not done:
            try:
                msgs = await sub.fetch(batch, timeout=2.0)
            except (TimeoutError, NatsTimeoutError):
                msgs, done = [], True  # nothing more (the stream's last messages may have been deleted)
            for msg in msgs:
                seq = int(msg.metadata.sequence.stream)
                if seq > last_seq:
                    done = True  # published after the rebuild began: the live consumer applies it
                    break
                seen, size = seq, size + len(msg.data)
                try:
                    events.append(decode(msg))
                except PoisonMessage:
                    stats["poison"] += 1
            done = done or seen >= last_seq
            # Small events (units, single assessments) are gathered into larger batches than fetched.
            if events and (done or size >= APPLY_BYTES or len(events) >= APPLY_EVENTS):
                session.info[STREAM_SEQ_KEY] = seen
                stats["messages"] += len(events)
                await _apply_isolated(session, consumer, events, stats)
                events, size = [], 0
            if msgs:
                await msgs[-1].ack()
            if stats["messages"] - reported >= 20_000:
                reported = stats["messages"]
                log(f"  replayed {reported} messages (stream seq {seen} of {last_seq}) "
                    f"in {time.monotonic() - started:.1f}s")
    finally:
        await sub.unsubscribe()
        with contextlib.suppress(Exception):  # else it goes away after inactive_threshold
            await js.delete_consumer(consumer.stream, name)
    return stats


async def rebuild(database_url: str, nats_url: str, batch: int = 50, log: Any = print,
                  consumers: Sequence[Consumer] = CONSUMERS) -> dict[str, Any]:
    """Replay `consumers`' streams into emptied projections, in one transaction; the figures of each
    stream (`streams`: messages, last sequence) and in all (messages, applied, undecodable, failed)."""
    db = Database(database_url, pool_size=1)
    nc = await nats.connect(nats_url)
    started = time.monotonic()
    tables = [table for c in consumers for table in PROJECTION_TABLES[c.name]]
    stats: dict[str, Any] = {"messages": 0, "applied": 0, "poison": 0, "failed": [], "streams": {}}
    try:
        js = nc.jetstream()
        async with db.system_session() as session:
            await session.execute(text(f"LOCK TABLE inbox, rp_progress, {', '.join(tables)} IN EXCLUSIVE MODE"))
            for table in tables:
                await session.execute(text(f"DELETE FROM {table}"))
            for consumer in consumers:
                await session.execute(_FORGET, {"consumer": consumer.name})
                await session.execute(_FORGET_PROGRESS, {"consumer": consumer.name})
                replayed = await replay(session, js, consumer, batch, log)
                stats["streams"][consumer.stream] = {"messages": replayed["messages"],
                                                     "stream_last_seq": replayed["stream_last_seq"]}
                for key in ("messages", "applied", "poison", "failed"):
                    stats[key] += replayed[key]
            totals = [dict(r) for r in (await session.execute(_TOTALS)).mappings()]
        stats["seconds"] = round(time.monotonic() - started, 2)
        stats["totals"] = [{k: int(v) for k, v in t.items()} for t in totals]
        return stats
    finally:
        await nc.close()
        await db.dispose()


def main(argv: list[str] | None = None) -> int:
    settings = ReportingSettings()
    parser = argparse.ArgumentParser(prog="python -m services.reporting.operations.rebuild", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=settings.database_url, help="the reporting database")
    parser.add_argument("--nats-url", default=settings.nats_url)
    parser.add_argument("--batch", type=int, default=50, help="messages fetched per batch")
    parser.add_argument("--registry-url", help="then compare with the registry's database (read-only)")
    parser.add_argument("--only", action="append", choices=[c.producer for c in CONSUMERS],
                        help="rebuild only the projections of this producer's events (repeatable; default: all)")
    args = parser.parse_args(argv)
    chosen = [c for c in CONSUMERS if not args.only or c.producer in args.only]
    print(f"rebuilding the projections of streams {', '.join(c.stream for c in chosen)} ...")
    stats = asyncio.run(rebuild(args.database_url, args.nats_url, args.batch, consumers=chosen))
    streams = ", ".join(f"{name} up to seq {s['stream_last_seq']}" for name, s in stats["streams"].items())
    print(f"replayed {stats['messages']} messages ({streams}), "
          f"{stats['applied']} applied, {stats['poison']} undecodable, {len(stats['failed'])} failed, "
          f"in {stats['seconds']}s")
    for failure in stats["failed"]:
        print(f"  failed (skipped): {failure}")
    for t in stats["totals"]:
        print(f"  {t['year']}: {t['households']} households, {t['poor']} poor, {t['near_poor']} near-poor")
    if args.registry_url:
        from services.reporting.operations.check import run_check

        return run_check(args.database_url, args.registry_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
