"""The gateway app: `uvicorn --factory gateway.main:create_app`.

`create_app` returns the raw ASGI front (gateway/front.py) wrapping a FastAPI app that serves
/auth, /admin, /.well-known, /openapi.json, /docs, /health, /ready and /metrics.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from gateway import admin_clients, admin_system, admin_users, auth_api
from gateway.front import GatewayFront
from gateway.policy import Rule
from gateway.settings import GatewaySettings
from gateway.state import Gateway
from shared.errors import install_problem_handlers, problem_response
from shared.logs import configure_logging

DESCRIPTION = """The only door to the Chung Tay platform.

Sign in with `POST /auth/token` (OAuth2 password grant for people, client_credentials for other
systems), then call any route with `Authorization: Bearer <access token>`. Every request is checked
against your role's permissions and your scope units: a request naming a unit outside your scope
is refused with 403. Errors are RFC 9457 `application/problem+json`.
"""


def create_app(settings: GatewaySettings | None = None, rules: list[Rule] | None = None) -> GatewayFront:
    settings = settings or GatewaySettings()
    configure_logging("gateway", settings.log_level)
    gateway = Gateway(settings, rules)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await gateway.start()
        try:
            yield
        finally:
            await gateway.stop()

    app = FastAPI(title="Chung Tay API", description=DESCRIPTION, version="0.1.0", lifespan=lifespan,
                  openapi_url=None, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.gateway = gateway
    install_problem_handlers(app)
    for router in (auth_api.router, admin_users.router, admin_clients.router, admin_system.router):
        app.include_router(router)
    _operations(app, gateway)
    return GatewayFront(app, gateway)


def _operations(app: FastAPI, gateway: Gateway) -> None:
    @app.get("/health", tags=["operations"], summary="The process is alive")
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": "gateway"}

    @app.get("/ready", tags=["operations"], summary="Database, NATS, signing key and unit directory")
    async def ready() -> JSONResponse:
        checks: dict[str, Any] = {}
        try:
            async with gateway.db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unreachable: {type(exc).__name__}"
        checks["nats"] = "ok" if gateway.nc is not None and gateway.nc.is_connected else "unreachable"
        checks["signing_key"] = "ok" if gateway.keyring.jwks()["keys"] else "missing"
        ok = all(v == "ok" for v in checks.values())
        # An empty directory is reported, not fatal: requests naming units are refused until it fills.
        checks["unit_directory"] = len(gateway.directory)
        return JSONResponse({"status": "ready" if ok else "not_ready", "checks": checks},
                            status_code=200 if ok else 503)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        refusal = metrics_refusal(gateway.settings, request)
        if refusal is not None:
            return refusal
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi() -> JSONResponse:
        own = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        return JSONResponse(await gateway.openapi.document(own))

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="Chung Tay API",
                                   swagger_ui_parameters={"persistAuthorization": True})


# ---- /metrics: the gateway is the internet-facing door, its figures are not for everyone ----------------

def metrics_refusal(settings: GatewaySettings, request: Request) -> Response | None:
    """None when the caller may read /metrics, else the problem+json answer refusing it.

    With `GATEWAY_METRICS_TOKEN`: `Authorization: Bearer <token>` from anyone, nothing else (compared
    in constant time). Without it: only a client on a loopback address, and only when every address a
    proxy names for it (X-Forwarded-For, Forwarded, X-Real-IP) is loopback too — a request relayed by a
    proxy on this host is not local just because the proxy is; `trust_forwarded_for` does not widen this.
    """
    token = settings.metrics_token.strip()
    if token:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and given.strip() and hmac.compare_digest(
                hashlib.sha256(given.strip().encode()).digest(), hashlib.sha256(token.encode()).digest()):
            return None
        response = problem_response(401, "unauthorized", "Unauthorized",
                                    "/metrics needs Authorization: Bearer <GATEWAY_METRICS_TOKEN>.")
        response.headers["WWW-Authenticate"] = 'Bearer realm="chungtay-metrics"'
        return response
    peer = request.client.host if request.client else None
    relayed = _forwarded_addresses(request)
    if _is_loopback(peer) and all(_is_loopback(a) for a in relayed):
        return None
    return problem_response(403, "forbidden", "Forbidden",
                            "/metrics answers loopback clients only; set GATEWAY_METRICS_TOKEN to scrape "
                            "it from elsewhere with a bearer token.")


def _forwarded_addresses(request: Request) -> list[str]:
    """Every client address the proxies in front name, whatever `trust_forwarded_for` says."""
    found: list[str] = []
    for value in request.headers.getlist("x-forwarded-for") + request.headers.getlist("x-real-ip"):
        found += [part.strip() for part in value.split(",")]
    for value in request.headers.getlist("forwarded"):  # RFC 7239: for=192.0.2.1;proto=http, for="[::1]:80"
        for element in value.split(","):
            for pair in element.split(";"):
                name, _, item = pair.strip().partition("=")
                if name.strip().lower() == "for":
                    found.append(item.strip().strip('"'))
    return found


def _is_loopback(address: str | None) -> bool:
    if not address:
        return False
    text = address.strip()
    if text.startswith("["):  # [v6] or [v6]:port
        text = text[1:text.find("]")] if "]" in text else text[1:]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return False  # "unknown", obfuscated identifiers, garbage: not provably local
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback
