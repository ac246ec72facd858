"""The raw ASGI front of the gateway: every request passes here first.

Proxied prefixes (`/registry`, `/support`, `/emulation`, `/reporting`) are handled here, outside
FastAPI's routing and dependency machinery, because this is the hot path of the whole platform:
bearer token (cached verification), deny-by-default rule, permission, per-principal rate limit,
unit codes in path, query and JSON body checked against the scope, then the request goes upstream
with the signed principal. Everything else (/auth, /admin, /openapi.json, /docs, /health) goes to
the FastAPI app, with the same request id and CORS handling.
"""

from __future__ import annotations

import logging
import re
import time
from typing import TYPE_CHECKING, Any

import orjson
import uuid_utils
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.proxy.forwarder import HOP_BY_HOP, BodyTooLarge, ClientGone, StreamedBody, UpstreamError, read_body
from gateway.proxy.rules import (
    BodyError,
    Refusal,
    check_units,
    parse_json,
    query_pairs,
    units_in_json,
    units_in_query,
)
from gateway.tokens.service import TokenRejected
from shared.context import request_id_var
from shared.errors import PROBLEM_TYPE_BASE
from shared.metrics import HTTP_LATENCY
from shared.principal import PRINCIPAL_HEADER

if TYPE_CHECKING:
    from gateway.process import GatewayProcess as Gateway

log = logging.getLogger("gateway.front")

PROXIED = frozenset({"registry", "support", "emulation", "reporting"})
_REQUEST_DROP = HOP_BY_HOP | {
    b"host", b"authorization", PRINCIPAL_HEADER.encode(), b"x-request-id", b"content-length", b"expect",
    b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"forwarded",
}
_PRINCIPAL = PRINCIPAL_HEADER.encode()
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_CORS_METHODS = b"GET, POST, PUT, PATCH, DELETE, OPTIONS"
_CORS_HEADERS = b"authorization, content-type, if-match, if-none-match, idempotency-key, x-request-id, accept-language"
_CORS_EXPOSE = b"x-request-id, etag, location, retry-after, content-disposition"


def _problem(status: int, code: str, title: str, detail: str, request_id: str, **extra: Any) -> bytes:
    body = {"type": PROBLEM_TYPE_BASE + code, "title": title, "status": status, "code": code, "detail": detail,
            "request_id": request_id, **extra}
    return orjson.dumps(body)


def _unsafe_path(path: str, raw_path: bytes) -> bool:
    """Paths the gateway will not interpret: dot segments, empty segments, encoded slashes, controls.

    The rule and the unit codes are read from the decoded path while the service gets the raw one;
    refusing anything a normaliser could read differently keeps both views equal."""
    if "//" in path or "/./" in path or "/../" in path or path.endswith(("/.", "/..")) or "\\" in path:
        return True
    if not path.isprintable():  # control characters (and other invisible ones)
        return True
    lowered = raw_path.lower()
    return b"%2f" in lowered or b"%5c" in lowered or b"%2e" in lowered


