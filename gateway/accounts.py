"""What the admin API shares: the signed-in manager, scope units of accounts, the containment rule
(a manager touches an account only when every scope unit of it lies inside the manager's scope),
and the audit trail of account changes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.directory import DirUnit, level_of
from gateway.models import AdminAudit
from gateway.reference import reference_directory
from gateway.tokens import TokenRejected, VerifiedToken
from shared import permissions as catalogue
from shared.errors import Problem, forbidden, unauthorized
from shared.principal import Principal, ScopeUnit
from shared.scope import HIERARCHIES, path_in_any


# ---- who is asking ------------------------------------------------------------------------------
async def verified_token(request: Request) -> VerifiedToken:
    header = request.headers.get("authorization", "")
    if header[:7].lower() != "bearer ":
        raise unauthorized("Send an access token: Authorization: Bearer <token>.")
    try:
        return await request.app.state.gateway.tokens.verify(header[7:].strip())
    except TokenRejected as exc:
        raise unauthorized(str(exc)) from exc


Bearer = Annotated[VerifiedToken, Depends(verified_token)]


def manager(request: Request, token: Bearer) -> Principal:
    principal = token.principal
    if not principal.has(catalogue.ACCOUNTS_MANAGE):
        raise forbidden(f"Your role '{principal.role}' lacks the permission '{catalogue.ACCOUNTS_MANAGE}'.",
                        permission=catalogue.ACCOUNTS_MANAGE)
    return principal


Manager = Annotated[Principal, Depends(manager)]


def national(principal: Manager) -> Principal:
    """Roles and signing keys concern the whole country: only a national administrator changes them."""
    if "*" not in principal.permissions or not all(h in principal.scope_paths for h in HIERARCHIES):
        raise forbidden("Only a national administrator (scope over both hierarchies) may do this.")
    return principal


NationalAdmin = Annotated[Principal, Depends(national)]


# ---- scope units --------------------------------------------------------------------------------
class ScopeIn(BaseModel):
    hierarchy: Literal["v2008", "v2025"] = Field(description="v2008: before the July 2025 reform; v2025: after")
    code: str | None = Field(default=None, description="Unit code; empty for the whole hierarchy (national)")


class ScopeOut(BaseModel):
    hierarchy: str
    code: str
    path: str
    level: str


def resolve_scope(request: Request, wanted: ScopeIn) -> ScopeUnit:
    """A scope unit from the unit directory (or the reference data before the registry published it)."""
    if not wanted.code:
        return ScopeUnit(hierarchy=wanted.hierarchy, code="", path=wanted.hierarchy, level="national")
    found: tuple[DirUnit, ...] = request.app.state.gateway.directory.resolve(wanted.code, wanted.hierarchy)
    if not found:
        found = reference_directory().resolve(wanted.code, wanted.hierarchy)
    if len(found) != 1:
        raise Problem(422, "unknown_unit", "Unknown administrative unit",
                      f"No unit {wanted.code} in hierarchy {wanted.hierarchy}.", field="scopes")
    unit = found[0]
    return ScopeUnit(hierarchy=unit.hierarchy, code=unit.code, path=unit.path, level=unit.level or level_of(unit.path))


def resolve_scopes(request: Request, wanted: list[ScopeIn]) -> list[ScopeUnit]:
    units = {u.path: u for u in (resolve_scope(request, w) for w in wanted)}
    return list(units.values())


def require_within(principal: Principal, paths: list[str], what: str) -> None:
    """403 unless every path lies in the manager's scope."""
    outside = [p for p in paths if not path_in_any(p, principal.scope_paths)]
    if outside:
        raise forbidden(f"The {what} reaches units outside your scope: {', '.join(outside)}.", units=outside)


def within(principal: Principal, paths: list[str]) -> bool:
    return bool(paths) and all(path_in_any(p, principal.scope_paths) for p in paths)


# ---- permissions a manager may hand out ---------------------------------------------------------
def known_permissions() -> frozenset[str]:
    names = {v for k, v in vars(catalogue).items() if k.isupper() and isinstance(v, str) and "." in v}
    services = {p.split(".", 1)[0] + ".*" for p in names}
    return frozenset(names | services | {"*"})


def require_grantable(principal: Principal, permissions: frozenset[str] | list[str]) -> None:
    unknown = sorted(set(permissions) - known_permissions())
    if unknown:
        raise Problem(422, "unknown_permission", "Unknown permission",
                      f"Unknown permissions: {', '.join(unknown)}.", field="permissions", permissions=unknown)
    missing = sorted(p for p in permissions if not _holds(principal, p))
    if missing:
        raise forbidden(f"You cannot grant permissions you do not hold: {', '.join(missing)}.",
                        permissions=missing)


def _holds(principal: Principal, permission: str) -> bool:
    if permission == "*" or permission.endswith(".*"):
        return "*" in principal.permissions or permission in principal.permissions
    return principal.has(permission)


# ---- audit ----------------------------------------------------------------------------------------
def audit(session: AsyncSession, actor: Principal, action: str, kind: str, target_id: str,
          scope_paths: list[str], **detail: Any) -> None:
    """`scope_paths`: the target's scope after the change; the audit list is filtered on it."""
    session.add(AdminAudit(actor_id=actor.id, actor_name=actor.name, action=action, target_kind=kind,
                           target_id=target_id, detail={**detail, "scopes": scope_paths}))
