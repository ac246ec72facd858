"""Which unit a request names, and how a unit is shown: pure rules, no I/O.

A unit is named by its code and hierarchy (codes are reused across the 2025 reform), or by its path.
Without `hierarchy`, the hierarchy of the principal's scope units is used when they agree, else the
current one (v2025). Without `unit`, the answer is for the principal's scope unit. A bare hierarchy
(`v2025`) is the whole country.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.errors import Problem
from shared.principal import Principal
from shared.scope import HIERARCHIES, HIERARCHY_AFTER_REFORM, level_of, split_path

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
class Asked:
    """What a request names: a code in a hierarchy, or a path (then `code` is empty)."""

    hierarchy: str
    code: str
    path: str | None


def fallback_ref(path: str) -> UnitRef:
    """A unit that is not (yet) in the units read model, described from its path alone."""
    hierarchy, codes = split_path(path)
    return UnitRef(path, hierarchy, codes[-1] if codes else hierarchy, COUNTRY_NAMES.get(path, ""), level_of(path))


def child_ref(parent: UnitRef, code: str) -> UnitRef:
    """A child that has figures but is not (yet) in the units read model."""
    return fallback_ref(f"{parent.path}.{code}")


def default_hierarchy(principal: Principal) -> str:
    found = {split_path(p)[0] for p in principal.scope_paths}
    return found.pop() if len(found) == 1 else HIERARCHY_AFTER_REFORM


def unit_not_found(detail: str, **extra: Any) -> Problem:
    return Problem(404, "unit_not_found", "Unit not found", detail, **extra)


def asked_unit(principal: Principal, unit: str | None, hierarchy: str | None) -> Asked:
    """The unit a request names; 422 for an unknown hierarchy or a missing unit when the scope has
    several, 404 for a path in no hierarchy."""
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
            raise unit_not_found(f"No unit with path {unit}.", unit=unit)
        return Asked(split_path(unit)[0], "", unit)
    return Asked(hierarchy or default_hierarchy(principal), unit, None)
