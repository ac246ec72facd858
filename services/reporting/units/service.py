"""Locating the unit a request asks about: whether the principal may see it, and its child units.

A unit outside the principal's scope is refused with 403 whether or not it exists in the read model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.progress.projection import REGISTRY_CONSUMER
from services.reporting.progress.repository import progress_of
from services.reporting.units import repository
from services.reporting.units.rules import UnitRef, asked_unit, fallback_ref, unit_not_found
from shared.errors import forbidden
from shared.principal import Principal
from shared.scope import HIERARCHIES


@dataclass(frozen=True)
class Located:
    unit: UnitRef
    children: list[UnitRef]
    progress: dict[str, Any]  # how far the registry stream is applied, read before any figure


def _ref(row: Any) -> UnitRef:
    return UnitRef(row["path"], row["hierarchy"], row["code"], row["name"], row["level"], row["type"])


def _sorted(rows: Sequence[Any]) -> list[UnitRef]:
    return sorted((_ref(r) for r in rows), key=lambda u: u.code)


async def locate(session: AsyncSession, principal: Principal, unit: str | None, hierarchy: str | None) -> Located:
    """The unit asked for and its children, refused (403) when outside the principal's scope."""
    asked = asked_unit(principal, unit, hierarchy)
    path = asked.path
    if path in HIERARCHIES:  # the whole country
        if not principal.can_reach(path):
            raise forbidden(f"Unit {path} is outside your scope.", unit=path)
        rows = await repository.provinces(session, path, REGISTRY_CONSUMER)
        return Located(fallback_ref(path), _sorted([r for r in rows if r["path"]]), progress_of(rows[0]))
    rows = await repository.unit_and_children(session, asked.hierarchy, asked.code, path or "", REGISTRY_CONSUMER)
    progress = progress_of(rows[0])
    own = next((r for r in rows if r["is_unit"]), None)
    if own is None:
        if path is not None and not principal.can_reach(path):
            raise forbidden(f"Unit {path} is outside your scope.", unit=path)
        # The principal's own unit may not be loaded yet; any other unknown unit is not found.
        mine = [s.path for s in principal.scopes
                if s.path == path or (path is None and s.hierarchy == asked.hierarchy and s.code == asked.code)]
        if not mine:
            raise unit_not_found(f"No unit {path or asked.code} in hierarchy {asked.hierarchy}.",
                                 unit=path or asked.code, hierarchy=asked.hierarchy)
        return Located(fallback_ref(mine[0]), [], progress)
    if not principal.can_reach(own["path"]):
        raise forbidden(f"Unit {own['path']} is outside your scope.", unit=own["path"])
    return Located(_ref(own), _sorted([r for r in rows if r["is_unit"] is False]), progress)
