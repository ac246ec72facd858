"""`/admin/audit`: account changes inside the manager's scope, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from gateway.admin.access import Manager
from gateway.admin.audit import repository
from gateway.admin.audit.schemas import AuditOut
from gateway.admin.rules import within
from gateway.dependencies import DatabaseDep
from shared.errors import not_found
from shared.openapi import problems

router = APIRouter(prefix="/admin", tags=["admin: platform"])


@router.get("/audit", response_model=list[AuditOut], summary="Account changes inside your scope, newest first",
            responses=problems(404))  # target_id names no account whose changes you may see
async def list_audit(principal: Manager, db: DatabaseDep, target_id: str | None = None,
                     limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[AuditOut]:
    found: list[AuditOut] = []
    async with db.session(principal) as session:
        # Entries are few; scope containment is checked here on the scopes each entry recorded.
        for row in await repository.newest(session, target_id):
            if within(principal, list(row.detail.get("scopes", []))):
                found.append(AuditOut.model_validate(row, from_attributes=True))
                if len(found) >= limit:
                    break
    if target_id and not found:
        raise not_found("audit entry of the account", target_id)
    return found
