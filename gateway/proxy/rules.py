"""Deny-by-default route policy and the unit-scope check.

Every proxied request must match a `Rule` (method + path template) or it is refused. The rule names
the permission, which path parameters are unit codes, and what else the route allows. Unit codes
are then looked for everywhere a client can put them — path, query and JSON body, at any depth —
and each one must resolve, through the unit directory, to a unit inside the principal's scope.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from gateway.directory.service import UnitDirectory
from shared.principal import Principal
from shared.scope import HIERARCHIES, path_in_any, path_within

# Query and body fields that name a unit on every route (values: a code, a path, or a list of them).
UNIT_FIELDS = frozenset({
    "unit", "units", "unit_code", "unit_codes", "unit_path", "unit_paths", "commune_code", "commune_codes",
    "district_code", "district_codes", "province_code", "province_codes", "parent", "parent_code",
    "parent_path",
})
HIERARCHY_FIELD = "hierarchy"


@dataclass(frozen=True)
class Rule:
    method: str
    template: str
    permission: str | None  # None: any signed-in principal
    unit_params: tuple[str, ...] = ()  # path parameters holding a unit code
    id_params: tuple[str, ...] = ()  # other path parameters: ids the service filters by scope
    query_units: tuple[str, ...] = ()  # query parameters holding a unit code on this route only
    ancestors_ok: bool = False  # directory reads may name the ancestors of the scope units
    upload: bool = False  # accepts non-JSON bodies (multipart, CSV), streamed uninspected
    timeout: float | None = None
    segments: tuple[str | None, ...] = field(init=False, repr=False, compare=False)
    names: tuple[str | None, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = self.template.strip("/").split("/")
        names = tuple(p[1:-1] if p.startswith("{") and p.endswith("}") else None for p in parts)
        object.__setattr__(self, "segments", tuple(None if n else p for p, n in zip(parts, names, strict=True)))
        object.__setattr__(self, "names", names)
        declared = set(self.unit_params) | set(self.id_params)
        missing = {n for n in names if n} - declared
        if missing:
            raise ValueError(f"{self.method} {self.template}: path parameters {sorted(missing)} must be "
                             "declared as unit_params or id_params")

    @property
    def specificity(self) -> tuple[int, ...]:
        return tuple(0 if s is not None else 1 for s in self.segments)


class RouteTable:
    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = list(rules)
        self._index: dict[tuple[str, int], list[Rule]] = {}
        for rule in sorted(self.rules, key=lambda r: r.specificity):
            self._index.setdefault((rule.method, len(rule.segments)), []).append(rule)
            if rule.method == "GET":
                self._index.setdefault(("HEAD", len(rule.segments)), []).append(rule)

    def match(self, method: str, path: str) -> tuple[Rule, dict[str, str]] | None:
        parts = path.strip("/").split("/")
        for rule in self._index.get((method, len(parts)), ()):
            if all(s is None or s == p for s, p in zip(rule.segments, parts, strict=True)):
                return rule, {n: p for n, p in zip(rule.names, parts, strict=True) if n}
        return None

    def allows_path(self, path: str) -> bool:
        """Whether some method is routed at this path (to answer 405 rather than 404)."""
        parts = path.strip("/").split("/")
        return any(
            all(s is None or s == p for s, p in zip(rule.segments, parts, strict=True))
            for rule in self.rules if len(rule.segments) == len(parts)
        )


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    title: str
    detail: str
    extra: dict[str, Any] = field(default_factory=dict)


class BodyError(ValueError):
    pass


# ---- finding unit names in a request --------------------------------------------------------

def _values(value: Any) -> Iterator[str]:
    """The unit names a field value holds: a string (comma-separated allowed), numbers, or lists."""
    if isinstance(value, str):
        for part in value.split(","):
            part = part.strip()
            if part:
                yield part
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | float):
        yield str(value)
    elif isinstance(value, list):
        for item in value:
            if not isinstance(item, _Obj):
                yield from _values(item)


class _Obj(list):
    """A JSON object as its (key, value) pairs: duplicate keys are all kept, and all checked."""


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body, object_pairs_hook=_Obj)
    except (ValueError, RecursionError) as exc:
        raise BodyError(f"The JSON body cannot be parsed: {exc}") from exc


def units_in_json(document: Any, hierarchy: str | None) -> Iterator[tuple[str, str | None]]:
    """Every (unit name, hierarchy) in a parsed body, at any depth. A `hierarchy` field in an object
    applies to the unit fields of that object and below."""
    stack: list[tuple[Any, str | None]] = [(document, hierarchy)]
    while stack:
        node, current = stack.pop()
        if isinstance(node, _Obj):
            local = current
            for key, value in node:
                if key == HIERARCHY_FIELD and isinstance(value, str) and value in HIERARCHIES:
                    local = value
            for key, value in node:
                if key in UNIT_FIELDS:
                    for name in _values(value):
                        yield name, local
                if isinstance(value, _Obj | list):
                    stack.append((value, local))
        elif isinstance(node, list):
            stack.extend((item, current) for item in node if isinstance(item, _Obj | list))


def query_pairs(query_string: bytes) -> list[tuple[str, str]]:
    # Exactly as Starlette parses it, so the gateway checks what the service will read.
    return parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)


def units_in_query(pairs: list[tuple[str, str]], extra: tuple[str, ...]) -> tuple[list[str], str | None]:
    hierarchy = None
    names: list[str] = []
    for key, value in pairs:
        if key == HIERARCHY_FIELD:
            hierarchy = value
        elif key in UNIT_FIELDS or key in extra:
            names.extend(_values(value))
    return names, hierarchy if hierarchy in HIERARCHIES else None


# ---- the check ---------------------------------------------------------------------------------

def unit_refusal(directory: UnitDirectory, principal: Principal, name: str, hierarchy: str | None,
                 ancestors_ok: bool) -> Refusal | None:
    """None when the unit is inside the principal's scope; otherwise why not.

    A code found in both hierarchies passes when one of its units is in scope: the service then
    resolves it in the caller's own hierarchy (and filters by scope again).
    """
    units = directory.resolve(name, hierarchy)
    if not units:
        return Refusal(403, "unknown_unit", "Unknown administrative unit",
                       f"The unit '{name}' is not in the unit directory{_in(hierarchy)}; "
                       "requests naming unknown units are refused.", {"unit": name})
    scope = principal.scope_paths
    for unit in units:
        if path_in_any(unit.path, scope):
            return None
        if ancestors_ok and any(path_within(s, unit.path) for s in scope):
            return None
    return Refusal(403, "unit_out_of_scope", "Unit outside your scope",
                   f"The unit '{name}'{_in(hierarchy)} is outside your scope.",
                   {"unit": name, "units": [u.path for u in units]})


def _in(hierarchy: str | None) -> str:
    return f" (hierarchy {hierarchy})" if hierarchy else ""


def check_units(directory: UnitDirectory, principal: Principal, names: Iterable[tuple[str, str | None]],
                ancestors_ok: bool) -> Refusal | None:
    seen: set[tuple[str, str | None]] = set()
    for name, hierarchy in names:
        if (name, hierarchy) in seen:
            continue
        seen.add((name, hierarchy))
        refusal = unit_refusal(directory, principal, name, hierarchy, ancestors_ok)
        if refusal is not None:
            return refusal
    return None
