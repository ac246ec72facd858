"""When every database connection is busy, callers get one in the order they asked for it.

Under load the pool's own queue let a newcomer take a connection that had just been handed to a
waiter, which sent the waiter to the back of the queue: some requests waited seconds while others
went straight through.
"""

from __future__ import annotations

import asyncio
from functools import partial

from sqlalchemy import event, text

from shared.db import Database
from tests.kit import Stack, eventually, fresh_database


async def test_callers_waiting_for_a_connection_get_one_in_the_order_they_asked(stack: Stack) -> None:
    db = Database(await fresh_database(stack, "support"), pool_size=2)
    served: list[str] = []
    release = [asyncio.Event(), asyncio.Event()]
    holding = [asyncio.Event(), asyncio.Event()]

    async def holder(i: int) -> None:
        async with db.session(system=True) as session:
            await session.execute(text("SELECT 1"))
            holding[i].set()
            await release[i].wait()

    async def caller(name: str, started: asyncio.Event | None = None) -> None:
        if started is not None:
            started.set()
        async with db.session(system=True) as session:
            await session.execute(text("SELECT 1"))
            served.append(name)

    try:
        holders = [asyncio.create_task(holder(i)) for i in range(2)]
        await asyncio.gather(*(h.wait() for h in holding))
        async def queued(n: int) -> bool:
            return db.waiting == n

        async def served_all() -> bool:
            return len(served) == 4

        waiters = []
        for number, name in enumerate(("first", "second", "third"), start=1):
            started = asyncio.Event()
            waiters.append(asyncio.create_task(caller(name, started)))
            await started.wait()
            await eventually(partial(queued, number))  # it now waits for a connection
        # A newcomer arrives at the very moment a connection goes back to the pool (its first step runs
        # before the first waiter wakes up): it must queue behind the waiters all the same.
        newcomers: list[asyncio.Task[None]] = []

        def arrive(*_: object) -> None:
            if not newcomers:
                newcomers.append(asyncio.get_running_loop().create_task(caller("newcomer")))

        event.listen(db.engine.sync_engine, "checkin", arrive)
        release[0].set()
        # One connection serves them all, one after the other, while the other holder keeps its own.
        await eventually(served_all)
        release[1].set()
        await asyncio.gather(*holders, *waiters)
        await asyncio.gather(*newcomers)
    finally:
        await db.dispose()
    assert served == ["first", "second", "third", "newcomer"]


async def test_connections_opened_for_a_burst_are_kept_for_the_next_one(stack: Stack) -> None:
    db = Database(await fresh_database(stack, "support"), pool_size=3)
    opened: list[object] = []
    event.listen(db.engine.sync_engine, "connect", lambda *_: opened.append(1))

    async def query() -> None:
        async with db.session(system=True) as session:
            await session.execute(text("SELECT pg_sleep(0.02)"))

    try:
        for _ in range(3):  # bursts of more callers than connections
            await asyncio.gather(*(query() for _ in range(10)))
    finally:
        await db.dispose()
    assert len(opened) == 3  # never more than the pool holds, and none opened again
