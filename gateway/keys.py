"""The signing keys of access tokens: ES256 (P-256) with a `kid`, kept in the gateway database so
every replica signs and verifies with the same set, rotated on a schedule or on demand.

ES256 rather than EdDSA for access tokens: other government systems verify them through the JWKS,
and P-256 is supported by every JOSE library they may use. A retired key stays published (and
accepted) until every token it signed has expired.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from sqlalchemy import or_, select, text, update

from gateway.models import SigningKey
from gateway.settings import GatewaySettings
from shared.db import Database

ALGORITHM = "ES256"
_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('chungtay-gateway-signing-keys'))")


@dataclass(frozen=True)
class LoadedKey:
    kid: str
    private: ec.EllipticCurvePrivateKey
    public: ec.EllipticCurvePublicKey
    jwk: dict[str, Any]
    created_at: datetime
    retired_at: datetime | None


def _new_key() -> SigningKey:
    private = ec.generate_private_key(ec.SECP256R1())
    kid = f"{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(4)}"
    jwk = ECAlgorithm.to_jwk(private.public_key(), as_dict=True) | {"kid": kid, "alg": ALGORITHM, "use": "sig"}
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return SigningKey(kid=kid, algorithm=ALGORITHM, private_pem=pem, public_jwk=jwk,
                      created_at=datetime.now(UTC))


def _load(row: SigningKey) -> LoadedKey:
    private = serialization.load_pem_private_key(row.private_pem.encode(), password=None)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    return LoadedKey(row.kid, private, private.public_key(), dict(row.public_jwk), row.created_at, row.retired_at)


class KeyRing:
    def __init__(self, db: Database, settings: GatewaySettings) -> None:
        self.db = db
        self.settings = settings
        self._keys: dict[str, LoadedKey] = {}
        self._current: LoadedKey | None = None
        self._last_reload = 0.0
        self._reload_lock = asyncio.Lock()

    @property
    def publish_window(self) -> timedelta:
        """How long a retired key stays valid: the longest token lifetime, plus clock skew."""
        s = self.settings
        return timedelta(seconds=max(s.access_token_ttl_seconds, s.client_token_ttl_seconds) + 300)

    @property
    def current(self) -> LoadedKey:
        if self._current is None:
            raise RuntimeError("no signing key loaded")
        return self._current

    async def start(self) -> None:
        """Load the keys, creating the first one or rotating an old one if needed."""
        await self.reload()
        age = timedelta(days=self.settings.key_rotation_days)
        if self._current is None or datetime.now(UTC) - self._current.created_at > age:
            await self.rotate(only_if_older_than=age)

    async def reload(self) -> None:
        cutoff = datetime.now(UTC) - self.publish_window
        async with self.db.system_session() as session:
            rows = (await session.scalars(
                select(SigningKey).where(or_(SigningKey.retired_at.is_(None), SigningKey.retired_at > cutoff))
                .order_by(SigningKey.created_at)
            )).all()
        keys = {row.kid: _load(row) for row in rows}
        active = [k for k in keys.values() if k.retired_at is None]
        self._keys = keys
        self._current = active[-1] if active else None
        self._last_reload = time.monotonic()

    async def rotate(self, only_if_older_than: timedelta | None = None) -> str:
        """Make a new current key and retire the previous ones (they stay published for a while).

        Under an advisory lock so replicas starting together make one key, not one each.
        """
        async with self.db.system_session() as session:
            await session.execute(_LOCK)
            newest = (await session.scalars(
                select(SigningKey).where(SigningKey.retired_at.is_(None)).order_by(SigningKey.created_at.desc())
            )).first()
            if (only_if_older_than is not None and newest is not None
                    and datetime.now(UTC) - newest.created_at <= only_if_older_than):
                kid = newest.kid
            else:
                row = _new_key()
                await session.execute(update(SigningKey).where(SigningKey.retired_at.is_(None))
                                      .values(retired_at=datetime.now(UTC)))
                session.add(row)
                kid = row.kid
        await self.reload()
        return kid

    async def public_key(self, kid: str) -> ec.EllipticCurvePublicKey | None:
        """The key for `kid`; an unknown kid reloads from the database (another replica rotated),
        at most every few seconds so a flood of forged kids cannot hammer the database."""
        key = self._keys.get(kid)
        if key is None and time.monotonic() - self._last_reload > 5:
            async with self._reload_lock:
                if time.monotonic() - self._last_reload > 5:
                    await self.reload()
            key = self._keys.get(kid)
        if key is None:
            return None
        if key.retired_at is not None and datetime.now(UTC) - key.retired_at > self.publish_window:
            return None
        return key.public

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.jwk for k in self._keys.values()]}

    def describe(self) -> list[dict[str, Any]]:
        return [{"kid": k.kid, "algorithm": ALGORITHM, "created_at": k.created_at.isoformat(),
                 "retired_at": k.retired_at.isoformat() if k.retired_at else None,
                 "current": self._current is not None and k.kid == self._current.kid}
                for k in self._keys.values()]
