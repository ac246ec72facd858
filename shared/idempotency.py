"""`Idempotency-Key` on creates: a retried request (a mobile client on a flaky network) gets the first
answer again instead of creating a second record.

The key is claimed in the SAME transaction as the create, in the service's `idempotency_keys` table:
- the claim is `INSERT ... ON CONFLICT DO NOTHING`; a concurrent retry with the same key waits on
  the first transaction's row lock, then finds the stored answer and replays it;
- the answer (status, body, a few headers) is stored before the commit, so the key exists iff the
  create committed. A failed request stores nothing and may be retried with the same key.
- The same key with another method, path or body answers 422 `idempotency_key_reused`.
- Keys are per principal and expire after 24 hours (`purge_expired` deletes them).
- A stored answer may hold personal data (a household's citizen IDs): a service that has a key for it
  sets `app.state.idempotency_sealer`, and answers are stored encrypted with it.

Use: `return await idempotent(request, session, principal, lambda: create(...))` where the callable
returns the Response of a first execution. Without the header the callable just runs. A route that takes
a key declares the `IdempotencyKey` parameter: its OpenAPI then shows the header, and
`shared.openapi` documents the 400 a malformed key gets (`invalid_idempotency_key`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Annotated, Protocol

import orjson
from fastapi import Header, Request, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import Problem
from shared.principal import Principal

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
TTL_HOURS = 24
MAX_KEY_LENGTH = 255
# Headers of the first answer that a replay repeats.
KEPT_HEADERS = ("location", "etag", "content-type")
_FINGERPRINT = "__request_sha256"

# The header as a route declares it (the value is read by `idempotent`); `shared.openapi` sees it and lists 400.
IdempotencyKey = Annotated[str | None, Header(
    alias=HEADER, description=f"Optional: 1–{MAX_KEY_LENGTH} printable characters, new for each request; a retry "
                              "with the same key and body gets the first answer again (`Idempotent-Replayed: "
                              "true`), a malformed key 400 `invalid_idempotency_key`.")]

_EXPIRE = text("DELETE FROM idempotency_keys WHERE principal_id = :p AND key = :k "
               "AND created_at < now() - make_interval(hours => :ttl)")
_CLAIM = text("INSERT INTO idempotency_keys (principal_id, key, method, path, status_code, response_body, "
              "response_headers) VALUES (:p, :k, :m, :path, 0, '', CAST(:h AS jsonb)) "
              "ON CONFLICT DO NOTHING RETURNING 1")
_STORED = text("SELECT method, path, status_code, response_body, response_headers FROM idempotency_keys "
               "WHERE principal_id = :p AND key = :k")
_RELEASE = text("DELETE FROM idempotency_keys WHERE principal_id = :p AND key = :k")
_COMPLETE = text("UPDATE idempotency_keys SET status_code = :s, response_body = :b, "
                 "response_headers = CAST(:h AS jsonb) WHERE principal_id = :p AND key = :k")


_PURGE = text("DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => :ttl)")
# Stored answers sealed by a ResponseSealer start with this (rows written without one do not).
SEALED_PREFIX = b"sealed:v1:"


class ResponseSealer(Protocol):
    def seal(self, body: bytes) -> bytes: ...

    def open(self, stored: bytes) -> bytes: ...


def _fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def _check_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise Problem(400, "invalid_idempotency_key", "Invalid Idempotency-Key",
                      f"An Idempotency-Key is 1–{MAX_KEY_LENGTH} printable characters.")
    return key


async def claim(session: AsyncSession, principal_id: str, key: str, method: str, path: str,
                body: bytes, sealer: ResponseSealer | None = None) -> Response | None:
    """Claim `key` for this request in the caller's transaction; the stored answer if it was used before."""
    fingerprint = _fingerprint(method, path, body)
    params = {"p": principal_id, "k": key}
    await session.execute(_EXPIRE, params | {"ttl": TTL_HOURS})
    claimed = await session.execute(
        _CLAIM, params | {"m": method, "path": path, "h": orjson.dumps({_FINGERPRINT: fingerprint}).decode()})
    if claimed.scalar() is not None:
        return None
    row = (await session.execute(_STORED, params)).one()
    headers = dict(row.response_headers or {})
    if (row.method, row.path, headers.pop(_FINGERPRINT, None)) != (method, path, fingerprint):
        raise Problem(422, "idempotency_key_reused", "Idempotency-Key reused",
                      "This Idempotency-Key was used for a different request; use a new key for a new request.")
    stored = bytes(row.response_body)
    if stored.startswith(SEALED_PREFIX):
        if sealer is None:
            raise Problem(503, "idempotency_unavailable", "Stored answer cannot be read",
                          "The first answer to this Idempotency-Key was stored encrypted and the key to "
                          "read it is not configured.")
        stored = sealer.open(stored[len(SEALED_PREFIX):])
    replay = Response(content=stored, status_code=row.status_code, headers=headers)
    replay.headers[REPLAYED_HEADER] = "true"
    return replay


async def complete(session: AsyncSession, principal_id: str, key: str, method: str, path: str, body: bytes,
                   response: Response, sealer: ResponseSealer | None = None) -> None:
    """Store the answer under the claimed key (before the transaction commits), sealed if a sealer is given."""
    headers = {k: v for k, v in response.headers.items() if k.lower() in KEPT_HEADERS}
    headers[_FINGERPRINT] = _fingerprint(method, path, body)
    stored = bytes(response.body)
    if sealer is not None:
        stored = SEALED_PREFIX + sealer.seal(stored)
    await session.execute(_COMPLETE, {"p": principal_id, "k": key, "s": response.status_code,
                                      "b": stored, "h": orjson.dumps(headers).decode()})


async def purge_expired(session: AsyncSession) -> int:
    """Deletes the keys older than the TTL; returns how many."""
    result = await session.execute(_PURGE, {"ttl": TTL_HOURS})
    return int(getattr(result, "rowcount", 0) or 0)


async def idempotent(request: Request, session: AsyncSession, principal: Principal,
                     run: Callable[[], Awaitable[Response]], body: bytes | None = None) -> Response:
    """Run a create at most once per Idempotency-Key (when the request carries one). `body`: what tells
    one request from another (default the request's body); an upload passes its file's bytes, since a
    retry's multipart body has another boundary."""
    raw = request.headers.get(HEADER)
    if raw is None:
        return await run()
    key = _check_key(raw)
    if body is None:
        body = await request.body()
    method, path = request.method, request.url.path
    sealer: ResponseSealer | None = getattr(request.app.state, "idempotency_sealer", None)
    replay = await claim(session, principal.id, key, method, path, body, sealer)
    if replay is not None:
        return replay
    response = await run()
    if response.status_code < 400:
        await complete(session, principal.id, key, method, path, body, response, sealer)
    else:  # an error answered without raising: release the key so a corrected retry can use it
        await session.execute(_RELEASE, {"p": principal.id, "k": key})
    return response
