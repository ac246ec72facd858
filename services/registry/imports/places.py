"""Placing an import row in its commune: the commune code → the unit, checked against the caller's scope.

Every commune of both hierarchies is read once per job (about 13,000 units) so that rows are placed
without a query per batch; a code is resolved once and remembered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shared.scope import path_in_any


@dataclass(frozen=True, slots=True)
class Commune:
    path: str
    hierarchy: str
    code: str
    name: str
    urban: bool | None

    @property
    def area(self) -> str:
        # Units without an urban/rural flag (none are expected for communes) use the rural lines.
        return "urban" if self.urban else "rural"


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why rows naming a commune code cannot be stored."""

    reason: str
    fatal: bool = False  # rejects the whole file, keep_valid or not (a commune outside the caller's scope)


class CommunePlacer:
    def __init__(self, communes: dict[str, list[Commune]], scope_paths: Sequence[str], hierarchy: str | None) -> None:
        self._communes = communes  # every commune by code
        self._scopes = tuple(scope_paths)
        self._hierarchy = hierarchy
        self._resolved: dict[str, Commune | Refusal] = {}

    def place(self, code: str) -> Commune | Refusal:
        known = self._resolved.get(code)
        if known is None:
            known = self._resolved[code] = self._resolve(code, self._communes.get(code, []))
        return known

    def _resolve(self, code: str, candidates: list[Commune]) -> Commune | Refusal:
        if self._hierarchy:
            candidates = [c for c in candidates if c.hierarchy == self._hierarchy]
        if not candidates:
            where = f" in hierarchy {self._hierarchy}" if self._hierarchy else ""
            return Refusal(f"No commune has the code {code}{where}.")
        inside = [c for c in candidates if path_in_any(c.path, self._scopes)]
        if not inside:
            # A foreign commune rejects the whole file, keep_valid or not: nothing is stored outside scope.
            return Refusal(f"Commune {code} ({candidates[0].name}) is outside your scope.", fatal=True)
        if len(inside) > 1:
            return Refusal(f"The code {code} names a commune in each hierarchy "
                           f"({', '.join(c.name for c in inside)}); send hierarchy=v2008 or hierarchy=v2025.")
        return inside[0]
