"""Signing in: the OAuth2 grants (password, client_credentials, refresh_token), login sessions with
rotating refresh tokens and reuse detection, logout and revocation, failed-login lockout.

A refresh token is opaque (`crt_…`), stored as its SHA-256, single-use: using it returns a new one
in the same family (the login session). Presenting a used one again means it was stolen or
replayed, so the whole family is revoked, and with it every access token of the session.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.identity import repository
from gateway.identity.models import LoginSession, RefreshToken, User
from gateway.identity.passwords import Passwords, client_secret_matches
from gateway.settings import GatewaySettings
from gateway.tokens.revocation import Revocations
from gateway.tokens.service import Identity, TokenRejected, Tokens, VerifiedToken
from shared.db import Database
from shared.principal import ScopeUnit

log = logging.getLogger(__name__)
REFRESH_PREFIX = "crt_"


class LoginRefused(Exception):
    """An OAuth2 error: `error` is the RFC 6749 code, `code` the platform's stable problem code."""

    def __init__(self, status: int, error: str, code: str, detail: str, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.status, self.error, self.code, self.detail, self.retry_after = status, error, code, detail, retry_after


@dataclass
class Grant:
    access_token: str
    expires_in: int
    refresh_token: str | None = None

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"access_token": self.access_token, "token_type": "Bearer",
                                "expires_in": self.expires_in}
        if self.refresh_token:
            body["refresh_token"] = self.refresh_token
        return body


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def scope_units(rows: list[Any]) -> tuple[ScopeUnit, ...]:
    return tuple(ScopeUnit(hierarchy=r.hierarchy, code=r.code, path=r.path, level=r.level) for r in rows)


async def user_identity(session: AsyncSession, user: User) -> Identity:
    return Identity(subject=str(user.id), kind="user", name=user.username, display_name=user.display_name,
                    role=user.role, permissions=await repository.role_permissions(session, user.role),
                    scopes=scope_units(list(user.scopes)))


