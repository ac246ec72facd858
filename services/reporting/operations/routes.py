"""`GET /reporting/status`: how far behind its streams each projection consumer is (operations.service)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from services.reporting.operations.service import consumers_status
from shared.http import DbSession, require
from shared.permissions import INDICATORS_READ
from shared.principal import Principal

router = APIRouter(prefix="/reporting", tags=["operations"])
Reader = Annotated[Principal, Depends(require(INDICATORS_READ))]


@router.get("/status", summary="How fresh the projections are; consumer lag and dead letters for operators")
async def status(principal: Reader, session: DbSession, request: Request) -> dict[str, Any]:
    """Operators (`reporting.operations.read`) get each consumer's lag, stream sequences and dead
    letters; other readers only whether the figures are caught up and when the last event was applied."""
    return await consumers_status(session, request.app.state.js, getattr(request.app.state, "runners", []),
                                  principal)
