"""Stopping background tasks (relay, consumers, pollers) reliably."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


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
