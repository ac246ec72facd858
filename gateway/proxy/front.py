"""The raw ASGI front of the gateway: every request passes here first.

It keeps or makes the request id, answers CORS preflights and marks answers for the configured web
origins, then hands the services' prefixes (`/registry`, `/support`, ... — shared.services) to the
proxy pipeline (gateway/proxy/pipeline.py), outside FastAPI's routing and dependency machinery
because it is the hot path of the whole platform, and everything else (/auth, /admin,
/openapi.json, /docs, /health) to the FastAPI app, with the same request id and CORS handling.
"""

from __future__ import annotations

import re
import time
from typing import Any

import uuid_utils
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.proxy.pipeline import Proxy, send_problem
from gateway.proxy.rules import Refusal
from shared import tracing
from shared.context import request_id_var
from shared.metrics import HTTP_LATENCY
from shared.services import SERVICES

PROXIED = frozenset(SERVICES)
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_CORS_METHODS = b"GET, POST, PUT, PATCH, DELETE, OPTIONS"
_CORS_HEADERS = b"authorization, content-type, if-match, if-none-match, idempotency-key, x-request-id, accept-language"
_CORS_EXPOSE = b"x-request-id, etag, location, retry-after, content-disposition, allow"


class GatewayFront:
    def __init__(self, app: ASGIApp, proxy: Proxy, cors_origins: frozenset[str]) -> None:
        self.app = app
        self.proxy = proxy
        self.cors_origins = frozenset(o.encode() for o in cors_origins)
        self._latency: dict[tuple[str, int], Any] = {}  # labelled histogram children, looked up once

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
            if tracing.enabled():
                await self._traced(scope, receive, send, service, request_id, extra)
            elif service in PROXIED:
                await self._proxy(scope, receive, send, service, request_id, extra)
            else:
                await self.app(scope, receive, _adding(send, extra))
        finally:
            request_id_var.reset(token)

    async def _traced(self, scope: Scope, receive: Receive, send: Send, service: str, request_id: str,
                      extra: list[tuple[bytes, bytes]]) -> None:
        """The request as a span (the root of its trace, or a child of the client's traceparent); the
        proxy forwards this span's context to the service (gateway/proxy/pipeline.py)."""
        status = 500

        async def seen(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with tracing.server_span(scope, "gateway", request_id) as span:
            try:
                if service in PROXIED:
                    span.set_attribute("chungtay.upstream", service)  # type: ignore[union-attr]
                    await self._proxy(scope, receive, seen, service, request_id, extra)
                else:
                    await self.app(scope, receive, _adding(seen, extra))
            finally:
                tracing.set_status(span, status)

    async def _preflight(self, send: Send, origin: bytes | None, extra: list[tuple[bytes, bytes]],
                         request_id: str) -> None:
        if origin is None or origin not in self.cors_origins:
            await send_problem(send, extra, Refusal(403, "cors_origin_denied", "Origin not allowed",
                                                    "This origin is not among the gateway's configured web origins."),
                               request_id)
            return
        headers = [*extra, (b"access-control-allow-methods", _CORS_METHODS),
                   (b"access-control-allow-headers", _CORS_HEADERS), (b"access-control-max-age", b"600")]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    async def _proxy(self, scope: Scope, receive: Receive, send: Send, service: str, request_id: str,
                     extra: list[tuple[bytes, bytes]]) -> None:
        started = time.perf_counter()
        status = 500
        try:
            status = await self.proxy(scope, receive, send, service, request_id, extra)
        finally:
            key = (scope["method"], status)
            child = self._latency.get(key)
            if child is None:
                child = self._latency[key] = HTTP_LATENCY.labels("gateway", key[0], str(status))
            child.observe(time.perf_counter() - started)


def _adding(send: Send, headers: list[tuple[bytes, bytes]]) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), *headers]
        await send(message)

    return wrapped
