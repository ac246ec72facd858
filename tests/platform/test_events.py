"""The event backbone with real PostgreSQL and NATS: outbox → relay → JetStream → consumer (inbox).

Producer: a registry database; consumer: a support database. The change and the consumer's write are
rows in probe tables so each test can count exactly what was applied.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.consumer import Consumer, ConsumerRunner, RunnerOptions
from shared.db import Database
from shared.events import Event, UnreadableBody, packed, record_events, write_outbox
from shared.relay import OutboxRelay
from shared.streams import DEAD_LETTER_STREAM, ensure_streams
from tests.kit import Stack, eventually, fresh_database

TYPE = "registry.household.assessed"


@dataclass
class Backbone:
    producer: Database
    consumer: Database
    nc: NATS
    js: JetStreamContext


@asynccontextmanager
async def probe_backbone(stack: Stack, nats_url: str, **connect: Any) -> AsyncIterator[Backbone]:
    """A producer and a consumer database with their probe tables, and a JetStream client."""
    producer = Database(await fresh_database(stack, "registry"))
    consumer = Database(await fresh_database(stack, "support"))
    async with producer.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE probe_change (id text PRIMARY KEY)"))
    async with consumer.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE probe_applied (event_id uuid, subject_id text)"))
    nc = await nats.connect(nats_url, **connect)
    js = nc.jetstream()
    await ensure_streams(js)
    try:
        yield Backbone(producer, consumer, nc, js)
    finally:
        await nc.close()
        await producer.dispose()
        await consumer.dispose()


@pytest.fixture
async def backbone(stack: Stack, nats_url: str) -> AsyncIterator[Backbone]:
    async with probe_backbone(stack, nats_url) as b:
        yield b


async def write_change(db: Database, n: int, prefix: str = "h") -> list[Event]:
    """A producer's change and its events, in one transaction."""
    events = [Event(type=TYPE, producer="registry", subject_id=f"{prefix}{i}", payload={"i": i},
                    unit_code="07207", unit_path="v2008.24.213.07207") for i in range(n)]
    async with db.system_session() as session:
        for e in events:
            await session.execute(text("INSERT INTO probe_change VALUES (:id)"), {"id": e.subject_id})
        await record_events(session, events)
    return events


async def apply_probe(session: AsyncSession, events: list[Event]) -> None:
    for e in events:
        if e.subject_id.startswith("poison"):
            raise ValueError(f"cannot apply {e.subject_id}")
    await session.execute(
        text("INSERT INTO probe_applied (event_id, subject_id) "
             "SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:s AS text[]))"),
        {"ids": [e.id for e in events], "s": [e.subject_id for e in events]},
    )


def runner(b: Backbone, name: str = "support-probe", **options: float) -> ConsumerRunner:
    consumer = Consumer(name=name, producer="registry", handlers={TYPE: apply_probe})
    opts = RunnerOptions(batch_size=int(options.pop("batch_size", 100)), ack_wait_seconds=options.pop("ack_wait", 1.0),
                         max_attempts=int(options.pop("max_attempts", 5)), backoff_seconds=options.pop("backoff", 0.1),
                         fetch_timeout_seconds=0.3)
    return ConsumerRunner(consumer, b.consumer, b.js, opts)


async def scalar(db: Database, sql: str, **params: object) -> object:
    async with db.engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()


async def applied_count(b: Backbone) -> int:
    return int(await scalar(b.consumer, "SELECT count(*) FROM probe_applied"))  # type: ignore[arg-type]


async def _listening_for_commits(b: Backbone) -> bool:
    """A connection to the producer's database LISTENs on the outbox channel: the relay's."""
    return bool(await scalar(b.producer, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                         "AND state = 'idle' AND query ILIKE 'LISTEN%outbox%'"))


async def stream_messages(b: Backbone, stream: str = "REGISTRY") -> int:
    return int((await b.js.stream_info(stream)).state.messages)


