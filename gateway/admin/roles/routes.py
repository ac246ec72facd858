"""`/admin/roles`: roles and their permissions (changed by national administrators only)."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.admin.access import Manager, NationalAdmin
from gateway.admin.roles import service
from gateway.admin.roles.schemas import RoleOut, RoleUpdate
from gateway.dependencies import DatabaseDep, RevocationsDep

router = APIRouter(prefix="/admin", tags=["admin: platform"])


@router.get("/roles", response_model=list[RoleOut], summary="Roles and their permissions")
async def list_roles(principal: Manager, db: DatabaseDep) -> list[RoleOut]:
    return [RoleOut.of(r) for r in await service.list_roles(db, principal)]


@router.put("/roles/{name}", response_model=RoleOut,
            summary="Create or change a role (national administrators; its holders' tokens are refused)")
async def put_role(principal: NationalAdmin, name: str, body: RoleUpdate, db: DatabaseDep,
                   revocations: RevocationsDep) -> RoleOut:
    return RoleOut.of(await service.put_role(db, revocations, principal, name, body))
