"""Access tokens: issued as ES256 JWTs with a `kid`, verified once and then served from a cache.

The hot path of every proxied request is `verify` (a dict hit, an expiry check and a revocation
check) and `forwarded` (the principal header the services trust, signed once per token and reused
for most of its lifetime).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt

from gateway.keys.service import ALGORITHM, KeyRing
from gateway.settings import GatewaySettings
from gateway.tokens.revocation import Revocations
from shared.principal import Principal, PrincipalSigner, ScopeUnit

TOKEN_TYPE = "at+jwt"  # RFC 9068: an access token cannot be replayed as an ID token or vice versa
_CACHE_LIMIT = 50_000


class TokenRejected(Exception):
    """The bearer token is missing, malformed, forged, expired or revoked (401)."""


@dataclass(frozen=True)
class Identity:
    """What an access token speaks for: a user or a system client, at the moment it is issued."""

    subject: str
    kind: str  # user | client
    name: str
    display_name: str
    role: str
    permissions: frozenset[str]
    scopes: tuple[ScopeUnit, ...]


@dataclass
class VerifiedToken:
    principal: Principal
    claims: dict[str, Any]
    sid: str
    iat: float
    exp: float
    forwarded: str = ""
    forwarded_until: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def principal_of(claims: dict[str, Any]) -> Principal:
    return Principal(
        id=str(claims["sub"]), role=str(claims["role"]), permissions=frozenset(claims.get("perms", ())),
        scopes=tuple(ScopeUnit(**s) for s in claims.get("scopes", ())), kind=str(claims.get("kind", "user")),
        name=str(claims.get("name", "")), claims={"username": claims.get("name", "")},
    )


class Tokens:
    def __init__(self, keyring: KeyRing, revocations: Revocations, settings: GatewaySettings) -> None:
        self.keyring = keyring
        self.revocations = revocations
        self.settings = settings
        self._cache: dict[str, VerifiedToken] = {}
        self._signer = (PrincipalSigner(settings.principal_private_key, settings.principal_ttl_seconds)
                        if settings.principal_private_key else None)
        # Re-sign the forwarded principal when a quarter of its lifetime is left.
        self._forward_reuse = settings.principal_ttl_seconds * 0.75

    # ---- issuing ---------------------------------------------------------------------------
    def issue(self, identity: Identity, sid: str) -> tuple[str, int]:
        """A signed access token and its lifetime in seconds."""
        ttl = (self.settings.access_token_ttl_seconds if identity.kind == "user"
               else self.settings.client_token_ttl_seconds)
        now = time.time()
        claims = {
            "iss": self.settings.token_issuer, "aud": self.settings.token_audience,
            "sub": identity.subject, "jti": uuid.uuid4().hex, "sid": sid,
            "iat": round(now, 3), "nbf": int(now) - 1, "exp": int(now) + ttl,
            "kind": identity.kind, "name": identity.name, "display_name": identity.display_name,
            "role": identity.role, "perms": sorted(identity.permissions),
            "scopes": [s.as_dict() for s in identity.scopes],
        }
        key = self.keyring.current
        token = jwt.encode(claims, key.private, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": TOKEN_TYPE})
        return token, ttl

    # ---- verifying -------------------------------------------------------------------------
    async def verify(self, token: str) -> VerifiedToken:
        entry = self._cache.get(token)
        now = time.time()
        if entry is None:
            entry = await self._verify_signature(token)
            if len(self._cache) >= _CACHE_LIMIT:
                for stale in list(self._cache)[: _CACHE_LIMIT // 10]:
                    del self._cache[stale]
            self._cache[token] = entry
        if entry.exp <= now:
            self._cache.pop(token, None)
            raise TokenRejected("The access token has expired.")
        if self.revocations.is_revoked(entry.sid, entry.principal.id, entry.iat):
            raise TokenRejected("The access token was revoked (logged out or account changed).")
        return entry

    async def _verify_signature(self, token: str) -> VerifiedToken:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenRejected("The access token is malformed.") from exc
        if header.get("alg") != ALGORITHM or header.get("typ") != TOKEN_TYPE:
            raise TokenRejected("The access token is not signed the way this gateway signs.")
        kid = header.get("kid")
        key = await self.keyring.public_key(kid) if isinstance(kid, str) else None
        if key is None:
            raise TokenRejected("The access token was signed by an unknown key.")
        try:
            claims = jwt.decode(
                token, key, algorithms=[ALGORITHM], audience=self.settings.token_audience,
                issuer=self.settings.token_issuer,
                options={"require": ["exp", "iat", "sub", "aud", "iss", "jti", "sid", "role"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenRejected("The access token has expired.") from exc
        except jwt.PyJWTError as exc:
            raise TokenRejected(f"The access token is not valid: {exc}.") from exc
        try:
            principal = principal_of(claims)
        except (KeyError, TypeError) as exc:
            raise TokenRejected("The access token's claims are malformed.") from exc
        return VerifiedToken(principal=principal, claims=claims, sid=str(claims["sid"]),
                             iat=float(claims["iat"]), exp=float(claims["exp"]))

    def forwarded(self, entry: VerifiedToken) -> str:
        """The principal header for the services, signed once and reused for most of its TTL."""
        now = time.time()
        if now < entry.forwarded_until:
            return entry.forwarded
        if self._signer is None:
            raise RuntimeError("GATEWAY_PRINCIPAL_PRIVATE_KEY is not configured")
        entry.forwarded = self._signer.sign(entry.principal)
        entry.forwarded_until = now + self._forward_reuse
        return entry.forwarded