class Identities:
    def __init__(self, db: Database, passwords: Passwords, tokens: Tokens, revocations: Revocations,
                 settings: GatewaySettings) -> None:
        self.db = db
        self.passwords = passwords
        self.tokens = tokens
        self.revocations = revocations
        self.settings = settings

    # ---- password grant --------------------------------------------------------------------
    async def password_grant(self, username: str, password: str) -> Grant:
        username = username.strip().lower()
        now = datetime.now(UTC)
        async with self.db.system_session() as session:
            user = await repository.user_named(session, username)
        if user is not None and user.locked_until is not None and user.locked_until > now:
            raise self._locked(user.locked_until, now)
        ok = await self.passwords.verify(user.password_hash if user else None, password)
        if not ok or user is None:
            if user is not None:
                await self._record_failure(user.id, now)
            raise LoginRefused(400, "invalid_grant", "invalid_credentials", "Wrong username or password.")
        if not user.active:
            raise LoginRefused(400, "invalid_grant", "account_disabled", "This account is disabled.")
        async with self.db.system_session() as session:
            await repository.clear_failures(session, user.id)
            user = await session.get(User, user.id)
            assert user is not None
            identity = await user_identity(session, user)
            login = LoginSession(id=uuid.uuid4(), user_id=user.id,
                                 expires_at=now + timedelta(seconds=self.settings.session_max_seconds))
            session.add(login)
            await session.flush()
            refresh = self._new_refresh(session, login, now)
        access, ttl = self.tokens.issue(identity, str(login.id))
        return Grant(access, ttl, refresh)

    def _locked(self, until: datetime, now: datetime) -> LoginRefused:
        wait = max(1, int((until - now).total_seconds()) + 1)
        return LoginRefused(429, "invalid_grant", "account_locked",
                            f"Too many failed logins: this account is locked for {wait} more seconds.", wait)

    async def _record_failure(self, user_id: uuid.UUID, now: datetime) -> None:
        s = self.settings
        async with self.db.system_session() as session:
            locked_until = await repository.record_failure(
                session, user_id, s.login_max_failures, float(s.login_lockout_seconds),
                float(s.login_lockout_max_seconds))
        if locked_until is not None and locked_until > now:
            log.warning("account locked after repeated failed logins", extra={"user_id": str(user_id)})
            raise self._locked(locked_until, now)

    def _new_refresh(self, session: AsyncSession, login: LoginSession, now: datetime) -> str:
        token = REFRESH_PREFIX + secrets.token_urlsafe(32)
        expires = min(now + timedelta(seconds=self.settings.refresh_token_ttl_seconds), login.expires_at)
        session.add(RefreshToken(id=uuid.uuid4(), session_id=login.id, token_hash=_hash(token), expires_at=expires))
        return token

    # ---- refresh grant ---------------------------------------------------------------------
    async def refresh_grant(self, token: str) -> Grant:
        now = datetime.now(UTC)
        refused: LoginRefused | None = None
        async with self.db.system_session() as session:
            row = await repository.refresh_token(session, _hash(token), for_update=True)
            if row is None:
                raise LoginRefused(400, "invalid_grant", "invalid_refresh_token", "Unknown refresh token.")
            login = await session.get(LoginSession, row.session_id, with_for_update=True)
            assert login is not None
            user = await session.get(User, login.user_id)
            if login.revoked_at is not None:
                raise LoginRefused(400, "invalid_grant", "session_revoked", "This login session was revoked.")
            if row.used_at is not None:
                # Reuse: a copy of an already-rotated token. Revoke the family (committed below).
                await self._revoke_login(session, login, "refresh_reuse", now)
                log.warning("refresh token reused: session revoked",
                            extra={"session_id": str(login.id), "user_id": str(login.user_id)})
                refused = LoginRefused(400, "invalid_grant", "refresh_token_reused",
                                       "This refresh token was already used; the whole session is revoked.")
            elif row.expires_at <= now or login.expires_at <= now:
                raise LoginRefused(400, "invalid_grant", "refresh_token_expired", "The refresh token has expired.")
            elif user is None or not user.active:
                await self._revoke_login(session, login, "account_disabled", now)
                refused = LoginRefused(400, "invalid_grant", "account_disabled", "This account is disabled.")
            else:
                row.used_at = now
                identity = await user_identity(session, user)
                refresh = self._new_refresh(session, login, now)
        if refused is not None:
            raise refused
        access, ttl = self.tokens.issue(identity, str(login.id))
        return Grant(access, ttl, refresh)

    async def _revoke_login(self, session: AsyncSession, login: LoginSession, reason: str, now: datetime) -> None:
        if login.revoked_at is None:
            login.revoked_at = now
            login.revoked_reason = reason
        await self.revocations.revoke_session(session, str(login.id))

    # ---- client credentials ----------------------------------------------------------------
    async def client_grant(self, client_id: str, secret: str) -> Grant:
        async with self.db.system_session() as session:
            client = await repository.client_named(session, client_id)
            if client is None or not client.active or not client_secret_matches(secret, client.secret_hash):
                raise LoginRefused(401, "invalid_client", "invalid_client", "Unknown client or wrong secret.")
            permissions = frozenset(client.permissions) or await repository.role_permissions(session, client.role)
            identity = Identity(subject=str(client.id), kind="client", name=client.client_id,
                                display_name=client.name, role=client.role, permissions=permissions,
                                scopes=scope_units(list(client.scopes)))
        access, ttl = self.tokens.issue(identity, "c-" + uuid.uuid4().hex)
        return Grant(access, ttl)

    # ---- logout and revocation -------------------------------------------------------------
    async def logout(self, entry: VerifiedToken) -> None:
        now = datetime.now(UTC)
        async with self.db.system_session() as session:
            login = None
            if entry.principal.kind == "user":
                try:
                    login = await session.get(LoginSession, uuid.UUID(entry.sid), with_for_update=True)
                except ValueError:
                    login = None
            if login is not None:
                await self._revoke_login(session, login, "logout", now)
            else:
                await self.revocations.revoke_session(session, entry.sid)

    async def revoke(self, token: str) -> None:
        """RFC 7009: revoke a refresh token (its whole session) or an access token (its session).
        Unknown or invalid tokens are ignored, as the RFC asks."""
        now = datetime.now(UTC)
        if token.startswith(REFRESH_PREFIX):
            async with self.db.system_session() as session:
                row = await repository.refresh_token(session, _hash(token), for_update=False)
                if row is not None:
                    login = await session.get(LoginSession, row.session_id, with_for_update=True)
                    if login is not None:
                        await self._revoke_login(session, login, "revoked", now)
            return
        try:
            entry = await self.tokens.verify(token)
        except TokenRejected:
            return
        await self.logout(entry)

    async def revoke_user_sessions(self, session: AsyncSession, user_id: uuid.UUID, reason: str) -> None:
        """Every session of a user ends and every access token already issued to it is refused."""
        await repository.end_sessions_of(session, user_id, reason, datetime.now(UTC))
        await self.revocations.revoke_subject(session, str(user_id))
