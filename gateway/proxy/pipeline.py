"""The proxied request, step by step: the hot path of every request of the platform.

    path → head → authenticate → match the route → permission → rate limit
         → units in path and query → body (read and checked, or streamed) → forward

Each step either returns what the next one needs or raises a `Refusal`, answered as problem+json;
nothing reaches a service before every step has passed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import orjson
from starlette.types import Receive, Scope, Send

from gateway.directory.service import UnitDirectory
from gateway.openapi.service import ServiceDocuments
from gateway.proxy.bodies import BodyTooLarge, ClientGone, StreamedBody, body_kind, read_body
from gateway.proxy.forwarder import Forwarder, UpstreamError
from gateway.proxy.headers import RequestHead, read_head
from gateway.proxy.rules import (
    BodyError,
    Refusal,
    Rule,
    check_units,
    form_pairs,
    parse_json,
    query_pairs,
    units_in_json,
    units_in_query,
)
from gateway.ratelimit import Limiter
from gateway.settings import GatewaySettings
from gateway.tokens.service import TokenRejected, Tokens, VerifiedToken
from shared import tracing
from shared.errors import PROBLEM_TYPE_BASE
from shared.principal import PRINCIPAL_HEADER, Principal

log = logging.getLogger("gateway.proxy")
_TRACE_HEADERS = (b"traceparent", b"tracestate")
_PRINCIPAL = PRINCIPAL_HEADER.encode()


@dataclass(frozen=True)
class ProxyLimits:
    max_json_body_bytes: int
    max_upload_bytes: int
    upstream_timeout_seconds: float
    requests_per_principal_per_minute: int  # 0: no limit

    @classmethod
    def of(cls, settings: GatewaySettings) -> ProxyLimits:
        return cls(settings.max_json_body_bytes, settings.max_upload_bytes, settings.upstream_timeout_seconds,
                   settings.requests_per_principal_per_minute)


class Proxy:
    def __init__(self, tokens: Tokens, routes: ServiceDocuments, directory: UnitDirectory, limiter: Limiter,
                 forwarder: Forwarder, limits: ProxyLimits) -> None:
        self.tokens = tokens
        self.routes = routes
        self.directory = directory
        self.limiter = limiter
        self.forwarder = forwarder
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send, service: str, request_id: str,
                       extra: list[tuple[bytes, bytes]]) -> int:
        """Handles one request for `service`; returns the status answered (499: the client left)."""
        method: str = scope["method"]
        path: str = scope["path"]
        principal: Principal | None = None
        try:
            raw_path = check_path(scope)
            head = read_head(scope["headers"])
            entry = await self.authenticate(head)
            principal = entry.principal
            rule, params = await self.match_route(service, method, path)
            check_permission(principal, rule)
            self.check_rate(principal)
            hierarchy = self.check_path_and_query(principal, rule, params, scope["query_string"])
            body = await self.read_body(head, rule, receive, principal, hierarchy)
            return await self.forward(scope, send, service, rule, raw_path, head, entry, body, request_id, extra)
        except Refusal as refusal:
            if principal is not None and refusal.code in ("unit_out_of_scope", "unknown_unit"):
                log.warning("request naming a unit outside the scope refused", extra={
                    "principal": principal.id, "role": principal.role, "method": method, "path": path,
                    "refusal": refusal.code, "unit": refusal.extra.get("unit")})
            await send_problem(send, extra + refusal.headers, refusal, request_id)
            return refusal.status
        except ClientGone:
            log.info("client disconnected before its request was answered",
                     extra={"service": service, "method": method, "path": path})
            return 499

    # ---- the steps ------------------------------------------------------------------------------
    async def authenticate(self, head: RequestHead) -> VerifiedToken:
        auth = head.authorization
        if auth is None or auth[:7].lower() != b"bearer ":
            raise Refusal(401, "unauthorized", "Unauthorized", "Send an access token: Authorization: Bearer <token>.",
                          [(b"www-authenticate", b'Bearer realm="chungtay"')])
        try:
            return await self.tokens.verify(auth[7:].strip().decode("latin-1"))
        except TokenRejected as exc:
            raise Refusal(401, "invalid_token", "Unauthorized", str(exc),
                          [(b"www-authenticate", b'Bearer realm="chungtay", error="invalid_token"')]) from exc

    async def match_route(self, service: str, method: str, path: str) -> tuple[Rule, dict[str, str]]:
        """The service's rule for this request. No table yet, or no rule: the service's document is
        read again (at most every few seconds) — it may have started, or published the route."""
        table = self.routes.table(service)
        matched = table.match(method, path) if table is not None else None
        if matched is not None:
            return matched
        table = await self.routes.reread(service)
        if table is None:
            raise routes_unknown(service, self.routes)
        matched = table.match(method, path)
        if matched is not None:
            return matched
        allowed = table.allowed_methods(path)
        if allowed:
            raise Refusal(405, "method_not_allowed", "Method not allowed", f"{method} is not allowed on {path}.",
                          [(b"allow", ", ".join(allowed).encode())], allowed=allowed)
        raise Refusal(404, "not_found", "Not found", f"No route {method} {path} behind the gateway.")

    def check_rate(self, principal: Principal) -> None:
        limit = self.limits.requests_per_principal_per_minute
        if limit > 0:
            wait = self.limiter.hit_fast("p:" + principal.id, limit, 60)
            if wait > 0:
                raise Refusal(429, "rate_limited", "Too many requests",
                              f"More than {limit} requests a minute; retry in {wait:.0f}s.",
                              [(b"retry-after", str(int(wait) + 1).encode())])

    def check_path_and_query(self, principal: Principal, rule: Rule, params: dict[str, str],
                             query_string: bytes) -> str | None:
        """The unit codes in the path and query; returns the query's hierarchy (it applies to the body)."""
        pairs = query_pairs(query_string) if query_string else []
        names, hierarchy = units_in_query(pairs, rule.query_units) if pairs else ([], None)
        candidates = [(params[p], hierarchy) for p in rule.unit_params] + [(n, hierarchy) for n in names]
        if candidates:
            refusal = check_units(self.directory, principal, candidates, rule.ancestors_ok)
            if refusal is not None:
                raise refusal
        return hierarchy

    async def read_body(self, head: RequestHead, rule: Rule, receive: Receive, principal: Principal,
                        hierarchy: str | None) -> bytes | StreamedBody | None:
        """JSON and forms are read and their unit codes checked; other bodies are streamed, on upload
        routes only."""
        if not head.has_body:
            return None
        kind = body_kind(head.content_type)
        if kind == "stream" and not rule.upload:
            raise Refusal(415, "unsupported_media_type", "Unsupported media type",
                          "This route accepts JSON bodies only (application/json).")
        cap = self.limits.max_upload_bytes if kind == "stream" else self.limits.max_json_body_bytes
        if head.content_length is not None and head.content_length > cap:
            raise too_large(cap)
        if kind == "stream":
            return StreamedBody(receive, cap)
        try:
            body = await read_body(receive, cap)
        except BodyTooLarge:
            raise too_large(cap) from None
        refusal = self.check_body(body, kind, hierarchy, principal, rule.ancestors_ok)
        if refusal is not None:
            raise refusal
        return body

    def check_body(self, body: bytes, kind: str, hierarchy: str | None, principal: Principal,
                   ancestors_ok: bool) -> Refusal | None:
        try:
            if kind == "form":
                names, form_hierarchy = units_in_query(form_pairs(body), ())
                return check_units(self.directory, principal, [(n, form_hierarchy or hierarchy) for n in names],
                                   ancestors_ok)
            if not body.strip():
                return None
            return check_units(self.directory, principal, units_in_json(parse_json(body), hierarchy), ancestors_ok)
        except BodyError as exc:
            code, title = ("invalid_form", "Invalid form") if kind == "form" else ("invalid_json", "Invalid JSON")
            return Refusal(400, code, title, str(exc))

    async def forward(self, scope: Scope, send: Send, service: str, rule: Rule, raw_path: bytes,
                      head: RequestHead, entry: VerifiedToken, body: bytes | StreamedBody | None, request_id: str,
                      extra: list[tuple[bytes, bytes]]) -> int:
        """Upstream with the principal the services trust; the answer streams back to the client."""
        headers = head.forwarded
        if isinstance(body, StreamedBody) and head.content_length is not None:
            headers.append((b"content-length", str(head.content_length).encode()))
        client = scope.get("client")
        headers += [(_PRINCIPAL, self.tokens.forwarded(entry).encode()), (b"x-request-id", request_id.encode()),
                    (b"x-forwarded-for", client[0].encode() if client else b""),
                    (b"x-forwarded-proto", scope.get("scheme", "http").encode())]
        if head.host is not None:
            headers.append((b"x-forwarded-host", head.host))
        traceparent = tracing.current_traceparent()  # tracing on: the gateway's span is the service's parent
        if traceparent is not None:
            headers = [h for h in headers if h[0] not in _TRACE_HEADERS]
            headers.append((b"traceparent", traceparent.encode()))
        query = scope["query_string"]
        target = raw_path + b"?" + query if query else raw_path
        timeout = rule.timeout or self.limits.upstream_timeout_seconds
        try:
            return await self.forwarder.forward(service, scope["method"], target, headers, body, timeout, send, extra)
        except UpstreamError as exc:
            log.warning("upstream failed", extra={"service": service, "status": exc.status, "error": exc.detail})
            raise Refusal(exc.status, exc.code, "Bad gateway" if exc.status == 502 else "Gateway timeout",
                          exc.detail, service=service) from exc
        except BodyTooLarge:
            raise too_large(self.limits.max_upload_bytes) from None


