"""Plain spends of one fund waiting in this process, applied together.

A spend holds its fund's row lock from its UPDATE until its COMMIT is flushed to disk (a few
milliseconds where the disk really syncs), and every other spend of that fund waits for it: one spend
per commit caps a fund at a few hundred spends/s whatever the CPU. Here the spends of a fund that
arrive while one of its transactions runs wait for the next one, and that one applies them all
(`service.spend_together`: each checked in arrival order against the running balance, each its own
ledger entry and its own event): one lock, one flush for the lot.

Correct across processes and replicas: each combined transaction reads the fund FOR UPDATE, so the
row lock still serialises it with every other change of the fund (another replica's batch, an
idempotent spend, a transfer). At most one transaction per fund per process at a time; a spend whose
caller went away before its batch started is not applied. A batch that fails (a lost connection)
answers every spend in it with that error, and none of them was recorded.
"""

from __future__ import annotations

import asyncio
from uuid import UUID

from services.support.funds import service
from services.support.funds.models import FundEntry
from services.support.funds.schemas import SpendIn
from shared import tracing
from shared.context import request_id_var
from shared.db import Database
from shared.errors import Problem
from shared.principal import Principal

# The most spends one transaction applies: one statement holds an entry and an event for each.
MOST = 200


class _Waiting:
    __slots__ = ("spend", "answer")

    def __init__(self, spend: service.Spend, answer: asyncio.Future[FundEntry]) -> None:
        self.spend, self.answer = spend, answer


class SpendCombiner:
    def __init__(self, db: Database, most: int = MOST) -> None:
        self._db = db
        self._most = most
        self._waiting: dict[UUID, list[_Waiting]] = {}  # per fund: spends not yet in a transaction
        self._tasks: set[asyncio.Task[None]] = set()

    async def spend(self, principal: Principal, fund_id: UUID, body: SpendIn) -> FundEntry:
        """The spend's entry once its transaction committed; its 404 or 409 Problem raised otherwise."""
        waiting = _Waiting(service.Spend(principal, body, request_id_var.get(), tracing.current_traceparent()),
                           asyncio.get_running_loop().create_future())
        queue = self._waiting.get(fund_id)
        if queue is not None:
            queue.append(waiting)  # the fund's drain takes it with the next batch
        else:
            self._waiting[fund_id] = [waiting]
            task = asyncio.create_task(self._drain(fund_id), name=f"fund-spends-{fund_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await waiting.answer

    async def _drain(self, fund_id: UUID) -> None:
        queue = self._waiting[fund_id]
        try:
            while queue:
                batch = [w for w in queue[:self._most] if not w.answer.done()]  # done: its caller left
                del queue[:self._most]
                if batch:
                    await self._apply(fund_id, batch)
        finally:
            del self._waiting[fund_id]
            for left in queue:  # only when cancelled (the service stopping)
                left.answer.cancel()

    async def _apply(self, fund_id: UUID, batch: list[_Waiting]) -> None:
        try:
            async with self._db.driver_connection() as conn, conn.transaction():
                answers = await service.spend_together(conn, fund_id, [w.spend for w in batch])
        except Exception as exc:  # nothing of the batch was recorded
            for w in batch:
                if not w.answer.done():
                    w.answer.set_exception(exc)
            return
        except BaseException:  # cancelled: the service is stopping
            for w in batch:
                w.answer.cancel()
            raise
        for w, answer in zip(batch, answers, strict=True):
            if w.answer.done():
                continue
            if isinstance(answer, Problem):
                w.answer.set_exception(answer)
            else:
                w.answer.set_result(answer)
