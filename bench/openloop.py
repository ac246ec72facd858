"""The open-loop load generator of the benches: requests leave on schedule whatever the answers do, so
a stall is counted in the latencies, not hidden by a client that waits for its previous answer.

`open_loop(call, rate, seconds)` starts `rate × seconds` calls, the i-th at i / rate seconds after the
start, waits for them all, and hands back each call's latency (from the time it was due to its end)
and what it returned (a status, a kind of request...). `call()` is invoked at the time a call is due
and must give an awaitable: what it picks then (a random household, say) is picked in schedule order.
Warming the pools and caches is each bench's own business, before it calls this.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class Run(Generic[T]):
    latencies: list[float]  # seconds, from each call's due time to its end, in the order the calls ended
    outcomes: list[T]  # what each call returned, in the same order
    elapsed: float  # seconds from the first call's due time to the end of the last one


async def open_loop(call: Callable[[], Awaitable[T]], rate: int, seconds: int) -> Run[T]:
    latencies: list[float] = []
    outcomes: list[T] = []

    async def timed(scheduled: float, pending: Awaitable[T]) -> None:
        outcome = await pending
        latencies.append(time.perf_counter() - scheduled)
        outcomes.append(outcome)

    tasks = []
    started = time.perf_counter() + 0.05
    for i in range(rate * seconds):
        scheduled = started + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(timed(scheduled, call())))
    await asyncio.gather(*tasks)
    return Run(latencies, outcomes, time.perf_counter() - started)
