"""HTTP plumbing every service shares: request ids, the verified principal, the per-request session."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated
from urllib.parse import parse_qsl

import uuid_utils
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import tracing
from shared.context import request_id_var
from shared.errors import forbidden, problem_response, unauthorized
from shared.metrics import HTTP_LATENCY
from shared.principal import PRINCIPAL_HEADER, InvalidPrincipal, Principal, PrincipalVerifier
from shared.route_rules import GatewayRule

REQUEST_ID_HEADER = "x-request-id"


class NulGuardMiddleware:
    """Refuses a NUL character in the path or a query parameter (`?status=%00`) as a validation error
    naming the parameter, before any route or query runs: PostgreSQL cannot hold NUL in text, and its
    own error must not reach the client. Costs one byte search per request without `%00`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and ("\x00" in scope["path"] or b"%00" in scope["query_string"]
                                        or b"\x00" in scope["query_string"]):
            fields = _nul_fields(scope)
            if fields:
                errors = [{"field": f, "reason": "must not contain NUL characters"} for f in fields]
                detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
                await problem_response(422, "validation_error", "Invalid request", detail, errors=errors)(
                    scope, receive, send)
                return
        await self.app(scope, receive, send)


def _nul_fields(scope: Scope) -> list[str]:
    query: bytes = scope["query_string"]
    fields = ["path"] if "\x00" in scope["path"] else []  # the path arrives decoded: %00 is a NUL there
    if b"%00" in query or b"\x00" in query:
        pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True, encoding="utf-8", errors="replace")
        fields += sorted({name for name, value in pairs if "\x00" in name or "\x00" in value})
    return fields


class RequestIdMiddleware:
    """Takes X-Request-ID from the caller (the gateway sets one) or makes one; returns it; times requests."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = None
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                request_id = value.decode("latin-1")[:128]
                break
        request_id = request_id or str(uuid_utils.uuid7())
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            with tracing.server_span(scope, self.service, request_id) as span:  # no-op unless tracing is on
                try:
                    await self.app(scope, receive, send_with_id)
                finally:
                    tracing.set_status(span, status)
        finally:
            HTTP_LATENCY.labels(self.service, scope["method"], str(status)).observe(time.perf_counter() - started)
            request_id_var.reset(token)


async def current_principal(request: Request) -> Principal:
    """The principal the gateway signed; 401 without a valid one. Services never trust anything else."""
    token = request.headers.get(PRINCIPAL_HEADER)
    if not token:
        raise unauthorized("This service accepts requests only through the gateway (no principal).")
    verifier: PrincipalVerifier = request.app.state.verifier
    try:
        return verifier.verify(token)
    except InvalidPrincipal as exc:
        raise unauthorized(f"The gateway principal is not valid: {exc}") from exc


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(permission: str | None, *, units: tuple[str, ...] = (), query_units: tuple[str, ...] = (),
            ancestors_ok: bool = False, upload: bool = False,
            timeout: float | None = None) -> Callable[[Request], Awaitable[Principal]]:
    """Dependency: the principal must hold `permission` (None: any signed-in principal).

    The same call declares what the gateway checks before forwarding (shared.route_rules): which path
    parameters (`units`) and route-specific query parameters (`query_units`) hold unit codes — every
    other path parameter is a row id the service filters by scope —, whether reads may name the
    ancestors of the caller's units, whether the route takes a streamed upload, and a longer timeout.
    """
    rule = GatewayRule(permission, tuple(units), tuple(query_units), ancestors_ok, upload, timeout)

    async def check(request: Request) -> Principal:
        # The principal is read here rather than as a dependency of its own: one dependency less to
        # solve on every request (FastAPI's dependency solving was a sixth of the busiest read's CPU).
        principal = await current_principal(request)
        if permission is not None and not principal.has(permission):
            raise forbidden(f"Your role '{principal.role}' lacks the permission '{permission}'.",
                            permission=permission)
        return principal

    check.gateway_rule = rule  # type: ignore[attr-defined]
    return check


async def request_session(request: Request, principal: CurrentPrincipal) -> AsyncIterator[AsyncSession]:
    """One session per request, scoped to the principal, committed once before the response is sent."""
    async with request.app.state.db.session(principal) as session:
        yield session


# scope="function": the commit runs when the endpoint returns, before the response goes out,
# so a failed commit is a 500 the client sees, never a silent loss.
DbSession = Annotated[AsyncSession, Depends(request_session, scope="function")]
