"""The service app factory: every service is built the same way, so knowing one means knowing all.

A service passes its settings, routers, and the consumers it runs; the factory wires logging,
problem+json errors, request ids, the principal check, the database, NATS with stream provisioning,
the outbox relay, the consumer runners, /health, /ready and /metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Protocol

import nats
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from nats.aio.client import Client as NATS
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from shared.consumer import Consumer, ConsumerRunner, RunnerOptions
from shared.db import Database
from shared.errors import install_problem_handlers
from shared.gc_tuning import freeze_startup_objects, unfreeze
from shared.housekeeping import Housekeeping
from shared.http import NulGuardMiddleware, RequestIdMiddleware, require
from shared.logs import configure_logging
from shared.metrics import DATABASE_UP
from shared.openapi import publish_openapi
from shared.principal import Principal, PrincipalVerifier, principal_claims
from shared.relay import OutboxRelay
from shared.settings import ServiceSettings
from shared.streams import ensure_streams
from shared.tracing import configure_tracing
from shared.tracing import shutdown as shutdown_tracing

log = logging.getLogger(__name__)


class Worker(Protocol):
    """A background task of a service (a poller, a delivery loop): started and stopped with the app."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


# Builds a worker once the app's database and NATS are up (it reads them from `app.state`).
WorkerFactory = Callable[[FastAPI], Worker]


@dataclass
class ServiceSpec:
    name: str
    settings: ServiceSettings
    routers: Sequence[APIRouter] = ()
    consumers: Sequence[Consumer] = ()
    title: str = ""
    description: str = ""
    version: str = "0.1.0"
    extra_state: dict[str, object] = field(default_factory=dict)
    workers: Sequence[WorkerFactory] = ()  # run like the consumers: only with run_background_workers


async def connect_nats(url: str, name: str, attempts: int = 60) -> NATS:
    """Connect, waiting for NATS if it is still starting; reconnect forever afterwards."""
    for attempt in range(1, attempts + 1):
        try:
            return await nats.connect(url, name=name, max_reconnect_attempts=-1, reconnect_time_wait=1)
        except Exception:
            if attempt == attempts:
                raise
            await asyncio.sleep(0.5)
    raise RuntimeError("unreachable")


def create_service_app(spec: ServiceSpec) -> FastAPI:
    settings = spec.settings
    configure_logging(spec.name, settings.log_level)
    configure_tracing(spec.name)  # only when OTEL_EXPORTER_OTLP_ENDPOINT is set

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.database_url, settings.db_pool_size, settings.db_pool_pre_ping)
        nc = await connect_nats(settings.nats_url, spec.name)
        js = nc.jetstream()
        await ensure_streams(js)
        app.state.db, app.state.nc, app.state.js = db, nc, js
        relay = OutboxRelay(settings.database_url, js, spec.name, batch_size=settings.relay_batch_size,
                            idle_seconds=settings.relay_idle_seconds,
                            retention_hours=settings.outbox_retention_hours)
        options = RunnerOptions(batch_size=settings.consumer_batch_size,
                                ack_wait_seconds=settings.consumer_ack_wait_seconds,
                                max_attempts=settings.consumer_max_attempts,
                                backoff_seconds=settings.consumer_backoff_seconds)
        runners = [ConsumerRunner(c, db, js, options) for c in spec.consumers]
        housekeeping = Housekeeping(db)
        app.state.relay, app.state.runners, app.state.housekeeping = relay, runners, housekeeping
        workers = [make(app) for make in spec.workers]
        app.state.workers = workers
        if settings.run_background_workers:
            await relay.start()
            for runner in runners:
                await runner.start()
            await housekeeping.start()
            for worker in workers:
                await worker.start()
        freeze_startup_objects()
        log.info("service started")
        try:
            yield
        finally:
            unfreeze()
            for worker in workers:
                await worker.stop()
            await housekeeping.stop()
            for runner in runners:
                await runner.stop()
            await relay.stop()
            with contextlib.suppress(Exception):
                await nc.drain()
            await db.dispose()
            shutdown_tracing()
            log.info("service stopped")

    app = FastAPI(
        title=spec.title or f"Chung Tay {spec.name}",
        description=spec.description,
        version=spec.version,
        lifespan=lifespan,
        root_path="",
    )
    app.state.settings = settings
    app.state.service_name = spec.name
    app.state.verifier = PrincipalVerifier(settings.principal_public_key)
    for key, value in spec.extra_state.items():
        setattr(app.state, key, value)
    install_problem_handlers(app)
    app.add_middleware(NulGuardMiddleware)
    app.add_middleware(RequestIdMiddleware, service=spec.name)
    app.include_router(_operations_router(spec.name))
    for router in spec.routers:
        app.include_router(router)
    publish_openapi(app)
    return app


def _operations_router(service: str) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/health", summary="The process is alive")
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @router.get("/ready", summary="Database and NATS are reachable")
    async def ready_check(request: Request) -> JSONResponse:
        checks: dict[str, str] = {}
        try:
            async with request.app.state.db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unreachable: {type(exc).__name__}"
        DATABASE_UP.labels(service).set(1 if checks["database"] == "ok" else 0)
        nc: NATS | None = getattr(request.app.state, "nc", None)
        checks["nats"] = "ok" if nc is not None and nc.is_connected else "unreachable"
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ready" if ok else "not_ready", "checks": checks},
                              status_code=200 if ok else 503)

    @router.get(f"/{service}/principal", summary="The principal this service sees (forwarded by the gateway)")
    async def principal(p: Annotated[Principal, Depends(require(None))]) -> dict[str, object]:
        return principal_claims(p)

    @router.get("/metrics", summary="Prometheus metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router

