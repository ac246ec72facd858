"""What the gateway checks before it forwards a request to a route, declared once, on the route.

A service route names its permission with `require(permission, units=..., ...)` (shared.http); the
service's OpenAPI document carries that declaration as the operation's `x-gateway` extension, and
the gateway builds its route table from the documents it fetches. A route without a declaration is
not forwarded (deny by default).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

EXTENSION = "x-gateway"


@dataclass(frozen=True)
class GatewayRule:
    permission: str | None  # None: any signed-in principal
    unit_params: tuple[str, ...] = ()  # path parameters holding a unit code; the others are row ids
    query_units: tuple[str, ...] = ()  # query parameters holding a unit code on this route only
    ancestors_ok: bool = False  # reads of the unit tree may name the ancestors of the caller's units
    upload: bool = False  # accepts non-JSON bodies (multipart, CSV), streamed uninspected
    timeout: float | None = None  # seconds, when the route may take longer than the default

    def to_openapi(self) -> dict[str, Any]:
        return {"permission": self.permission, "unit_params": list(self.unit_params),
                "query_units": list(self.query_units), "ancestors_ok": self.ancestors_ok,
                "upload": self.upload, "timeout": self.timeout}

    @classmethod
    def from_openapi(cls, data: dict[str, Any]) -> GatewayRule:
        timeout = data.get("timeout")
        return cls(permission=data.get("permission"), unit_params=tuple(data.get("unit_params") or ()),
                   query_units=tuple(data.get("query_units") or ()), ancestors_ok=bool(data.get("ancestors_ok")),
                   upload=bool(data.get("upload")), timeout=float(timeout) if timeout is not None else None)


def api_routes(app: FastAPI) -> Iterator[Any]:
    """Every API route of the app as served (with the prefixes of included routers)."""
    for context in routing.iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            yield context


def rule_of(route: Any) -> GatewayRule | None:
    """The rule a route's dependencies declare; a route declaring two different ones is a mistake."""
    found = {rule for rule in _rules_in(route.dependant)}
    if len(found) > 1:
        raise ValueError(f"{route.path}: more than one gateway rule declared ({found})")
    return found.pop() if found else None


def _rules_in(dependant: Dependant) -> Iterator[GatewayRule]:
    for sub in dependant.dependencies:
        rule = getattr(sub.call, "gateway_rule", None)
        if isinstance(rule, GatewayRule):
            yield rule
        yield from _rules_in(sub)


def add_rules_to_openapi(app: FastAPI, document: dict[str, Any]) -> dict[str, Any]:
    """Marks each operation of `document` with its route's rule (`x-gateway`) and permission."""
    paths = document.get("paths", {})
    for route in api_routes(app):
        if not route.include_in_schema:
            continue
        rule = rule_of(route)
        if rule is None:
            continue
        undeclared = set(route.param_convertors) - set(rule.unit_params)
        for method in route.methods:
            operation = paths.get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            operation[EXTENSION] = rule.to_openapi() | {"id_params": sorted(undeclared)}
            operation["x-permission"] = rule.permission or "any signed-in principal"
    return document
