"""The same events twice, stale events, and a consumer killed mid-batch: the figures stay right."""

from __future__ import annotations

from dataclasses import replace

import asyncpg
from nats.aio.msg import Msg
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.consumers import REGISTRY
from shared.consumer import Consumer, ConsumerRunner, Handler, RunnerOptions
from shared.db import Database, asyncpg_dsn
from shared.events import Event
from tests.kit import Stack, fresh_database, running_app
from tests.reporting.conftest import Reporting, connect, reporting_app
from tests.reporting.registry_events import (
    COMMUNES_B,
    PROVINCE,
    all_unit_events,
    assessed_event,
    draw,
    expected,
    province_dataset,
    publish,
)
from tests.reporting.test_indicators import assert_report


def renewed(event: Event) -> Event:
    """The same change published again under a new event id (e.g. a producer re-sending it)."""
    return replace(event, id=Event(type="x", producer="x", subject_id="x", payload={}).id)


async def test_the_same_events_delivered_twice_give_the_same_figures(reporting: Reporting) -> None:
    data = province_dataset(households=1500, seed=21)
    await reporting.publish(all_unit_events())
    await reporting.settled(await reporting.publish(data.events))
    first = await reporting.indicators(unit="24", year=2024)
    assert_report(first, data, 2024, PROVINCE)

    # Redelivered with the same ids (no Nats-Msg-Id, so the stream keeps the copies): the inbox skips them.
    await reporting.publish(data.events, with_msg_id=False)
    # Re-sent under new ids with the same versions: the version check skips them.
    last = await reporting.publish([renewed(e) for e in data.events])
    await reporting.settled(last)
    again = await reporting.indicators(unit="24", year=2024)
    assert {k: v for k, v in again.items() if k != "current_as_of"} == \
        {k: v for k, v in first.items() if k != "current_as_of"}
    assert again["current_as_of"]["stream_seq"] == last


async def test_a_newer_version_replaces_the_row_and_moves_the_counts(reporting: Reporting) -> None:
    import random

    rng = random.Random(5)
    commune = COMMUNES_B[0]
    before = replace(draw(rng, "hh-moving", 2024, commune, 3), status="poor", transition="newly_poor")
    after = replace(before, status="near_poor", transition="escaped_poverty", version=4)
    older = replace(before, status="not_poor", version=2)
    await reporting.publish(all_unit_events())
    await reporting.settled(await reporting.publish([assessed_event(before)]))
    body = await reporting.indicators(unit=commune, year=2024)
    assert (body["unit"]["poor"], body["unit"]["near_poor"]) == (1, 0)
    await reporting.settled(await reporting.publish([assessed_event(after), assessed_event(older)]))
    body = await reporting.indicators(unit=commune, year=2024)
    unit = body["unit"]
    assert (unit["households"], unit["poor"], unit["near_poor"], unit["not_poor"]) == (1, 0, 1, 0)
    assert unit["transitions"]["escaped_poverty"] == 1 and unit["transitions"]["newly_poor"] == 0


class Killed(BaseException):
    """Stands for the process dying: no `except Exception` catches it, the transaction never commits."""


async def test_a_consumer_killed_mid_batch_ends_with_the_same_figures(stack: Stack, nats_url: str) -> None:
    data = province_dataset(households=1200, seed=33)
    db_url = await fresh_database(stack, "reporting")
    nc, js = await connect(nats_url)
    await publish(js, all_unit_events() + data.events)

    applied_calls = 0

    def dying(handler: Handler) -> Handler:
        async def handle(session: AsyncSession, events: list[Event]) -> None:
            nonlocal applied_calls
            await handler(session, events)
            applied_calls += 1
            raise Killed  # after the first statements of the batch ran, before the commit

        return handle

    db = Database(db_url)
    options = RunnerOptions(batch_size=40, ack_wait_seconds=2.0)
    crashing = ConsumerRunner(Consumer(REGISTRY.name, "registry", {t: dying(h) for t, h in REGISTRY.handlers.items()}),
                              db, js, options)
    await crashing.subscribe()
    try:
        await crashing.run_once()
        raise AssertionError("the batch should have been killed")
    except Killed:
        pass
    assert applied_calls == 1
    assert await _count(db_url, "SELECT count(*) FROM inbox") == 0, "nothing of the killed batch committed"

    # Killed after the commit but before the acknowledgement: the batch will be delivered again.
    committed = ConsumerRunner(REGISTRY, db, js, options)

    async def die_before_ack(_msgs: list[Msg]) -> None:
        raise Killed

    committed.after_commit = die_before_ack
    await committed.subscribe()
    try:
        while await _count(db_url, "SELECT count(*) FROM inbox") == 0:
            await committed.run_once()
    except Killed:
        pass
    assert await _count(db_url, "SELECT count(*) FROM inbox") > 0
    await crashing.stop()
    await committed.stop()
    await db.dispose()

    # Restarted: redelivered batches are applied once, the rest as usual.
    app = reporting_app(db_url, nats_url)
    async with running_app(app) as client:
        service = Reporting(app, client, js, db_url, nats_url)
        info = await js.stream_info("REGISTRY")
        await service.settled(int(info.state.last_seq), timeout=60)
        for year in (2023, 2024):
            assert_report(await service.indicators(unit="24", year=year), data, year, PROVINCE)
    await nc.close()
    assert expected(data, 2024, PROVINCE)[""]["households"] > 0


async def _count(db_url: str, sql: str) -> int:
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


async def test_a_removed_household_leaves_every_year_and_a_late_older_assessment_stays_out(
        reporting: Reporting) -> None:
    import random

    from tests.reporting.registry_events import removed_event

    rng = random.Random(8)
    commune = COMMUNES_B[1]
    y2023 = replace(draw(rng, "hh-gone", 2023, commune, 1), status="poor")
    y2024 = replace(draw(rng, "hh-gone", 2024, commune, 2), status="near_poor")
    other = replace(draw(rng, "hh-stays", 2024, commune, 1), status="poor")
    await reporting.publish(all_unit_events())
    await reporting.settled(await reporting.publish([assessed_event(y2023), assessed_event(y2024),
                                                     assessed_event(other)]))
    assert (await reporting.indicators(unit=commune, year=2024))["unit"]["households"] == 2

    late = replace(draw(rng, "hh-gone", 2022, commune, 1), status="poor")  # older than the removal
    await reporting.settled(await reporting.publish([removed_event("hh-gone", commune, 3), assessed_event(late)]))
    for year, households in ((2022, 0), (2023, 0), (2024, 1)):
        unit = (await reporting.indicators(unit=commune, year=year))["unit"]
        assert unit["households"] == households, year
    assert (await reporting.indicators(unit=commune, year=2024))["unit"]["poor"] == 1
