"""The DCI background work: async searches waiting to run, callbacks waiting to be delivered (with
retries and back-off), and the consumer that turns registry events into notifications.

Callbacks go only to URLs the client registered (checked when the message came in), never follow
redirects, and ignore proxy settings: a client cannot steer the registry into the platform's network.
A failing callback never holds anything else up: it waits for its next try in the table.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import orjson
from fastapi import FastAPI

from services.registry import events as registry_events
from services.registry.dci import housekeeping as dci_housekeeping
from services.registry.dci import repository, sealing, service
from services.registry.dci.encryption import Decrypter
from services.registry.dci.settings import DciSettings
from services.registry.dci.signatures import Signer
from services.registry.personal_data import PersonalDataCipher
from shared import clock
from shared.consumer import Consumer
from shared.db import Database
from shared.events import Event
from shared.principal import principal_from_claims
from shared.tasks import stop_task

log = logging.getLogger(__name__)

CONSUMER_NAME = "registry-dci"
WAKE_KEY = "dci_wake"
SIGNER_KEY = "dci_signer"
DECRYPTER_KEY = "dci_decrypter"


class DciRuntime:
    """The DCI consumer and worker of one registry process, sharing the worker's wake-up call."""

    def __init__(self, cipher: PersonalDataCipher | None, settings: DciSettings) -> None:
        self.cipher, self.settings = cipher, settings
        self.wake = asyncio.Event()
        self.signer = Signer(settings.signing_key) if settings.signing_key else None
        self.decrypter = Decrypter(settings.encryption_key) if settings.encryption_key else None

    def consumer(self) -> Consumer:
        return dci_consumer(self.cipher, self._queued)

    def worker(self, app: FastAPI) -> DciWorker:
        worker = DciWorker(app.state.db, self.cipher, self.settings, self.wake, self.signer)
        setattr(app.state, WAKE_KEY, self.wake)
        setattr(app.state, SIGNER_KEY, self.signer)
        setattr(app.state, DECRYPTER_KEY, self.decrypter)
        return worker

    def housekeeping(self, app: FastAPI) -> Callable[[], Awaitable[object]]:
        """DCI's job in the registry's housekeeping (purge old callbacks, seal legacy rows again)."""
        retention = self.settings.delivery_retention_days * 86400.0

        async def job() -> object:
            done = await dci_housekeeping.run(app.state.db, self.cipher, retention)
            if done is not None and (done.purged or done.resealed):
                log.info("DCI housekeeping: %d old callbacks deleted, %d rows sealed again", done.purged,
                         done.resealed)
            return done

        return job

    def _queued(self) -> None:
        """Notifications were queued in the consumer's transaction, which commits right after the
        handler: the worker looks twice, soon, rather than at its next poll."""
        loop = asyncio.get_running_loop()
        for delay in (0.05, 0.3):
            loop.call_later(delay, self.wake.set)


def dci_consumer(cipher: PersonalDataCipher | None, queued: Any = None) -> Consumer:
    """The registry's own events, turned into queued notifications for the matching subscriptions."""

    async def handle(session: Any, events: list[Event]) -> None:
        if cipher is None:
            log.warning("DCI notifications need the personal-data keys; %d events skipped", len(events))
            return
        if await service.notify(session, events, cipher) and queued is not None:
            queued()

    types = (registry_events.HOUSEHOLD_ASSESSED, registry_events.HOUSEHOLD_ASSESSED_BATCH,
             registry_events.HOUSEHOLD_REGISTERED, registry_events.HOUSEHOLD_UPDATED, registry_events.HOUSEHOLD_REMOVED)
    return Consumer(CONSUMER_NAME, "registry", {t: handle for t in types})


class DciWorker:
    def __init__(self, db: Database, cipher: PersonalDataCipher | None, settings: DciSettings,
                 wake: asyncio.Event | None = None, signer: Signer | None = None) -> None:
        self.db, self.cipher, self.settings, self.signer = db, cipher, settings, signer
        self.wake = wake or asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._http: httpx.AsyncClient | None = None

    async def start(self) -> None:
        self._http = httpx.AsyncClient(timeout=self.settings.callback_timeout_seconds, follow_redirects=False,
                                       trust_env=False)
        self._task = asyncio.create_task(self._run(), name="dci-worker")

    async def stop(self) -> None:
        await stop_task(self._task)
        if self._http is not None:
            await self._http.aclose()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.settings.poll_seconds)
            self.wake.clear()
            try:
                while await self.run_search():
                    pass
                while await self.deliver() >= self.settings.deliveries_per_round:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("DCI worker round failed; trying again")
                await asyncio.sleep(1.0)

    async def run_search(self) -> bool:
        """Runs one waiting async search; False when none waits."""
        if self.cipher is None:
            return False
        async with self.db.system_session() as system:
            txn = await repository.claim_pending(system)
            if txn is None:
                return False
            txn.attempts += 1
            principal = principal_from_claims(txn.principal)
            async with self.db.session(principal) as scoped:
                await service.complete_search(system, scoped, txn, self.cipher)
        return True

    async def deliver(self) -> int:
        """Posts the callbacks that are due; returns how many were tried."""
        if self.cipher is None or self._http is None:
            return 0
        s = self.settings
        async with self.db.system_session() as session:
            due = await repository.due_deliveries(session, clock.now(), s.deliveries_per_round)
            bodies = [self._body(d.body_sealed, d.legacy_seal) for d in due]
            sendable = [(d, b) for d, b in zip(due, bodies, strict=True) if b is not None]
            results = await asyncio.gather(*(self._post(d.url, b) for d, b in sendable))
            now = clock.now()
            for delivery, body in zip(due, bodies, strict=True):
                if body is None:
                    service.unreadable(delivery, now)
            for (delivery, _), error in zip(sendable, results, strict=True):
                if error is None:
                    service.delivered(delivery, now)
                else:
                    service.failed(delivery, error, now, s.retry_base_seconds, s.retry_cap_seconds, s.max_age_seconds)
        return len(due)

    def _body(self, sealed: bytes, legacy: bool) -> bytes | None:
        """What to POST (signed when the registry signs); None when the sealed body cannot be opened."""
        assert self.cipher is not None
        body = sealing.unsealed(self.cipher, sealed, legacy)
        if body is None or self.signer is None:
            return body
        return orjson.dumps(self.signer.signed(orjson.loads(body)))

    async def _post(self, url: str, body: bytes) -> str | None:
        assert self._http is not None
        try:
            response = await self._http.post(url, content=body, headers={"content-type": "application/json"})
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"
