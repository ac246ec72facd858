"""The signing keys of access tokens: ES256 (P-256) with a `kid`, kept in the gateway database so
every replica signs and verifies with the same set, rotated on a schedule or on demand.

ES256 rather than EdDSA for access tokens: other government systems verify them through the JWKS,
and P-256 is supported by every JOSE library they may use. A retired key stays published (and
accepted) until every token it signed has expired.

The private halves are stored encrypted (gateway/keys/cipher.py) under
`GATEWAY_SIGNING_KEY_ENCRYPTION_KEY`; rows stored as plain PEM (databases made before the
encryption) are encrypted in place at start when the key is set; without the key they keep working,
with a warning at every start.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from sqlalchemy import or_, select, text, update

from gateway.keys.cipher import SETTING, KeyCipher, SigningKeyStoreError
from gateway.keys.models import SigningKey
from gateway.settings import GatewaySettings
from shared.db import Database

log = logging.getLogger(__name__)

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


def _new_key(cipher: KeyCipher) -> SigningKey:
    private = ec.generate_private_key(ec.SECP256R1())
    kid = f"{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(4)}"
    jwk = ECAlgorithm.to_jwk(private.public_key(), as_dict=True) | {"kid": kid, "alg": ALGORITHM, "use": "sig"}
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return SigningKey(kid=kid, algorithm=ALGORITHM, private_pem=cipher.seal(kid, pem), public_jwk=jwk,
                      created_at=datetime.now(UTC))


def _load(cipher: KeyCipher, row: SigningKey) -> LoadedKey:
    pem = cipher.open(row.kid, row.private_pem)
    try:
        private = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise SigningKeyStoreError(f"signing key {row.kid}: the stored private key is not a valid PEM") from None
    if not isinstance(private, ec.EllipticCurvePrivateKey):
        raise SigningKeyStoreError(f"signing key {row.kid}: not an EC private key")
    return LoadedKey(row.kid, private, private.public_key(), dict(row.public_jwk), row.created_at, row.retired_at)


class KeyRing:
    def __init__(self, db: Database, settings: GatewaySettings) -> None:
        self.db = db
        self.settings = settings
        self.cipher = KeyCipher(settings.signing_key_encryption_key, settings.signing_key_encryption_key_previous)
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
        """Check the stored keys open with the configured encryption key (encrypting plain ones when
        it is set), load them, and create the first one or rotate an old one if needed.

        SigningKeyStoreError (naming GATEWAY_SIGNING_KEY_ENCRYPTION_KEY) when a stored key cannot be
        read: the gateway refuses to start rather than sign with a set it cannot verify."""
        try:
            await self.seal_stored_keys()
        except SigningKeyStoreError as exc:
            log.critical(f"the gateway cannot start: {exc}")
            raise
        if not self.cipher.enabled:
            log.warning("token signing keys are stored unencrypted in the database: anyone with a dump can mint "
                        f"tokens; set {SETTING} (32 random bytes, base64) to encrypt them")
        await self.reload()
        age = timedelta(days=self.settings.key_rotation_days)
        if self._current is None or datetime.now(UTC) - self._current.created_at > age:
            await self.rotate(only_if_older_than=age)

    async def seal_stored_keys(self) -> int:
        """Every stored key must open with the configured key (or the previous one); plain PEM rows
        and rows sealed under the previous key are sealed under the current key in place (keeping
        their kid). Under the advisory lock, so replicas starting together do not both rewrite a row.
        Returns how many rows were rewritten."""
        sealed = 0
        async with self.db.system_session() as session:
            await session.execute(_LOCK)
            rows = (await session.execute(select(SigningKey.kid, SigningKey.private_pem))).all()
            for kid, stored in rows:
                pem, current = self.cipher.open_checked(kid, stored)  # refuses to start on a row it cannot read
                if self.cipher.enabled and not current:
                    await session.execute(update(SigningKey).where(SigningKey.kid == kid)
                                          .values(private_pem=self.cipher.seal(kid, pem.decode())))
                    sealed += 1
        if sealed:
            log.info("token signing keys sealed under the current encryption key", extra={"keys": sealed})
        return sealed

    async def reload(self) -> None:
        """Read which keys exist and their `retired_at`. Keys are otherwise immutable: a kid already
        loaded is not fetched, decrypted or parsed again; only new kids' private keys are read."""
        cutoff = datetime.now(UTC) - self.publish_window
        async with self.db.system_session() as session:
            rows = (await session.execute(
                select(SigningKey.kid, SigningKey.retired_at)
                .where(or_(SigningKey.retired_at.is_(None), SigningKey.retired_at > cutoff))
                .order_by(SigningKey.created_at)
            )).all()
            missing = [kid for kid, _ in rows if kid not in self._keys]
            fetched = {row.kid: row for row in (await session.scalars(
                select(SigningKey).where(SigningKey.kid.in_(missing)))).all()} if missing else {}
        keys: dict[str, LoadedKey] = {}
        for kid, retired_at in rows:
            known = self._keys.get(kid)
            if known is None:
                keys[kid] = _load(self.cipher, fetched[kid])
            else:
                keys[kid] = known if known.retired_at == retired_at else replace(known, retired_at=retired_at)
        active = [k for k in keys.values() if k.retired_at is None]
        self._keys = keys
        self._current = active[-1] if active else None
        self._last_reload = time.monotonic()
        if self.cipher.enabled and any(not self.cipher.is_encrypted(r.private_pem) for r in fetched.values()):
            await self.seal_stored_keys()  # written by a replica without the key (a rolling upgrade)

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
                row = _new_key(self.cipher)
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
                    try:
                        await self.reload()
                    except SigningKeyStoreError:
                        self._last_reload = time.monotonic()
                        log.exception("signing keys could not be reloaded")
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
