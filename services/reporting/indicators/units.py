"""Which unit a request asks about, whether the principal may see it, and its child units.

A unit is named by its code and hierarchy (codes are reused across the 2025 reform), or by its path.
Without `hierarchy`, the hierarchy of the principal's scope units is used when they agree, else the
current one (v2025). Without `unit`, the answer is for the principal's scope unit. A unit outside
the principal's scope is refused with 403 whether or not it exists in the read model.
A bare hierarchy (`v2025`) is the whole country, for principals whose scope is the country.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.driver import fetch
from services.reporting.projections.progress import PROGRESS_COLUMNS, REGISTRY_CONSUMER, progress_of
from shared.errors import Problem, forbidden
from shared.principal import Principal
from shared.scope import HIERARCHIES, HIERARCHY_AFTER_REFORM, split_path

COUNTRY_NAMES = {"v2008": "Toàn quốc (trước 01/7/2025)", "v2025": "Toàn quốc"}


@dataclass(frozen=True)
class UnitRef:
    path: str
    hierarchy: str
    code: str
    name: str
    level: str
    type: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "name": self.name, "level": self.level, "type": self.type,
                "path": self.path, "hierarchy": self.hierarchy}


@dataclass(frozen=True)
class Located:
    unit: UnitRef
    children: list[UnitRef]
    progress: dict[str, Any]  # how far the registry stream is applied, read before any figure


_COLUMNS = "path, hierarchy, code, name, level, type, parent_path"
# One round trip: the unit (by code in a hierarchy, or by path), its children, and the freshness
# (progress columns on every row; a row of NULL units when the unit is unknown).
_UNIT_AND_CHILDREN = f"""
WITH u AS (SELECT path FROM rp_units WHERE (hierarchy = $1 AND code = $2) OR path = $3 LIMIT 1),
units AS (
    SELECT {_COLUMNS}, true AS is_unit FROM rp_units WHERE path = (SELECT path FROM u)
    UNION ALL
    SELECT {_COLUMNS}, false FROM rp_units WHERE parent_path = (SELECT path FROM u)
),
p AS (SELECT {PROGRESS_COLUMNS} FROM rp_progress WHERE consumer = $4)
SELECT * FROM (SELECT 1) one LEFT JOIN units ON true LEFT JOIN p ON true
"""
_TOP = f"""
SELECT u.*, p.* FROM (SELECT 1) one
LEFT JOIN (SELECT {_COLUMNS} FROM rp_units WHERE hierarchy = $1 AND parent_path IS NULL) u ON true
LEFT JOIN (SELECT {PROGRESS_COLUMNS} FROM rp_progress WHERE consumer = $2) p ON true
"""


def _ref(row: Any) -> UnitRef:
    return UnitRef(row["path"], row["hierarchy"], row["code"], row["name"], row["level"], row["type"])


def _level_of(path: str) -> str:
    hierarchy, codes = split_path(path)
    if not codes:
        return "country"
    if len(codes) == 1:
        return "province"
    return "district" if hierarchy == "v2008" and len(codes) == 2 else "commune"


def _fallback(path: str) -> UnitRef:
    hierarchy, codes = split_path(path)
    return UnitRef(path, hierarchy, codes[-1] if codes else hierarchy, COUNTRY_NAMES.get(path, ""), _level_of(path))


def child_ref(parent: UnitRef, code: str) -> UnitRef:
    """A child that has figures but is not (yet) in the units read model."""
    return _fallback(f"{parent.path}.{code}")


def default_hierarchy(principal: Principal) -> str:
    found = {split_path(p)[0] for p in principal.scope_paths}
    return found.pop() if len(found) == 1 else HIERARCHY_AFTER_REFORM


def _not_found(detail: str, **extra: Any) -> Problem:
    return Problem(404, "unit_not_found", "Unit not found", detail, **extra)


def _asked(principal: Principal, unit: str | None, hierarchy: str | None) -> tuple[str, str, str | None]:
    """(hierarchy, code, path) the request names; path is None when only a code was given."""
    if hierarchy is not None and hierarchy not in HIERARCHIES:
        raise Problem(422, "validation_error", "Invalid request",
                      f"hierarchy must be one of {', '.join(HIERARCHIES)}.",
                      errors=[{"field": "hierarchy", "reason": f"unknown hierarchy {hierarchy!r}"}])
    if not unit:
        paths = principal.scope_paths
        if len(paths) != 1:
            raise Problem(422, "unit_required", "Name a unit",
                          "Your scope has several units (or none): say which one with `unit`.",
                          scope_units=[s.code for s in principal.scopes])
        unit = paths[0]
    if "." in unit or unit in HIERARCHIES:
        if split_path(unit)[0] not in HIERARCHIES:
            raise _not_found(f"No unit with path {unit}.", unit=unit)
        return split_path(unit)[0], "", unit
    return hierarchy or default_hierarchy(principal), unit, None


async def locate(session: AsyncSession, principal: Principal, unit: str | None, hierarchy: str | None) -> Located:
    """The unit asked for and its children, refused (403) when outside the principal's scope."""
    h, code, path = _asked(principal, unit, hierarchy)
    if path in HIERARCHIES:  # the whole country
        if not principal.can_reach(path):
            raise forbidden(f"Unit {path} is outside your scope.", unit=path)
        rows = await fetch(session, _TOP, path, REGISTRY_CONSUMER)
        return Located(_fallback(path), _sorted([r for r in rows if r["path"]]), progress_of(rows[0]))
    rows = await fetch(session, _UNIT_AND_CHILDREN, h, code, path or "", REGISTRY_CONSUMER)
    progress = progress_of(rows[0])
    own = next((r for r in rows if r["is_unit"]), None)
    if own is None:
        if path is not None and not principal.can_reach(path):
            raise forbidden(f"Unit {path} is outside your scope.", unit=path)
        # The principal's own unit may not be loaded yet; any other unknown unit is not found.
        mine = [s.path for s in principal.scopes
                if s.path == path or (path is None and s.hierarchy == h and s.code == code)]
        if not mine:
            raise _not_found(f"No unit {path or code} in hierarchy {h}.", unit=path or code, hierarchy=h)
        return Located(_fallback(mine[0]), [], progress)
    if not principal.can_reach(own["path"]):
        raise forbidden(f"Unit {own['path']} is outside your scope.", unit=own["path"])
    return Located(_ref(own), _sorted([r for r in rows if r["is_unit"] is False]), progress)


def _sorted(rows: Sequence[Any]) -> list[UnitRef]:
    return sorted((_ref(r) for r in rows), key=lambda u: u.code)
