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
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import LoginSession, RefreshToken, Role, SystemClient, User
from gateway.passwords import client_secret_matches
from gateway.tokens import Identity, TokenRejected, VerifiedToken
from shared.principal import ScopeUnit

if TYPE_CHECKING:
    from gateway.state import Gateway

log = logging.getLogger(__name__)
REFRESH_PREFIX = "crt_"

_RECORD_FAILURE = text("""
UPDATE users SET
    failed_logins = CASE WHEN failed_logins + 1 >= :max THEN 0 ELSE failed_logins + 1 END,
    lockouts = CASE WHEN failed_logins + 1 >= :max THEN lockouts + 1 ELSE lockouts END,
    locked_until = CASE WHEN failed_logins + 1 >= :max
        THEN now() + make_interval(secs => LEAST(:base * power(2, LEAST(lockouts, 20)), :cap))
        ELSE locked_until END
WHERE id = :id
RETURNING locked_until
""")


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


async def role_permissions(session: AsyncSession, role: str) -> frozenset[str]:
    permissions = await session.scalar(select(Role.permissions).where(Role.name == role))
    return frozenset(permissions or ())


async def user_identity(session: AsyncSession, user: User) -> Identity:
    return Identity(subject=str(user.id), kind="user", name=user.username, display_name=user.display_name,
                    role=user.role, permissions=await role_permissions(session, user.role),
                    scopes=scope_units(list(user.scopes)))


class Identities:
    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway
        self.settings = gateway.settings

    # ---- password grant --------------------------------------------------------------------
    async def password_grant(self, username: str, password: str) -> Grant:
        username = username.strip().lower()
        now = datetime.now(UTC)
        async with self.gw.db.system_session() as session:
            user = await session.scalar(select(User).where(User.username == username))
        if user is not None and user.locked_until is not None and user.locked_until > now:
            raise self._locked(user.locked_until, now)
        ok = await self.gw.passwords.verify(user.password_hash if user else None, password)
        if not ok or user is None:
            if user is not None:
                await self._record_failure(user.id, now)
            raise LoginRefused(400, "invalid_grant", "invalid_credentials", "Wrong username or password.")
        if not user.active:
            raise LoginRefused(400, "invalid_grant", "account_disabled", "This account is disabled.")
        async with self.gw.db.system_session() as session:
            await session.execute(update(User).where(User.id == user.id).values(
                failed_logins=0, lockouts=0, locked_until=None))
            user = await session.get(User, user.id)
            assert user is not None
            identity = await user_identity(session, user)
            login = LoginSession(id=uuid.uuid4(), user_id=user.id,
                                 expires_at=now + timedelta(seconds=self.settings.session_max_seconds))
            session.add(login)
            await session.flush()
            refresh = self._new_refresh(session, login, now)
        access, ttl = self.gw.tokens.issue(identity, str(login.id))
        return Grant(access, ttl, refresh)

    def _locked(self, until: datetime, now: datetime) -> LoginRefused:
        wait = max(1, int((until - now).total_seconds()) + 1)
        return LoginRefused(429, "invalid_grant", "account_locked",
                            f"Too many failed logins: this account is locked for {wait} more seconds.", wait)

    async def _record_failure(self, user_id: uuid.UUID, now: datetime) -> None:
        s = self.settings
        async with self.gw.db.system_session() as session:
            locked_until = await session.scalar(_RECORD_FAILURE, {
                "id": user_id, "max": s.login_max_failures, "base": float(s.login_lockout_seconds),
                "cap": float(s.login_lockout_max_seconds)})
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
        async with self.gw.db.system_session() as session:
            row = await session.scalar(
                select(RefreshToken).where(RefreshToken.token_hash == _hash(token)).with_for_update())
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
        access, ttl = self.gw.tokens.issue(identity, str(login.id))
        return Grant(access, ttl, refresh)

    async def _revoke_login(self, session: AsyncSession, login: LoginSession, reason: str, now: datetime) -> None:
        if login.revoked_at is None:
            login.revoked_at = now
            login.revoked_reason = reason
        await self.gw.revocations.revoke_session(session, str(login.id))

    # ---- client credentials ----------------------------------------------------------------
    async def client_grant(self, client_id: str, secret: str) -> Grant:
        async with self.gw.db.system_session() as session:
            client = await session.scalar(select(SystemClient).where(SystemClient.client_id == client_id))
            if client is None or not client.active or not client_secret_matches(secret, client.secret_hash):
                raise LoginRefused(401, "invalid_client", "invalid_client", "Unknown client or wrong secret.")
            permissions = frozenset(client.permissions) or await role_permissions(session, client.role)
            identity = Identity(subject=str(client.id), kind="client", name=client.client_id,
                                display_name=client.name, role=client.role, permissions=permissions,
                                scopes=scope_units(list(client.scopes)))
        access, ttl = self.gw.tokens.issue(identity, "c-" + uuid.uuid4().hex)
        return Grant(access, ttl)

    # ---- logout and revocation -------------------------------------------------------------
    async def logout(self, entry: VerifiedToken) -> None:
        now = datetime.now(UTC)
        async with self.gw.db.system_session() as session:
            login = None
            if entry.principal.kind == "user":
                try:
                    login = await session.get(LoginSession, uuid.UUID(entry.sid), with_for_update=True)
                except ValueError:
                    login = None
            if login is not None:
                await self._revoke_login(session, login, "logout", now)
            else:
                await self.gw.revocations.revoke_session(session, entry.sid)

    async def revoke(self, token: str) -> None:
        """RFC 7009: revoke a refresh token (its whole session) or an access token (its session).
        Unknown or invalid tokens are ignored, as the RFC asks."""
        now = datetime.now(UTC)
        if token.startswith(REFRESH_PREFIX):
            async with self.gw.db.system_session() as session:
                row = await session.scalar(select(RefreshToken).where(RefreshToken.token_hash == _hash(token)))
                if row is not None:
                    login = await session.get(LoginSession, row.session_id, with_for_update=True)
                    if login is not None:
                        await self._revoke_login(session, login, "revoked", now)
            return
        try:
            entry = await self.gw.tokens.verify(token)
        except TokenRejected:
            return
        await self.logout(entry)

    async def revoke_user_sessions(self, session: AsyncSession, user_id: uuid.UUID, reason: str) -> None:
        """Every session of a user ends and every access token already issued to it is refused."""
        now = datetime.now(UTC)
        await session.execute(update(LoginSession).where(
            LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None)
        ).values(revoked_at=now, revoked_reason=reason))
        await self.gw.revocations.revoke_subject(session, str(user_id))
