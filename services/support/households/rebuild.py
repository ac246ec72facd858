"""Rebuild the eligibility read model by replaying the REGISTRY stream from its start.

    python -m services.support.households.rebuild [--database-url URL] [--nats-url URL]

An operator tool (after a bug in the projection, or a restored backup). In ONE transaction: lock the
read model and the inbox against writes (the live consumer waits; deliveries keep reading the old
rows until the commit), empty the read model (`consumers.PROJECTION_TABLES`) and the consumer's inbox
rows, feed every message up to the stream's last sequence through the live consumer's own handlers,
recording each event id in the inbox (so the live consumer skips what the replay applied and applies
what came after), commit. A failure rolls everything back.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from typing import Any

import nats
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.support.consumers import PROJECTION_TABLES, REGISTRY
from services.support.settings import SupportSettings
from shared.consumer import PoisonMessage, decode
from shared.db import Database
from shared.events import Event, uuid7

_RECORD_INBOX = text("INSERT INTO inbox (consumer, event_id) SELECT :consumer, unnest(CAST(:ids AS uuid[])) "
                     "ON CONFLICT DO NOTHING RETURNING event_id")


async def _apply(session: AsyncSession, events: list[Event]) -> int:
    """The live runner's rule: inbox first (a duplicate in the stream applies once), then the
    handlers over runs of one event type, in stream order."""
    fresh = {row[0] for row in await session.execute(_RECORD_INBOX, {"consumer": REGISTRY.name,
                                                                     "ids": [e.id for e in events]})}
    runs: list[list[Event]] = []
    for event in events:
        if event.id not in fresh:
            continue
        fresh.discard(event.id)
        if runs and runs[-1][0].type == event.type:
            runs[-1].append(event)
        else:
            runs.append([event])
    for run in runs:
        handler = REGISTRY.handlers.get(run[0].type)
        if handler is not None:
            await handler(session, run)
    return sum(len(r) for r in runs)


async def rebuild(database_url: str, nats_url: str, batch: int = 500) -> dict[str, Any]:
    db = Database(database_url, pool_size=1)
    nc = await nats.connect(nats_url)
    stats = {"messages": 0, "applied": 0, "undecodable": 0}
    try:
        js = nc.jetstream()
        async with db.system_session() as session:
            tables = ", ".join(PROJECTION_TABLES)
            await session.execute(text(f"LOCK TABLE inbox, {tables} IN EXCLUSIVE MODE"))
            for table in PROJECTION_TABLES:
                await session.execute(text(f"DELETE FROM {table}"))
            await session.execute(text("DELETE FROM inbox WHERE consumer = :c"), {"c": REGISTRY.name})
            info = await js.stream_info(REGISTRY.stream)
            last = int(info.state.last_seq or 0)
            if not int(info.state.messages or 0):
                return stats
            name = f"{REGISTRY.name}-rebuild-{uuid7().hex[:12]}"
            await js.add_consumer(REGISTRY.stream, ConsumerConfig(
                name=name, deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.ALL, inactive_threshold=300.0,
                max_ack_pending=-1, mem_storage=True, filter_subject="registry.>"))
            sub = await js.pull_subscribe_bind(consumer=name, stream=REGISTRY.stream)
            try:
                seen = 0
                while seen < last:
                    try:
                        msgs = await sub.fetch(batch, timeout=2.0)
                    except (TimeoutError, NatsTimeoutError):
                        break  # nothing more (the stream's last messages may have been deleted)
                    events = []
                    for msg in msgs:
                        seen = int(msg.metadata.sequence.stream)
                        if seen > last:
                            break  # published after the rebuild began: the live consumer applies it
                        try:
                            events.append(decode(msg))
                        except PoisonMessage:
                            stats["undecodable"] += 1
                    stats["messages"] += len(events)
                    if events:
                        stats["applied"] += await _apply(session, events)
                    if msgs:
                        await msgs[-1].ack()
            finally:
                await sub.unsubscribe()
                with contextlib.suppress(Exception):
                    await js.delete_consumer(REGISTRY.stream, name)
        return stats
    finally:
        await nc.close()
        await db.dispose()


def main(argv: list[str] | None = None) -> int:
    settings = SupportSettings()
    parser = argparse.ArgumentParser(prog="python -m services.support.households.rebuild", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=settings.database_url)
    parser.add_argument("--nats-url", default=settings.nats_url)
    args = parser.parse_args(argv)
    print(asyncio.run(rebuild(args.database_url, args.nats_url)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
