"""The gateway app: `uvicorn --factory gateway.main:create_app`.

`create_app` builds the process's parts (gateway/process.py), the FastAPI app that serves the
gateway's own routes (/auth, /admin, /.well-known, /openapi.json, /docs, /health, /ready, /metrics) and
the officers' dashboard page (/dashboard/, gateway/web),
and returns the raw ASGI front (gateway/proxy/front.py) that forwards the services' prefixes itself
and hands everything else to that app. A new group of the gateway's own routes (static pages, say) is
one more router in ROUTERS.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from gateway.admin.audit import routes as admin_audit
from gateway.admin.clients import routes as admin_clients
from gateway.admin.directory import routes as admin_directory
from gateway.admin.keys import routes as admin_keys
from gateway.admin.roles import routes as admin_roles
from gateway.admin.users import routes as admin_users
from gateway.identity import routes as identity
from gateway.keys import routes as keys
from gateway.openapi import routes as openapi
from gateway.operations import routes as operations
from gateway.process import GatewayProcess
from gateway.proxy.front import GatewayFront
from gateway.settings import GatewaySettings
from gateway.web import routes as web
from shared.errors import install_problem_handlers
from shared.gc_tuning import freeze_startup_objects, unfreeze
from shared.http import NulGuardMiddleware
from shared.logs import configure_logging
from shared.tracing import configure_tracing
from shared.tracing import shutdown as shutdown_tracing

DESCRIPTION = """The only door to the Chung Tay platform.

Sign in with `POST /auth/token` (OAuth2 password grant for people, client_credentials for other
systems), then call any route with `Authorization: Bearer <access token>`. Every request is checked
against your role's permissions and your scope units: a request naming a unit outside your scope
is refused with 403. Errors are RFC 9457 `application/problem+json`.
"""

ROUTERS: tuple[APIRouter, ...] = (
    identity.router, keys.router, admin_users.router, admin_clients.router, admin_roles.router, admin_keys.router,
    admin_directory.router, admin_audit.router, operations.router, openapi.router, web.router,
)


def create_app(settings: GatewaySettings | None = None) -> GatewayFront:
    settings = settings or GatewaySettings()
    configure_logging("gateway", settings.log_level)
    configure_tracing("gateway")  # only when OTEL_EXPORTER_OTLP_ENDPOINT is set
    process = GatewayProcess(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await process.start()
        freeze_startup_objects()
        try:
            yield
        finally:
            unfreeze()
            await process.stop()
            shutdown_tracing()

    app = FastAPI(title="Chung Tay API", description=DESCRIPTION, version="0.1.0", lifespan=lifespan,
                  openapi_url=None, docs_url=None, redoc_url=None)
    for name, part in process.parts().items():
        setattr(app.state, name, part)
    install_problem_handlers(app)
    app.add_middleware(NulGuardMiddleware)  # its own routes: a NUL in the path or query is a 422, not a query
    for router in ROUTERS:
        app.include_router(router)
    return GatewayFront(app, process.proxy, settings.cors_origin_set)