class GatewayFront:
    def __init__(self, app: ASGIApp, gateway: Gateway) -> None:
        self.app = app
        self.gw = gateway
        self.cors_origins = frozenset(o.encode() for o in gateway.settings.cors_origin_set)
        self._latency: dict[tuple[str, int], Any] = {}  # labelled histogram children, looked up once

    # ---- entry -------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        end = path.find("/", 1)
        service = path[1:end] if end > 0 else path[1:]
        request_id = origin = preflight = None
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                request_id = value.decode("latin-1")
            elif key == b"origin":
                origin = value
            elif key == b"access-control-request-method":
                preflight = value
        if request_id is None or not _SAFE_REQUEST_ID.fullmatch(request_id):
            request_id = str(uuid_utils.uuid7())
        extra = [(b"x-request-id", request_id.encode())]
        if origin is not None and origin in self.cors_origins:
            extra += [(b"access-control-allow-origin", origin), (b"vary", b"Origin"),
                      (b"access-control-expose-headers", _CORS_EXPOSE)]
        if preflight is not None and scope["method"] == "OPTIONS":
            await self._preflight(send, origin, extra, request_id)
            return
        token = request_id_var.set(request_id)
        try:
            if service in PROXIED:
                await self._proxy(scope, receive, send, service, request_id, extra)
            else:
                await self.app(scope, receive, _adding(send, extra))
        finally:
            request_id_var.reset(token)

    async def _preflight(self, send: Send, origin: bytes | None, extra: list[tuple[bytes, bytes]],
                         request_id: str) -> None:
        if origin is None or origin not in self.cors_origins:
            await self._send_problem(send, extra, 403, "cors_origin_denied", "Origin not allowed",
                                     "This origin is not among the gateway's configured web origins.", request_id)
            return
        headers = [*extra, (b"access-control-allow-methods", _CORS_METHODS),
                   (b"access-control-allow-headers", _CORS_HEADERS), (b"access-control-max-age", b"600")]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    # ---- the proxy path ------------------------------------------------------------------------
    async def _proxy(self, scope: Scope, receive: Receive, send: Send, service: str, request_id: str,
                     extra: list[tuple[bytes, bytes]]) -> None:
        started = time.perf_counter()
        status = 500
        try:
            status = await self._handle(scope, receive, send, service, request_id, extra)
        finally:
            key = (scope["method"], status)
            child = self._latency.get(key)
            if child is None:
                child = self._latency[key] = HTTP_LATENCY.labels("gateway", key[0], str(status))
            child.observe(time.perf_counter() - started)

    async def _handle(self, scope: Scope, receive: Receive, send: Send, service: str, request_id: str,
                      extra: list[tuple[bytes, bytes]]) -> int:
        gw = self.gw
        settings = gw.settings
        method: str = scope["method"]
        path: str = scope["path"]
        raw_path: bytes = (scope.get("raw_path") or path.encode()).split(b"?", 1)[0]

        def refuse(status: int, code: str, title: str, detail: str, headers: list[tuple[bytes, bytes]] | None = None,
                   **more: Any) -> Any:
            return self._send_problem(send, extra + (headers or []), status, code, title, detail, request_id, **more)

        if _unsafe_path(path, raw_path):
            await refuse(400, "bad_path", "Malformed path",
                         "Dot segments, empty segments and encoded slashes are not accepted.")
            return 400

        # One pass over the headers: what the gateway needs, and what it forwards.
        auth = content_type = content_length = chunked = connection = host = None
        forwarded: list[tuple[bytes, bytes]] = []
        for key, value in scope["headers"]:
            if key == b"authorization":
                auth = value
            elif key == b"content-type":
                content_type = value
            elif key == b"content-length":
                content_length = value
            elif key == b"transfer-encoding":
                chunked = value
            elif key == b"connection":
                connection = value
            elif key == b"host":
                host = value
            if key not in _REQUEST_DROP:
                forwarded.append((key, value))
        if connection is not None:  # headers the client marked hop-by-hop go no further
            marked = {n.strip().lower() for n in connection.split(b",")} - {b"", b"close", b"keep-alive"}
            forwarded = [(k, v) for k, v in forwarded if k not in marked]

        # Who is asking.
        if auth is None or auth[:7].lower() != b"bearer ":
            await refuse(401, "unauthorized", "Unauthorized", "Send an access token: Authorization: Bearer <token>.",
                         [(b"www-authenticate", b'Bearer realm="chungtay"')])
            return 401
        try:
            entry = await gw.tokens.verify(auth[7:].strip().decode("latin-1"))
        except TokenRejected as exc:
            await refuse(401, "invalid_token", "Unauthorized", str(exc),
                         [(b"www-authenticate", b'Bearer realm="chungtay", error="invalid_token"')])
            return 401
        principal = entry.principal

        # Which rule, and may this principal use it.
        matched = gw.routes.match(method, path)
        if matched is None:
            if gw.routes.allows_path(path):
                await refuse(405, "method_not_allowed", "Method not allowed", f"{method} is not allowed on {path}.")
                return 405
            await refuse(404, "not_found", "Not found", f"No route {method} {path} behind the gateway.")
            return 404
        rule, params = matched
        if rule.permission is not None and not principal.has(rule.permission):
            await refuse(403, "forbidden", "Forbidden",
                         f"Your role '{principal.role}' lacks the permission '{rule.permission}'.",
                         permission=rule.permission)
            return 403
        limit = settings.requests_per_principal_per_minute
        if limit > 0:
            wait = gw.limiter.hit_fast("p:" + principal.id, limit, 60)
            if wait > 0:
                await refuse(429, "rate_limited", "Too many requests",
                             f"More than {limit} requests a minute; retry in {wait:.0f}s.",
                             [(b"retry-after", str(int(wait) + 1).encode())])
                return 429

        # Unit codes named in the path and query.
        pairs = query_pairs(scope["query_string"]) if scope["query_string"] else []
        names, hierarchy = units_in_query(pairs, rule.query_units) if pairs else ([], None)
        candidates = [(params[p], hierarchy) for p in rule.unit_params] + [(n, hierarchy) for n in names]
        refusal = check_units(gw.directory, principal, candidates, rule.ancestors_ok) if candidates else None

        # The body: JSON and forms are read and inspected; other bodies only on upload routes.
        body: bytes | StreamedBody | None = None
        has_body = chunked is not None or (content_length is not None and content_length != b"0")
        if refusal is None and has_body:
            try:
                length = int(content_length) if content_length is not None else None
            except ValueError:
                length = -1
            if length is not None and (length < 0 or chunked is not None):
                await refuse(400, "bad_request", "Bad request", "Invalid Content-Length.")
                return 400
            kind = _body_kind(content_type)
            if kind == "stream" and not rule.upload:
                await refuse(415, "unsupported_media_type", "Unsupported media type",
                             "This route accepts JSON bodies only (application/json).")
                return 415
            cap = settings.max_upload_bytes if kind == "stream" else settings.max_json_body_bytes
            if length is not None and length > cap:
                await refuse(413, "payload_too_large", "Payload too large", f"The body exceeds {cap} bytes.",
                             max_bytes=cap)
                return 413
            if kind == "stream":
                body = StreamedBody(receive, cap)
                if length is not None:
                    forwarded.append((b"content-length", content_length))  # type: ignore[arg-type]
            else:
                try:
                    body = await read_body(receive, cap)
                except BodyTooLarge:
                    await refuse(413, "payload_too_large", "Payload too large", f"The body exceeds {cap} bytes.",
                                 max_bytes=cap)
                    return 413
                except ClientGone:
                    return 499
                try:
                    refusal = self._check_body(body, kind, hierarchy, principal, rule.ancestors_ok)
                except BodyError as exc:
                    await refuse(400, "invalid_json", "Invalid JSON", str(exc))
                    return 400
        if refusal is not None:
            log.warning("request naming a unit outside the scope refused", extra={
                "principal": principal.id, "role": principal.role, "method": method, "path": path,
                "refusal": refusal.code, "unit": refusal.extra.get("unit")})
            await refuse(refusal.status, refusal.code, refusal.title, refusal.detail, **refusal.extra)
            return refusal.status

        # Forward, with the principal the services trust.
        client = scope.get("client")
        forwarded += [(_PRINCIPAL, gw.tokens.forwarded(entry).encode()), (b"x-request-id", request_id.encode()),
                      (b"x-forwarded-for", client[0].encode() if client else b""),
                      (b"x-forwarded-proto", scope.get("scheme", "http").encode())]
        if host is not None:
            forwarded.append((b"x-forwarded-host", host))
        target = raw_path + b"?" + scope["query_string"] if scope["query_string"] else raw_path
        try:
            return await gw.forwarder.forward(service, method, target, forwarded, body,
                                              rule.timeout or settings.upstream_timeout_seconds, send, extra)
        except UpstreamError as exc:
            log.warning("upstream failed", extra={"service": service, "status": exc.status, "error": exc.detail})
            await refuse(exc.status, exc.code, "Bad gateway" if exc.status == 502 else "Gateway timeout",
                         exc.detail, service=service)
            return exc.status
        except BodyTooLarge:
            cap = settings.max_upload_bytes
            await refuse(413, "payload_too_large", "Payload too large", f"The body exceeds {cap} bytes.",
                         max_bytes=cap)
            return 413
        except ClientGone:
            return 499

    def _check_body(self, body: bytes, kind: str, hierarchy: str | None, principal: Any,
                    ancestors_ok: bool) -> Refusal | None:
        if kind == "form":
            names, form_hierarchy = units_in_query(query_pairs(body), ())
            return check_units(self.gw.directory, principal, [(n, form_hierarchy or hierarchy) for n in names],
                               ancestors_ok)
        if not body.strip():
            return None
        document = parse_json(body)
        return check_units(self.gw.directory, principal, units_in_json(document, hierarchy), ancestors_ok)

    @staticmethod
    async def _send_problem(send: Send, headers: list[tuple[bytes, bytes]], status: int, code: str, title: str,
                            detail: str, request_id: str, **extra: Any) -> None:
        body = _problem(status, code, title, detail, request_id, **extra)
        await send({"type": "http.response.start", "status": status, "headers": [
            *headers, (b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def _body_kind(content_type: bytes | None) -> str:
    """`json` when the service will parse the body as JSON (FastAPI also does so with no content
    type at all), `form` for urlencoded forms, `stream` for anything else."""
    if content_type is None:
        return "json"
    main = content_type.split(b";", 1)[0].strip().lower()
    if main.startswith(b"application/"):
        subtype = main[12:]
        if subtype == b"json" or subtype.endswith(b"+json"):
            return "json"
        if subtype == b"x-www-form-urlencoded":
            return "form"
    return "stream"


def _adding(send: Send, headers: list[tuple[bytes, bytes]]) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), *headers]
        await send(message)

    return wrapped
