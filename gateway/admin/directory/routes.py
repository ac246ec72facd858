"""`/admin/directory`: the state of the unit directory the gateway checks scopes against."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gateway.admin.access import Manager
from gateway.dependencies import DatabaseDep, DirectoryDep
from gateway.directory import repository

router = APIRouter(prefix="/admin", tags=["admin: platform"])


@router.get("/directory", summary="The unit directory the gateway checks scopes against")
async def directory_status(principal: Manager, db: DatabaseDep, directory: DirectoryDep) -> dict[str, Any]:
    async with db.session(principal) as session:
        rows, latest = await repository.counts(session)
    counts: dict[str, dict[str, int]] = {}
    for hierarchy, level, count in rows:
        counts.setdefault(hierarchy, {})[level] = int(count)
    return {"units_in_memory": len(directory), "units": counts,
            "updated_at": latest.isoformat() if latest else None}
