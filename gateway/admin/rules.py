"""The admin API's rules: a manager touches an account only when every scope unit of it lies inside
the manager's scope, and grants only permissions of the catalogue that it holds itself."""

from __future__ import annotations

from shared import permissions as catalogue
from shared.errors import Problem, forbidden
from shared.principal import Principal
from shared.scope import HIERARCHIES, path_in_any


def within(principal: Principal, paths: list[str]) -> bool:
    return bool(paths) and all(path_in_any(p, principal.scope_paths) for p in paths)


def require_within(principal: Principal, paths: list[str], what: str) -> None:
    """403 unless every path lies in the manager's scope."""
    outside = [p for p in paths if not path_in_any(p, principal.scope_paths)]
    if outside:
        raise forbidden(f"The {what} reaches units outside your scope: {', '.join(outside)}.", units=outside)


def is_national_admin(principal: Principal) -> bool:
    """Every permission, over both hierarchies."""
    return "*" in principal.permissions and all(h in principal.scope_paths for h in HIERARCHIES)


def known_permissions() -> frozenset[str]:
    names = {v for k, v in vars(catalogue).items() if k.isupper() and isinstance(v, str) and "." in v}
    services = {p.split(".", 1)[0] + ".*" for p in names}
    return frozenset(names | services | {"*"})


def require_known(permissions: frozenset[str] | list[str]) -> None:
    unknown = sorted(set(permissions) - known_permissions())
    if unknown:
        raise Problem(422, "unknown_permission", "Unknown permission",
                      f"Unknown permissions: {', '.join(unknown)}.", field="permissions", permissions=unknown)


def require_grantable(principal: Principal, permissions: frozenset[str] | list[str]) -> None:
    require_known(permissions)
    missing = sorted(p for p in permissions if not _holds(principal, p))
    if missing:
        raise forbidden(f"You cannot grant permissions you do not hold: {', '.join(missing)}.",
                        permissions=missing)


def _holds(principal: Principal, permission: str) -> bool:
    if permission == "*" or permission.endswith(".*"):
        return "*" in principal.permissions or permission in principal.permissions
    return principal.has(permission)
