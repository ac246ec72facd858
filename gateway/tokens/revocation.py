"""Access tokens refused before they expire.

A logout, a reused refresh token or an admin change writes a row (a session id, or "every token of
this subject issued before T"). The replica that wrote it applies it at once; every replica polls
recent rows each second. Rows live only as long as the tokens they refuse could.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.settings import GatewaySettings
from gateway.tokens.models import Revocation
from shared.db import Database
from shared.tasks import stop_task

log = logging.getLogger(__name__)


class Revocations:
    def __init__(self, db: Database, settings: GatewaySettings) -> None:
        self.db = db
        self.settings = settings
        self._sids: dict[str, float] = {}  # sid -> until (epoch seconds)
        self._not_before: dict[str, float] = {}  # subject -> tokens issued before this are refused
        self._task: asyncio.Task[None] | None = None
        self._since: datetime | None = None

    @property
    def ttl(self) -> timedelta:
        s = self.settings
        return timedelta(seconds=max(s.access_token_ttl_seconds, s.client_token_ttl_seconds) + 60)

    def is_revoked(self, sid: str, subject: str, issued_at: float) -> bool:
        if sid in self._sids:
            return True
        before = self._not_before.get(subject)
        return before is not None and issued_at < before

    def _apply(self, sid: str | None, subject: str | None, not_before: datetime | None,
               expires_at: datetime) -> None:
        until = expires_at.timestamp()
        if sid:
            self._sids[sid] = until
        if subject and not_before is not None:
            self._not_before[subject] = max(self._not_before.get(subject, 0.0), not_before.timestamp())

    async def revoke_session(self, session: AsyncSession, sid: str) -> None:
        """Refuse every access token of a login session (its refresh family is revoked separately)."""
        expires = datetime.now(UTC) + self.ttl
        session.add(Revocation(sid=sid, expires_at=expires))
        self._apply(sid, None, None, expires)

    async def revoke_subject(self, session: AsyncSession, subject: str) -> None:
        """Refuse every access token issued so far to a user or client (role, scope, status changed)."""
        now = datetime.now(UTC)
        # Access tokens carry `iat` rounded to the millisecond, so a login right after still works;
        # the extra millisecond keeps a token issued just before on the refused side of the line.
        not_before = now + timedelta(milliseconds=1)
        session.add(Revocation(subject=subject, not_before=not_before, expires_at=now + self.ttl))
        self._apply(None, subject, not_before, now + self.ttl)

    async def poll(self) -> None:
        started = datetime.now(UTC)
        # Overlapping windows: a row committed late (ids and created_at are taken before commit)
        # is still seen. Applying a row twice is harmless.
        since = (self._since or datetime.fromtimestamp(0, UTC)) - timedelta(seconds=60)
        async with self.db.system_session() as session:
            rows = (await session.execute(
                select(Revocation.sid, Revocation.subject, Revocation.not_before, Revocation.expires_at)
                .where(Revocation.created_at > since, Revocation.expires_at > started)
            )).all()
        for sid, subject, not_before, expires_at in rows:
            self._apply(sid, subject, not_before, expires_at)
        self._since = started
        self._expire()

    def _expire(self) -> None:
        now = time.time()
        for sid in [s for s, until in self._sids.items() if until < now]:
            del self._sids[sid]
        horizon = now - self.ttl.total_seconds()
        for subject in [s for s, before in self._not_before.items() if before < horizon]:
            del self._not_before[subject]

    async def purge(self) -> None:
        async with self.db.system_session() as session:
            await session.execute(delete(Revocation).where(Revocation.expires_at < datetime.now(UTC)))

    async def start(self) -> None:
        await self.poll()
        self._task = asyncio.create_task(self._run(), name="gateway-revocations")

    async def stop(self) -> None:
        await stop_task(self._task)

    async def _run(self) -> None:
        rounds = 0
        while True:
            await asyncio.sleep(self.settings.revocation_poll_seconds)
            try:
                await self.poll()
                rounds += 1
                if rounds % 600 == 0:
                    await self.purge()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("revocation poll failed")
