"""The gateway app: `uvicorn --factory gateway.main:create_app`.

`create_app` returns the raw ASGI front (gateway/front.py) wrapping a FastAPI app that serves
/auth, /admin, /.well-known, /openapi.json, /docs, /health, /ready and /metrics.
"""

from __future__ import annotations

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
from gateway.metrics_access import metrics_refusal
from gateway.policy import Rule
from gateway.settings import GatewaySettings
from gateway.state import Gateway
from shared.errors import install_problem_handlers
from shared.gc_tuning import freeze_startup_objects, unfreeze
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
        freeze_startup_objects()
        try:
            yield
        finally:
            unfreeze()
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
