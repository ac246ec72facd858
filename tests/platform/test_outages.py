"""Outages of the backbone's parts: NATS killed and restarted, the consumer's database unreachable.

The platform's promise (docs/architecture.md): a crash or restart of any service or of NATS loses no
event and applies none twice.
Each test runs the real relay and consumer runner against a NATS server of its own (so it can kill it)
and counts, in the consumer's database, exactly which events were applied.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from devstack.embedded import EmbeddedNats
from shared.consumer import ConsumerRunner
from shared.relay import OutboxRelay
from tests.kit import Stack, cut_connections, eventually, unreachable
from tests.platform.test_events import (
    Backbone,
    _equals,
    _pending,
    applied_count,
    probe_backbone,
    runner,
    scalar,
    write_change,
)


@pytest.fixture
async def own_backbone(stack: Stack, fresh_nats: EmbeddedNats) -> AsyncIterator[Backbone]:
    """Like `backbone`, but always on the test's own NATS server, which the test may kill."""
    async with probe_backbone(stack, fresh_nats.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2) as b:
        yield b


async def _unsent(b: Backbone) -> int:
    return int(await scalar(b.producer, "SELECT count(*) FROM outbox WHERE sent_at IS NULL"))  # type: ignore[arg-type]


async def _held_by_the_relay(b: Backbone) -> int:
    """Unsent outbox rows locked by a relay in the middle of publishing them (the rows another relay
    replica would skip)."""
    free = await scalar(b.producer, "SELECT count(*) FROM (SELECT 1 FROM outbox WHERE sent_at IS NULL "
                                    "FOR UPDATE SKIP LOCKED) AS unlocked")
    return await _unsent(b) - int(free)  # type: ignore[arg-type]


async def _all_applied_once(b: Backbone, expected: int) -> None:
    assert await applied_count(b) == expected
    assert await scalar(b.consumer, "SELECT count(DISTINCT event_id) FROM probe_applied") == expected
    assert await scalar(b.consumer, "SELECT count(*) FROM dead_letters") == 0


async def test_nats_killed_and_restarted_loses_no_event_and_applies_none_twice(
        own_backbone: Backbone, fresh_nats: EmbeddedNats) -> None:
    b = own_backbone
    relay = OutboxRelay(b.producer.url, b.js, "registry", idle_seconds=0.2)
    consumer = runner(b, batch_size=20)
    await relay.start()
    await consumer.start()
    try:
        await write_change(b.producer, 30, prefix="before")
        await eventually(lambda: _equals(applied_count(b), 30))

        fresh_nats.kill()  # kill -9: no goodbye to the clients, nothing flushed by the server
        await write_change(b.producer, 30, prefix="during")  # the producer's own transactions go on
        # The relay has taken them (it holds their rows while it waits for acknowledgements that cannot
        # come), and marks none sent.
        await eventually(lambda: _equals(_held_by_the_relay(b), 30))
        assert await _unsent(b) == 30

        fresh_nats.start()  # same port, same store
        await write_change(b.producer, 30, prefix="after")
        await eventually(lambda: _equals(applied_count(b), 90), timeout=60)
        await eventually(lambda: _equals(_unsent(b), 0))
        await eventually(lambda: _equals(_pending(consumer), 0))
    finally:
        await consumer.stop()
        await relay.stop()
    await _all_applied_once(b, 90)
    assert int((await b.js.stream_info("REGISTRY")).state.messages) == 90  # no event stored twice


async def test_consumer_database_down_longer_than_the_retry_budget_dead_letters_nothing(
        own_backbone: Backbone, stack: Stack) -> None:
    """An outage of the consumer's database is not the message's fault: when the database is back,
    every event is applied, none parked as poison, however many deliveries failed meanwhile."""
    b = own_backbone
    relay = OutboxRelay(b.producer.url, b.js, "registry", idle_seconds=0.2)
    consumer: ConsumerRunner = runner(b, batch_size=10, max_attempts=2, backoff=0.05, ack_wait=0.5)
    await relay.start()
    await consumer.start()
    try:
        await write_change(b.producer, 5, prefix="before")
        await eventually(lambda: _equals(applied_count(b), 5))

        async def delivered_often() -> bool:  # every event of the outage delivered more than max_attempts times
            info = await b.js.consumer_info("REGISTRY", "support-probe")
            return info.delivered.consumer_seq >= 5 + 20 * 3

        async with unreachable(stack, b.consumer.url):
            await write_change(b.producer, 20, prefix="during")
            await eventually(delivered_often, timeout=60)
        await eventually(lambda: _equals(applied_count(b), 25), timeout=60)
        await eventually(lambda: _equals(_pending(consumer), 0))
    finally:
        await consumer.stop()
        await relay.stop()
    await _all_applied_once(b, 25)


async def test_relay_reconnects_after_its_database_connections_are_cut_and_still_wakes_on_commit(
        own_backbone: Backbone, stack: Stack) -> None:
    """A PostgreSQL restart or failover cuts the relay's connections (its LISTEN one included): the
    relay reconnects, publishes what was written meanwhile, and is woken by later commits again."""
    b = own_backbone
    relay = OutboxRelay(b.producer.url, b.js, "registry", idle_seconds=3600)  # no polling: only NOTIFY wakes it
    await relay.start()
    try:
        await write_change(b.producer, 3, prefix="before")
        await eventually(lambda: _equals(_unsent(b), 0))

        await b.producer.engine.dispose()  # the test's own pool is not the relay's: keep it out of the cut
        await cut_connections(stack, b.producer.url)
        await write_change(b.producer, 3, prefix="after-cut")
        await eventually(lambda: _equals(_unsent(b), 0))
        await write_change(b.producer, 3, prefix="later")
        await eventually(lambda: _equals(_unsent(b), 0))
    finally:
        await relay.stop()
    assert int((await b.js.stream_info("REGISTRY")).state.messages) == 9