async def test_event_crosses_services_and_consumer_write_commits_with_inbox(backbone: Backbone) -> None:
    b = backbone
    events = await write_change(b.producer, 3)
    relay = OutboxRelay(b.producer.url, b.js, "registry", idle_seconds=0.2)
    consumer = runner(b)
    await relay.start()
    await consumer.start()
    try:
        await eventually(lambda: _equals(applied_count(b), 3))
    finally:
        await consumer.stop()
        await relay.stop()
    rows = await scalar(b.consumer, "SELECT count(*) FROM probe_applied p JOIN inbox i ON i.event_id = p.event_id "
                                    "AND i.consumer = 'support-probe'")
    assert rows == 3
    assert await scalar(b.producer, "SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0
    msg = await b.js.get_msg("REGISTRY", 1)
    assert msg.headers and msg.headers["Nats-Msg-Id"] == str(events[0].id)


async def test_failed_handler_leaves_neither_its_write_nor_the_inbox_row(backbone: Backbone) -> None:
    b = backbone
    await write_change(b.producer, 1, prefix="poison")
    relay = OutboxRelay(b.producer.url, b.js, "registry")
    assert await relay.relay_once() == 1
    consumer = runner(b, max_attempts=100)
    await consumer.subscribe()
    await consumer.run_once()
    await consumer.stop()
    await relay.stop()
    assert await applied_count(b) == 0
    assert await scalar(b.consumer, "SELECT count(*) FROM inbox") == 0


async def test_relay_stopped_after_commit_publishes_after_restart(backbone: Backbone) -> None:
    b = backbone
    await write_change(b.producer, 5)  # committed while no relay runs (it "crashed" before publishing)
    assert await stream_messages(b) == 0
    assert await scalar(b.producer, "SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 5
    relay = OutboxRelay(b.producer.url, b.js, "registry", idle_seconds=0.2)
    await relay.start()
    try:
        await eventually(lambda: _equals(stream_messages(b), 5))
        await eventually(lambda: _equals(scalar(b.producer, "SELECT count(*) FROM outbox WHERE sent_at IS NULL"), 0))
    finally:
        await relay.stop()


async def test_relay_wakes_on_commit_without_waiting_for_its_poll(backbone: Backbone) -> None:
    b = backbone
    relay = OutboxRelay(b.producer.url, b.js, "registry", idle_seconds=3600)  # would never poll in this test
    await relay.start()
    try:
        await eventually(lambda: _listening_for_commits(b))  # from here on, a commit wakes it
        await write_change(b.producer, 2)
        await eventually(lambda: _equals(stream_messages(b), 2), timeout=30)
    finally:
        await relay.stop()


async def test_event_published_twice_is_applied_once(backbone: Backbone) -> None:
    b = backbone
    events = await write_change(b.producer, 1)
    relay = OutboxRelay(b.producer.url, b.js, "registry")
    await relay.relay_once()
    # The relay crashed after publishing but before marking the row: it publishes again.
    async with b.producer.engine.begin() as conn:
        await conn.execute(text("UPDATE outbox SET sent_at = NULL"))
    await relay.relay_once()
    assert await stream_messages(b) == 1  # JetStream dropped the copy by Nats-Msg-Id
    # Outside the duplicate window (no Nats-Msg-Id), JetStream stores it twice: the inbox must catch it.
    await b.js.publish(TYPE, events[0].to_bytes())
    await b.js.publish(TYPE, events[0].to_bytes())
    assert await stream_messages(b) == 3
    consumer = runner(b)
    await consumer.start()
    try:
        await eventually(lambda: _equals(_pending(consumer), 0))
    finally:
        await consumer.stop()
        await relay.stop()
    assert await applied_count(b) == 1


async def test_a_packed_body_is_published_as_its_json_and_counts_as_that(backbone: Backbone) -> None:
    """A bulk import writes its large events compressed (shared.events.packed): the relay publishes
    their JSON, and a batch's byte limit counts the JSON, not what the row stores."""
    b = backbone
    big = Event(type=TYPE, producer="registry", subject_id="big", payload={"items": ["x" * 50] * 1000},
                unit_code="07207", unit_path="v2008.24.213.07207")
    small = [Event(type=TYPE, producer="registry", subject_id=f"s{i}", payload={"i": i}) for i in range(2)]
    stored = packed(big)
    assert len(stored[2]) < len(big.to_bytes()) // 10
    async with b.producer.driver_connection() as conn, conn.transaction():
        await write_outbox(conn, [stored, *((e.id, e.subject, e.to_bytes()) for e in small)])
    relay = OutboxRelay(b.producer.url, b.js, "registry", max_batch_bytes=len(big.to_bytes()) + 100)
    try:
        assert await relay.relay_once() == 1  # the big one's JSON fills the batch: the others wait
        assert await relay.relay_once() == 2
    finally:
        await relay.stop()
    messages = [await b.js.get_msg("REGISTRY", seq) for seq in (1, 2, 3)]
    assert [Event.from_bytes(m.data).subject_id for m in messages] == ["big", "s0", "s1"]
    assert messages[0].data == big.to_bytes() and messages[0].headers["Nats-Msg-Id"] == str(big.id)


async def test_an_unreadable_outbox_body_stops_the_relay_naming_its_row(backbone: Backbone) -> None:
    """A body neither JSON nor packed JSON is not published, nor anything after it: the relay's error
    names the row that stops the outbox, for the operator to mend."""
    b = backbone
    broken = uuid.uuid4()
    async with b.producer.driver_connection() as conn, conn.transaction():
        await write_outbox(conn, [(broken, TYPE, b"\x00not an event")])
    relay = OutboxRelay(b.producer.url, b.js, "registry")
    try:
        with pytest.raises(UnreadableBody, match=f"outbox row {broken} "):
            await relay.relay_once()
    finally:
        await relay.stop()
    assert await stream_messages(b) == 0


async def test_two_runners_of_one_consumer_apply_batches_one_at_a_time(backbone: Backbone) -> None:
    """Replicas share the durable consumer; a projection that reads a total and writes it back (as the
    read models' counters do) must not lose or double an update when both apply a batch at once."""
    b = backbone
    async with b.consumer.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE probe_total (id int PRIMARY KEY, events int NOT NULL)"))
        await conn.execute(text("INSERT INTO probe_total VALUES (1, 0)"))

    async def read_then_add(session: AsyncSession, events: list[Event]) -> None:
        held = (await session.execute(text("SELECT events FROM probe_total WHERE id = 1"))).scalar_one()
        await asyncio.sleep(0.05)  # the other replica's batch arrives meanwhile
        await session.execute(text("UPDATE probe_total SET events = :n WHERE id = 1"), {"n": held + len(events)})

    await write_change(b.producer, 60)
    relay = OutboxRelay(b.producer.url, b.js, "registry")
    await relay.relay_once()
    await relay.stop()
    options = RunnerOptions(batch_size=3, ack_wait_seconds=5.0, fetch_timeout_seconds=0.3)
    replicas = [ConsumerRunner(Consumer("support-probe", "registry", {TYPE: read_then_add}), b.consumer, b.js,
                               options) for _ in range(2)]
    for replica in replicas:
        await replica.subscribe()
    total, side_by_side = 0, 0
    while total < 60:
        handled = await asyncio.gather(*(r.run_once() for r in replicas))
        side_by_side += all(handled)
        total += sum(handled)
    assert side_by_side > 0, "the two replicas never held a batch at the same time"
    for replica in replicas:
        await replica.stop()
    assert await scalar(b.consumer, "SELECT events FROM probe_total") == 60


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing in the runner catches it."""


async def test_consumer_dying_before_commit_gets_the_batch_again_and_applies_it_once(backbone: Backbone) -> None:
    b = backbone
    await write_change(b.producer, 10)
    relay = OutboxRelay(b.producer.url, b.js, "registry")
    await relay.relay_once()
    await relay.stop()

    async def crash_mid_batch(session: AsyncSession, events: list[Event]) -> None:
        await apply_probe(session, events[:5])  # half the batch written, then the process dies
        raise Crash

    dying = ConsumerRunner(Consumer("support-probe", "registry", {TYPE: crash_mid_batch}), b.consumer, b.js,
                           RunnerOptions(batch_size=10, ack_wait_seconds=1.0, fetch_timeout_seconds=0.3))
    await dying.subscribe()
    with pytest.raises(Crash):
        await dying.run_once()
    await dying.stop()
    assert await applied_count(b) == 0  # nothing of the half-done batch was committed

    survivor = runner(b)
    await survivor.start()
    try:
        await eventually(lambda: _equals(applied_count(b), 10))
        await eventually(lambda: _equals(_pending(survivor), 0))
    finally:
        await survivor.stop()
    assert await applied_count(b) == 10
    assert await scalar(b.consumer, "SELECT count(DISTINCT subject_id) FROM probe_applied") == 10


async def test_consumer_dying_after_commit_before_ack_applies_nothing_twice(backbone: Backbone) -> None:
    b = backbone
    await write_change(b.producer, 10)
    relay = OutboxRelay(b.producer.url, b.js, "registry")
    await relay.relay_once()
    await relay.stop()

    first = runner(b, batch_size=10)

    async def die_before_ack(_msgs: object) -> None:
        raise Crash

    first.after_commit = die_before_ack  # type: ignore[assignment]
    await first.subscribe()
    with pytest.raises(Crash):
        await first.run_once()
    await first.stop()
    assert await applied_count(b) == 10  # committed, but never acked

    second = runner(b, batch_size=10)
    await second.start()
    try:
        # The batch is redelivered after ack_wait; the inbox skips every id.
        await eventually(lambda: _equals(_redelivered_and_acked(second), True))
    finally:
        await second.stop()
    assert await applied_count(b) == 10


async def test_slow_batch_and_the_batch_fetched_ahead_are_not_delivered_again(backbone: Backbone) -> None:
    """A batch applied for longer than the ack wait, and the next one held meanwhile, stay with their
    consumer (in-progress acks): delivered once each, so a failing event's delivery count is its real
    attempts and not the time it waited."""
    b = backbone
    await write_change(b.producer, 2)
    relay = OutboxRelay(b.producer.url, b.js, "registry")
    await relay.relay_once()
    await relay.stop()
    first = [True]

    async def slow_first_batch(session: AsyncSession, events: list[Event]) -> None:
        if first[0]:
            first[0] = False
            await asyncio.sleep(3.5)  # 3.5 ack waits: without in-progress acks JetStream delivers both again
        await apply_probe(session, events)

    consumer = ConsumerRunner(Consumer("support-probe", "registry", {TYPE: slow_first_batch}), b.consumer, b.js,
                              RunnerOptions(batch_size=1, ack_wait_seconds=1.0, fetch_timeout_seconds=0.3))
    await consumer.start()
    try:
        await eventually(lambda: _equals(applied_count(b), 2))
        await eventually(lambda: _equals(_pending(consumer), 0))
    finally:
        await consumer.stop()
    info = await b.js.consumer_info("REGISTRY", "support-probe")
    assert info.delivered.consumer_seq == 2  # two events, two deliveries
    assert await applied_count(b) == 2


async def test_poison_message_is_dead_lettered_after_n_tries_and_later_events_flow(backbone: Backbone) -> None:
    b = backbone
    await write_change(b.producer, 1, prefix="poison")
    await write_change(b.producer, 4, prefix="good")
    relay = OutboxRelay(b.producer.url, b.js, "registry")
    await relay.relay_once()
    await relay.stop()
    consumer = runner(b, max_attempts=3, backoff=0.05)
    await consumer.start()
    try:
        await eventually(lambda: _equals(applied_count(b), 4))
        await eventually(lambda: _equals(scalar(b.consumer, "SELECT count(*) FROM dead_letters"), 1))
    finally:
        await consumer.stop()
    async with b.consumer.engine.connect() as conn:
        dead = (await conn.execute(text("SELECT error, attempts, subject FROM dead_letters"))).one()
    assert "cannot apply poison0" in dead.error
    assert dead.attempts == 3
    assert dead.subject == TYPE
    parked = await b.js.get_msg(DEAD_LETTER_STREAM, 1)
    assert parked.headers and "cannot apply poison0" in parked.headers["Chungtay-Error"]
    assert await scalar(b.consumer, "SELECT count(*) FROM probe_applied WHERE subject_id LIKE 'poison%'") == 0


async def test_undecodable_message_is_parked_at_once(backbone: Backbone) -> None:
    b = backbone
    await b.js.publish(TYPE, b"{not json")
    await write_change(b.producer, 1)
    relay = OutboxRelay(b.producer.url, b.js, "registry")
    await relay.relay_once()
    await relay.stop()
    consumer = runner(b, max_attempts=5)
    await consumer.start()
    try:
        await eventually(lambda: _equals(applied_count(b), 1))
        await eventually(lambda: _equals(scalar(b.consumer, "SELECT attempts FROM dead_letters"), 1))
    finally:
        await consumer.stop()


async def _equals(value: object, expected: object) -> bool:
    return (await value) == expected  # type: ignore[misc]


async def _pending(r: ConsumerRunner) -> int:
    lag = await r.update_lag()
    return lag["pending"] + lag["ack_pending"]


async def _redelivered_and_acked(r: ConsumerRunner) -> bool:
    info = await r.js.consumer_info(r.consumer.stream, r.consumer.name)
    # consumer_seq counts every delivery: 10 first deliveries + 10 redeliveries.
    return info.delivered.consumer_seq >= 20 and info.num_ack_pending == 0 and info.num_pending == 0


def test_stream_replicas_follow_the_one_setting_and_refuse_nonsense(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.streams import dead_letter_config, stream_config

    monkeypatch.delenv("NATS_STREAM_REPLICAS", raising=False)
    assert stream_config("support").num_replicas == 1  # a single server refuses more
    monkeypatch.setenv("NATS_STREAM_REPLICAS", "3")
    assert stream_config("support").num_replicas == dead_letter_config().num_replicas == 3
    for wrong in ("0", "7", "three"):
        monkeypatch.setenv("NATS_STREAM_REPLICAS", wrong)
        with pytest.raises(ValueError, match="NATS_STREAM_REPLICAS"):
            stream_config("support")
