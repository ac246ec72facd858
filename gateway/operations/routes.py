"""`/health`, `/ready` and `/metrics`: what the operators and the orchestrator ask the gateway."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from gateway.dependencies import DatabaseDep, DirectoryDep, DocumentsDep, KeyRingDep, NatsDep, SettingsDep
from gateway.operations.metrics_access import metrics_refusal
from shared.metrics import DATABASE_UP

router = APIRouter(tags=["operations"])


@router.get("/health", summary="The process is alive")
async def health() -> dict[str, str]:
    return {"status": "ok", "service": "gateway"}


@router.get("/ready", summary="Database, NATS, signing key; the unit directory and the services' routes")
async def ready(db: DatabaseDep, keyring: KeyRingDep, directory: DirectoryDep, nats: NatsDep,
                documents: DocumentsDep) -> JSONResponse:
    checks: dict[str, Any] = {}
    try:
        async with db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    DATABASE_UP.labels("gateway").set(1 if checks["database"] == "ok" else 0)
    checks["nats"] = "ok" if nats.connected else "unreachable"
    checks["signing_key"] = "ok" if keyring.jwks()["keys"] else "missing"
    ok = all(v == "ok" for v in checks.values())
    # Reported, not fatal: requests naming units are refused until the directory fills, and a
    # service whose routes are unknown is answered as down (the gateway serves the others).
    checks["unit_directory"] = len(directory)
    checks["routes"] = documents.status()
    return JSONResponse({"status": "ready" if ok else "not_ready", "checks": checks},
                        status_code=200 if ok else 503)


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics(request: Request, settings: SettingsDep) -> Response:
    refusal = metrics_refusal(settings, request)
    if refusal is not None:
        return refusal
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
