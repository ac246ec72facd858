"""Everything one gateway process holds while it runs: its parts, built once from the settings,
started and stopped in order by the app's lifespan (gateway/main.py).

No part is handed this whole: each gets what it needs as constructor arguments, and a route asks for
the one part it uses (gateway/dependencies.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from nats.aio.client import Client as NATS
from prometheus_client import Histogram

from gateway.directory.service import DirectoryRefresher, UnitDirectory
from gateway.identity.passwords import Passwords
from gateway.identity.service import Identities
from gateway.keys.service import KeyRing
from gateway.openapi.service import ServiceDocuments
from gateway.proxy.forwarder import Forwarder
from gateway.proxy.pipeline import Proxy, ProxyLimits
from gateway.ratelimit import make_limiter
from gateway.settings import GatewaySettings
from gateway.tokens.revocation import Revocations
from gateway.tokens.service import Tokens
from shared.app import connect_nats
from shared.consumer import ConsumerRunner, RunnerOptions
from shared.db import Database
from shared.services import SERVICES
from shared.streams import ensure_streams
from shared.tasks import stop_task

log = logging.getLogger(__name__)
LOOP_LAG = Histogram("gateway_event_loop_lag_seconds", "How late a 100 ms timer fires: time the loop was busy",
                     buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0))


class NatsLink:
    """The process's NATS connection, made at start (the readiness check asks whether it is up)."""

    def __init__(self) -> None:
        self.client: NATS | None = None

    @property
    def connected(self) -> bool:
        return self.client is not None and self.client.is_connected


class GatewayProcess:
    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.db = Database(settings.database_url, settings.db_pool_size, settings.db_pool_pre_ping)
        self.keyring = KeyRing(self.db, settings)
        self.revocations = Revocations(self.db, settings)
        self.tokens = Tokens(self.keyring, self.revocations, settings)
        self.directory = UnitDirectory()
        self.passwords = Passwords(settings)
        self.limiter = make_limiter(settings.redis_url)
        self.forwarder = Forwarder(settings.upstreams, settings.upstream_pool_size,
                                   settings.upstream_connect_timeout_seconds)
        self.identities = Identities(self.db, self.passwords, self.tokens, self.revocations, settings)
        self.documents = ServiceDocuments(self.forwarder.get, list(SERVICES), settings.openapi_refresh_seconds)
        self.proxy = Proxy(self.tokens, self.documents, self.directory, self.limiter, self.forwarder,
                           ProxyLimits.of(settings))
        self.nats = NatsLink()
        self.runner: ConsumerRunner | None = None
        self._refresher = DirectoryRefresher(self.directory, self.db, settings.directory_refresh_seconds)
        self._maintenance: asyncio.Task[None] | None = None
        self._lag: asyncio.Task[None] | None = None

    def parts(self) -> dict[str, object]:
        """What routes may ask for, by name (gateway/dependencies.py)."""
        return {"settings": self.settings, "db": self.db, "keyring": self.keyring, "revocations": self.revocations,
                "tokens": self.tokens, "directory": self.directory, "passwords": self.passwords,
                "limiter": self.limiter, "identities": self.identities, "documents": self.documents,
                "nats": self.nats}

    async def start(self) -> None:
        s = self.settings
        await self.keyring.start()
        await self.revocations.start()
        await self.directory.load(self.db)
        await self.forwarder.start()
        await self.documents.start()
        await self.limiter.start()
        self.nats.client = await connect_nats(s.nats_url, "gateway")
        js = self.nats.client.jetstream()
        await ensure_streams(js)
        self.runner = ConsumerRunner(self.directory.consumer(), self.db, js,
                                     RunnerOptions(batch_size=s.consumer_batch_size,
                                                   ack_wait_seconds=s.consumer_ack_wait_seconds))
        if s.run_background_workers:
            await self.runner.start()
            await self._refresher.start()
            self._maintenance = asyncio.create_task(self._maintain(), name="gateway-keys")
            self._lag = asyncio.create_task(_watch_loop_lag(), name="gateway-loop-lag")
        log.info("gateway started", extra={"units": len(self.directory), "kid": self.keyring.current.kid})

    async def stop(self) -> None:
        for task in (self._maintenance, self._lag):
            await stop_task(task)
        await self._refresher.stop()
        await self.documents.stop()
        if self.runner is not None:
            await self.runner.stop()
        await self.revocations.stop()
        await self.limiter.stop()
        await self.forwarder.stop()
        if self.nats.client is not None:
            with contextlib.suppress(Exception):
                await self.nats.client.drain()
        await self.db.dispose()

    async def _maintain(self) -> None:
        """Reload keys (another replica may have rotated) and rotate when the current key is old."""
        while True:
            await asyncio.sleep(self.settings.key_reload_seconds)
            try:
                await self.keyring.reload()
                age = timedelta(days=self.settings.key_rotation_days)
                if datetime.now(UTC) - self.keyring.current.created_at > age:
                    await self.keyring.rotate(only_if_older_than=age)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("signing key maintenance failed")


async def _watch_loop_lag() -> None:
    """Every request of the platform waits on this loop: record how long it is busy at a stretch."""
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        await asyncio.sleep(0.1)
        LOOP_LAG.observe(max(0.0, loop.time() - started - 0.1))
