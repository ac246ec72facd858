"""Admin API for what concerns the whole platform: roles and their permissions, the token signing
keys, the unit directory's state, and the audit trail of account changes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from gateway.accounts import Manager, NationalAdmin, audit, known_permissions, within
from gateway.models import AdminAudit, DirectoryUnit, Role, User
from shared.errors import Problem, not_found

router = APIRouter(prefix="/admin", tags=["admin: platform"])


class RoleOut(BaseModel):
    name: str
    description: str
    permissions: list[str]
    builtin: bool
    customized: bool


class RoleUpdate(BaseModel):
    description: str | None = Field(default=None, max_length=500)
    permissions: list[str]


def _role(r: Role) -> RoleOut:
    return RoleOut(name=r.name, description=r.description, permissions=sorted(r.permissions), builtin=r.builtin,
                   customized=r.customized)


@router.get("/roles", response_model=list[RoleOut], summary="Roles and their permissions")
async def list_roles(request: Request, principal: Manager) -> list[RoleOut]:
    async with request.app.state.gateway.db.session(principal) as session:
        return [_role(r) for r in (await session.scalars(select(Role).order_by(Role.name))).all()]


@router.put("/roles/{name}", response_model=RoleOut,
            summary="Create or change a role (national administrators; its holders' tokens are refused)")
async def put_role(request: Request, principal: NationalAdmin, name: str, body: RoleUpdate) -> RoleOut:
    gw = request.app.state.gateway
    unknown = sorted(set(body.permissions) - known_permissions())
    if unknown:
        raise Problem(422, "unknown_permission", "Unknown permission", f"Unknown permissions: {', '.join(unknown)}.",
                      field="permissions", permissions=unknown)
    async with gw.db.session(principal) as session:
        role = await session.get(Role, name)
        if role is None:
            role = Role(name=name, description=body.description or "", permissions=[], builtin=False,
                        customized=True)
            session.add(role)
        before = sorted(role.permissions or [])
        role.permissions = sorted(set(body.permissions))
        if body.description is not None:
            role.description = body.description
        role.customized = True
        role.updated_at = datetime.now(UTC)
        holders = (await session.scalars(select(User.id).where(User.role == name))).all()
        for user_id in holders:  # their tokens carry the old permissions
            await gw.revocations.revoke_subject(session, str(user_id))
        audit(session, principal, "role.changed", "role", name, ["v2008", "v2025"],
              permissions=[before, role.permissions])
        return _role(role)


@router.get("/keys", summary="Token signing keys (public data only)")
async def list_keys(request: Request, principal: NationalAdmin) -> list[dict[str, Any]]:
    return request.app.state.gateway.keyring.describe()


@router.post("/keys/rotate", summary="Start signing with a new key; the old one stays valid until its tokens expire")
async def rotate_keys(request: Request, principal: NationalAdmin) -> dict[str, str]:
    gw = request.app.state.gateway
    kid = await gw.keyring.rotate()
    async with gw.db.session(principal) as session:
        audit(session, principal, "keys.rotated", "key", kid, ["v2008", "v2025"])
    return {"kid": kid}


@router.get("/directory", summary="The unit directory the gateway checks scopes against")
async def directory_status(request: Request, principal: Manager) -> dict[str, Any]:
    gw = request.app.state.gateway
    async with gw.db.session(principal) as session:
        rows = (await session.execute(
            select(DirectoryUnit.hierarchy, DirectoryUnit.level, func.count())
            .group_by(DirectoryUnit.hierarchy, DirectoryUnit.level))).all()
        latest = await session.scalar(select(func.max(DirectoryUnit.updated_at)))
    counts: dict[str, dict[str, int]] = {}
    for hierarchy, level, count in rows:
        counts.setdefault(hierarchy, {})[level] = int(count)
    return {"units_in_memory": len(gw.directory), "units": counts,
            "updated_at": latest.isoformat() if latest else None}


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor_id: str
    actor_name: str
    action: str
    target_kind: str
    target_id: str
    detail: dict[str, Any]


@router.get("/audit", response_model=list[AuditOut], summary="Account changes inside your scope, newest first")
async def list_audit(request: Request, principal: Manager, target_id: str | None = None,
                     limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[AuditOut]:
    query = select(AdminAudit).order_by(AdminAudit.id.desc())
    if target_id:
        query = query.where(AdminAudit.target_id == target_id)
    found: list[AuditOut] = []
    async with request.app.state.gateway.db.session(principal) as session:
        # Entries are few; scope containment is checked here on the scopes each entry recorded.
        for row in (await session.scalars(query.limit(5000))).all():
            if within(principal, list(row.detail.get("scopes", []))):
                found.append(AuditOut.model_validate(row, from_attributes=True))
                if len(found) >= limit:
                    break
    if target_id and not found:
        raise not_found("audit entry for", target_id)
    return found
