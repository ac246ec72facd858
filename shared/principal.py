"""The verified principal the gateway forwards to services.

The gateway signs a short-lived EdDSA (Ed25519) JWT carrying who is asking, their role,
permissions and scope units; services verify it with the gateway's public key and refuse any
request without a valid one. Verified tokens are cached until they expire so the hot path pays
for one signature check per principal per token lifetime.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shared.scope import path_in_any

PRINCIPAL_HEADER = "x-chungtay-principal"
ISSUER = "chungtay-gateway"
AUDIENCE = "chungtay-services"


@dataclass(frozen=True)
class ScopeUnit:
    hierarchy: str
    code: str
    path: str
    level: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"hierarchy": self.hierarchy, "code": self.code, "path": self.path, "level": self.level}


@dataclass(frozen=True)
class Principal:
    id: str
    role: str
    permissions: frozenset[str]
    scopes: tuple[ScopeUnit, ...]
    kind: str = "user"  # user | client
    name: str = ""
    claims: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def scope_paths(self) -> list[str]:
        return [s.path for s in self.scopes]

    def has(self, permission: str) -> bool:
        """`*` grants everything; `registry.*` grants every registry permission."""
        if "*" in self.permissions or permission in self.permissions:
            return True
        service = permission.split(".", 1)[0]
        return f"{service}.*" in self.permissions

    def can_reach(self, unit_path: str) -> bool:
        return path_in_any(unit_path, self.scope_paths)


def principal_claims(p: Principal) -> dict[str, Any]:
    return {
        "sub": p.id,
        "role": p.role,
        "perms": sorted(p.permissions),
        "scopes": [s.as_dict() for s in p.scopes],
        "kind": p.kind,
        "name": p.name,
    }


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    return Principal(
        id=str(claims["sub"]),
        role=str(claims["role"]),
        permissions=frozenset(claims.get("perms", [])),
        scopes=tuple(ScopeUnit(**s) for s in claims.get("scopes", [])),
        kind=str(claims.get("kind", "user")),
        name=str(claims.get("name", "")),
        claims=claims,
    )


def generate_keypair() -> tuple[str, str]:
    """A new Ed25519 key pair as (private PEM, public PEM)."""
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return private_pem, public_pem


class PrincipalSigner:
    """Used by the gateway (and by tests standing in for it)."""

    def __init__(self, private_pem: str, ttl_seconds: int = 60) -> None:
        self._key = serialization.load_pem_private_key(private_pem.encode(), password=None)
        self.ttl = ttl_seconds

    def sign(self, principal: Principal) -> str:
        now = int(time.time())
        claims = principal_claims(principal) | {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + self.ttl}
        return jwt.encode(claims, self._key, algorithm="EdDSA")  # type: ignore[arg-type]


class InvalidPrincipal(Exception):
    pass


class PrincipalVerifier:
    def __init__(self, public_pem: str, cache_size: int = 10_000) -> None:
        if not public_pem:
            raise ValueError("the gateway's public key (PRINCIPAL_PUBLIC_KEY) is not configured")
        key = serialization.load_pem_public_key(public_pem.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("the principal key must be an Ed25519 public key")
        self._key = key
        self._cache: OrderedDict[str, tuple[float, Principal]] = OrderedDict()
        self._cache_size = cache_size

    def verify(self, token: str) -> Principal:
        now = time.time()
        cached = self._cache.get(token)
        if cached is not None:
            if cached[0] > now:
                return cached[1]
            self._cache.pop(token, None)
        try:
            claims = jwt.decode(
                token, self._key, algorithms=["EdDSA"], audience=AUDIENCE, issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidPrincipal(str(exc)) from exc
        principal = principal_from_claims(claims)
        self._cache[token] = (float(claims["exp"]), principal)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return principal
