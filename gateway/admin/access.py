"""Who may use the admin API, and the scope units it names: the signed-in manager, the national
administrator, and account scopes resolved through the unit directory."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from gateway.admin.rules import is_national_admin
from gateway.admin.schemas import ScopeIn
from gateway.directory.reference import reference_directory
from gateway.directory.service import DirUnit, UnitDirectory
from gateway.tokens.bearer import Bearer
from shared import permissions as catalogue
from shared.errors import Problem, forbidden
from shared.principal import Principal, ScopeUnit
from shared.scope import level_of


def manager(token: Bearer) -> Principal:
    principal = token.principal
    if not principal.has(catalogue.ACCOUNTS_MANAGE):
        raise forbidden(f"Your role '{principal.role}' lacks the permission '{catalogue.ACCOUNTS_MANAGE}'.",
                        permission=catalogue.ACCOUNTS_MANAGE)
    return principal


Manager = Annotated[Principal, Depends(manager)]


def national(principal: Manager) -> Principal:
    """Roles and signing keys concern the whole country: only a national administrator changes them."""
    if not is_national_admin(principal):
        raise forbidden("Only a national administrator (scope over both hierarchies) may do this.")
    return principal


NationalAdmin = Annotated[Principal, Depends(national)]


def resolve_scope(directory: UnitDirectory, wanted: ScopeIn) -> ScopeUnit:
    """A scope unit from the unit directory (or the reference data before the registry published it)."""
    if not wanted.code:
        return ScopeUnit(hierarchy=wanted.hierarchy, code="", path=wanted.hierarchy, level="national")
    found: tuple[DirUnit, ...] = directory.resolve(wanted.code, wanted.hierarchy)
    if not found:
        found = reference_directory().resolve(wanted.code, wanted.hierarchy)
    if len(found) != 1:
        raise Problem(422, "unknown_unit", "Unknown administrative unit",
                      f"No unit {wanted.code} in hierarchy {wanted.hierarchy}.", field="scopes")
    unit = found[0]
    return ScopeUnit(hierarchy=unit.hierarchy, code=unit.code, path=unit.path, level=unit.level or level_of(unit.path))


def resolve_scopes(directory: UnitDirectory, wanted: list[ScopeIn]) -> list[ScopeUnit]:
    units = {u.path: u for u in (resolve_scope(directory, w) for w in wanted)}
    return list(units.values())