# ---- steps that need no part of the gateway ---------------------------------------------------------

def check_path(scope: Scope) -> bytes:
    """The raw path to forward. Refused: paths the gateway will not interpret — dot segments, empty
    segments, encoded slashes, controls. The rule and the unit codes are read from the decoded path
    while the service gets the raw one; refusing anything a normaliser could read differently keeps
    both views equal."""
    path: str = scope["path"]
    raw_path: bytes = (scope.get("raw_path") or path.encode()).split(b"?", 1)[0]
    lowered = raw_path.lower()
    if ("//" in path or "/./" in path or "/../" in path or path.endswith(("/.", "/..")) or "\\" in path
            or not path.isprintable() or b"%2f" in lowered or b"%5c" in lowered or b"%2e" in lowered):
        raise Refusal(400, "bad_path", "Malformed path",
                      "Dot segments, empty segments and encoded slashes are not accepted.")
    return raw_path


def check_permission(principal: Principal, rule: Rule) -> None:
    if rule.permission is not None and not principal.has(rule.permission):
        raise Refusal(403, "forbidden", "Forbidden",
                      f"Your role '{principal.role}' lacks the permission '{rule.permission}'.",
                      permission=rule.permission)


def routes_unknown(service: str, routes: ServiceDocuments) -> Refusal:
    """The service never published its routes: answered as if it were down, never as a 404."""
    state = routes.state[service]
    if not state.reachable:
        return Refusal(502, "upstream_unavailable", "Bad gateway",
                       f"The {service} service {state.problem}; its routes are not known.", service=service)
    return Refusal(503, "service_unavailable", "Service unavailable",
                   f"The {service} service {state.problem or 'was not read yet'}; its routes are not known yet.",
                   [(b"retry-after", str(max(1, round(routes.retry_seconds))).encode())], service=service)


def too_large(cap: int) -> Refusal:
    return Refusal(413, "payload_too_large", "Payload too large", f"The body exceeds {cap} bytes.", max_bytes=cap)


async def send_problem(send: Send, headers: list[tuple[bytes, bytes]], refusal: Refusal, request_id: str) -> None:
    body = orjson.dumps({"type": PROBLEM_TYPE_BASE + refusal.code, "title": refusal.title, "status": refusal.status,
                         "code": refusal.code, "detail": refusal.detail, "request_id": request_id, **refusal.extra})
    await send({"type": "http.response.start", "status": refusal.status, "headers": [
        *headers, (b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
