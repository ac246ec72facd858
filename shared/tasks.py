"""Background tasks: stopping them reliably, and periodic pollers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

log = logging.getLogger(__name__)


async def stop_task(task: asyncio.Task[Any] | None) -> None:
    """Cancel `task` and wait for it to end.

    A cancellation can be lost inside nats-py's fetch (asyncio.wait_for on Python 3.11), which left a
    service's shutdown waiting forever: cancel again until the task is done.
    """
    if task is None:
        return
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=1.0)
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


class Periodic:
    """Runs `tick()` every `interval` seconds in a background task until stopped. A failed tick is
    logged and the next one runs on time: a poller must outlive a database or network blip."""

    def __init__(self, name: str, interval: float, *, run_at_start: bool = False) -> None:
        self.name, self.interval, self.run_at_start = name, interval, run_at_start
        self._task: asyncio.Task[None] | None = None

    async def tick(self) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        await stop_task(self._task)

    async def _run(self) -> None:
        if not self.run_at_start:
            await asyncio.sleep(self.interval)
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("periodic task failed; trying again later", extra={"task": self.name})
            await asyncio.sleep(self.interval)
