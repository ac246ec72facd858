"""Deny-by-default route policy and the unit-scope check: pure rules, no I/O.

Every proxied request must match a `Rule` (method + path template, built from the `x-gateway`
declaration the service publishes for the route) or it is refused. The rule names the permission,
which path parameters are unit codes, and what else the route allows. Unit codes are then looked for
everywhere a client can put them — path, query and JSON body, at any depth — and each one must
resolve, through the unit directory, to a unit inside the principal's scope.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from gateway.directory.service import UnitDirectory
from shared.principal import Principal
from shared.route_rules import GatewayRule
from shared.scope import HIERARCHIES, path_in_any, path_within

# Query and body fields that name a unit on every route (values: a code, a path, or a list of them).
UNIT_FIELDS = frozenset({
    "unit", "units", "unit_code", "unit_codes", "unit_path", "unit_paths", "commune_code", "commune_codes",
    "district_code", "district_codes", "province_code", "province_codes", "parent", "parent_code",
    "parent_path",
})
HIERARCHY_FIELD = "hierarchy"


class Refusal(Exception):
    """Why a request is not forwarded: a problem+json answer (`extra` goes into its body)."""

    def __init__(self, status: int, code: str, title: str, detail: str,
                 headers: list[tuple[bytes, bytes]] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.headers = headers or []
        self.extra = extra


def ambiguous(detail: str) -> Refusal:
    """The gateway and the service could read this request differently: it is not forwarded."""
    return Refusal(400, "ambiguous_request", "Ambiguous request", detail)


@dataclass(frozen=True)
class Rule:
    method: str
    template: str
    permission: str | None  # None: any signed-in principal
    unit_params: tuple[str, ...] = ()  # path parameters holding a unit code; the others are row ids
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
        unknown = set(self.unit_params) - {n for n in names if n}
        if unknown:
            raise ValueError(f"{self.method} {self.template}: unit parameters {sorted(unknown)} are not in the path")

    @classmethod
    def declared(cls, method: str, template: str, rule: GatewayRule) -> Rule:
        return cls(method, template, rule.permission, rule.unit_params, rule.query_units, rule.ancestors_ok,
                   rule.upload, rule.timeout)

    @property
    def id_params(self) -> tuple[str, ...]:
        """Path parameters that are row ids: the service filters them by scope."""
        return tuple(n for n in self.names if n and n not in self.unit_params)

    @property
    def specificity(self) -> tuple[int, ...]:
        return tuple(0 if s is not None else 1 for s in self.segments)

    def fits(self, parts: list[str]) -> bool:
        return all(s is None or s == p for s, p in zip(self.segments, parts, strict=True))


class RouteTable:
    """The rules of one service, looked up in memory on every request."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = list(rules)
        self._index: dict[tuple[str, int], list[Rule]] = {}
        self._by_length: dict[int, list[Rule]] = {}
        for rule in sorted(self.rules, key=lambda r: r.specificity):
            self._index.setdefault((rule.method, len(rule.segments)), []).append(rule)
            if rule.method == "GET":
                self._index.setdefault(("HEAD", len(rule.segments)), []).append(rule)
            self._by_length.setdefault(len(rule.segments), []).append(rule)

    def __len__(self) -> int:
        return len(self.rules)

    def match(self, method: str, path: str) -> tuple[Rule, dict[str, str]] | None:
        parts = path.strip("/").split("/")
        for rule in self._index.get((method, len(parts)), ()):
            if rule.fits(parts):
                return rule, {n: p for n, p in zip(rule.names, parts, strict=True) if n}
        return None

    def allowed_methods(self, path: str) -> list[str]:
        """The methods routed at this path (HEAD wherever GET is), for a 405's `Allow`; empty: no route."""
        parts = path.strip("/").split("/")
        methods = {rule.method for rule in self._by_length.get(len(parts), ()) if rule.fits(parts)}
        if "GET" in methods:
            methods.add("HEAD")
        return sorted(methods)

    def rule(self, method: str, template: str) -> Rule | None:
        """The rule declared for exactly this operation."""
        return next((r for r in self.rules if r.method == method and r.template == template), None)


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


_FORM_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$'()*,;:@/?+=&%")
_HEX = frozenset(b"0123456789abcdefABCDEF")


def form_pairs(body: bytes) -> list[tuple[str, str]]:
    """An urlencoded form's fields, as Starlette reads them; BodyError unless it is well formed
    (printable ASCII, every `%` followed by two hex digits, UTF-8 underneath)."""
    if not _FORM_BYTES.issuperset(body):
        raise BodyError("The form body holds characters a urlencoded form cannot hold.")
    at = body.find(b"%")
    while at != -1:
        if len(body) < at + 3 or body[at + 1] not in _HEX or body[at + 2] not in _HEX:
            raise BodyError(f"The form body has a broken percent escape at byte {at}.")
        at = body.find(b"%", at + 3)
    try:
        return parse_qsl(body.decode("ascii"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError as exc:
        raise BodyError("The form body's escaped text is not UTF-8.") from exc


def _singular(name: str) -> bool:
    """A field that holds one value (`unit`, `commune_code`): a list field's name ends in `s`."""
    return not name.endswith("s")


def units_in_query(pairs: list[tuple[str, str]], extra: tuple[str, ...]) -> tuple[list[str], str | None]:
    """The unit names of a query (or form) and its hierarchy. A single-valued unit field or the
    hierarchy given twice with different values is ambiguous (the service reads only one of them)."""
    hierarchy = None
    names: list[str] = []
    seen: dict[str, str] = {}
    for key, value in pairs:
        single = key == HIERARCHY_FIELD or ((key in UNIT_FIELDS or key in extra) and _singular(key))
        if single and seen.setdefault(key, value) != value:
            raise ambiguous(f"The parameter '{key}' is given more than once with different values.")
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
                       "requests naming unknown units are refused.", unit=name)
    scope = principal.scope_paths
    for unit in units:
        if path_in_any(unit.path, scope):
            return None
        if ancestors_ok and any(path_within(s, unit.path) for s in scope):
            return None
    return Refusal(403, "unit_out_of_scope", "Unit outside your scope",
                   f"The unit '{name}'{_in(hierarchy)} is outside your scope.",
                   unit=name, units=[u.path for u in units])


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
