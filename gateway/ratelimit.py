"""Fixed-window rate limits, in process or in Redis (so several gateway replicas share them).

`/auth/token` is rare and must be exact: with Redis every attempt is one INCR. Proxied requests are
hot: the Redis limiter counts locally and folds the counts into Redis every 100 ms, deciding with the
last total it saw plus its own unflushed hits, so a request never waits on Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Protocol

from shared.tasks import stop_task

log = logging.getLogger(__name__)


Clock = Callable[[], float]  # seconds since the epoch: windows are clock minutes, shared by replicas


class Limiter(Protocol):
    clock: Clock

    async def hit(self, key: str, limit: int, window: int) -> float:
        """Count one hit; 0 when allowed, else the seconds until the window resets."""

    def hit_fast(self, key: str, limit: int, window: int) -> float:
        """Like `hit`, never awaiting: for the proxy's hot path (may lag other replicas slightly)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class MemoryLimiter:
    def __init__(self, clock: Clock = time.time) -> None:
        self.clock = clock
        self._counts: dict[str, tuple[float, int]] = {}  # key -> (window end, hits)
        self._calls = 0

    def hit_fast(self, key: str, limit: int, window: int) -> float:
        now = self.clock()
        end, hits = self._counts.get(key, (0.0, 0))
        if end <= now:
            end, hits = (int(now // window) + 1) * window, 0
        hits += 1
        self._counts[key] = (end, hits)
        self._calls += 1
        if self._calls >= 100_000:  # forget finished windows now and then
            self._calls = 0
            self._counts = {k: v for k, v in self._counts.items() if v[0] > now}
        return 0.0 if hits <= limit else end - now

    async def hit(self, key: str, limit: int, window: int) -> float:
        return self.hit_fast(key, limit, window)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class RedisLimiter:
    FLUSH_SECONDS = 0.1

    def __init__(self, url: str, clock: Clock = time.time) -> None:
        import redis.asyncio as redis

        self.clock = clock
        self._redis = redis.from_url(url)
        self._pending: dict[str, int] = defaultdict(int)  # redis key -> hits not yet in Redis
        self._totals: dict[str, tuple[int, float]] = {}  # redis key -> (last total Redis answered, window end)
        self._ends: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    @staticmethod
    def _key(key: str, window: int, now: float) -> tuple[str, float]:
        number = int(now // window)
        return f"chungtay:rl:{key}:{window}:{number}", (number + 1) * window - now

    async def hit(self, key: str, limit: int, window: int) -> float:
        rkey, reset = self._key(key, window, self.clock())
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(rkey)
            pipe.expire(rkey, window + 5)
            hits, _ = await pipe.execute()
        return 0.0 if int(hits) <= limit else reset

    def hit_fast(self, key: str, limit: int, window: int) -> float:
        now = self.clock()
        rkey, reset = self._key(key, window, now)
        self._pending[rkey] += 1
        self._ends[rkey] = now + reset
        hits = self._totals.get(rkey, (0, 0.0))[0] + self._pending[rkey]
        return 0.0 if hits <= limit else reset

    async def flush(self) -> None:
        """Add this replica's hits to Redis and read back the totals of every live window, so each
        replica also learns the others' hits within one flush."""
        now = self.clock()
        self._ends = {k: v for k, v in self._ends.items() if v > now or k in self._pending}
        if not self._ends:
            return
        pending, self._pending = self._pending, defaultdict(int)
        watched = [k for k in self._ends if k not in pending]
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for rkey, count in pending.items():
                    pipe.incrby(rkey, count)
                    pipe.expire(rkey, int(self._ends.get(rkey, now + 60) - now) + 5)
                if watched:
                    pipe.mget(watched)
                results = await pipe.execute()
        except Exception:
            for rkey, count in pending.items():  # keep the hits for the next round
                self._pending[rkey] += count
            raise
        for i, rkey in enumerate(pending):
            self._totals[rkey] = (int(results[i * 2]), self._ends.get(rkey, now))
        if watched:
            for rkey, value in zip(watched, results[-1], strict=True):
                self._totals[rkey] = (int(value or 0), self._ends[rkey])
        self._totals = {k: v for k, v in self._totals.items() if v[1] > now}  # finished windows drop out

    async def start(self) -> None:
        await self._redis.ping()
        self._task = asyncio.create_task(self._run(), name="gateway-rate-limit-flush")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.FLUSH_SECONDS)
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("rate-limit flush to Redis failed; counting locally meanwhile", exc_info=True)

    async def stop(self) -> None:
        await stop_task(self._task)
        with contextlib.suppress(Exception):
            await self.flush()
        await self._redis.aclose()


def make_limiter(redis_url: str) -> Limiter:
    return RedisLimiter(redis_url) if redis_url else MemoryLimiter()
