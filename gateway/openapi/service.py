"""One OpenAPI document: the gateway's own routes plus every service route the gateway forwards,
fetched from each service's `/openapi.json` (cached a little while; a service that is down is
listed as unavailable rather than failing the document).

Only operations with a gateway rule are published, each marked with the permission it needs and the
bearer security scheme. Component schemas that two services name alike but define differently are
renamed with the service's name, and that service's references follow.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import time
from typing import Any

from gateway.proxy.forwarder import Forwarder
from gateway.proxy.rules import RouteTable
from gateway.proxy.upstream import UpstreamFailed, UpstreamTimeout

log = logging.getLogger(__name__)
METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
SECURITY: list[dict[str, list[str]]] = [{"bearer": []}]
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
               "description": "An access token from POST /auth/token"},
    "oauth2": {"type": "oauth2", "flows": {
        "password": {"tokenUrl": "/auth/token", "scopes": {}},
        "clientCredentials": {"tokenUrl": "/auth/token", "scopes": {}}}},
}


def _rename_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/components/schemas/"):
                name = value.rsplit("/", 1)[-1]
                out[key] = "#/components/schemas/" + renames.get(name, name)
            else:
                out[key] = _rename_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rename_refs(v, renames) for v in node]
    return node


def merge(gateway_spec: dict[str, Any], services: dict[str, dict[str, Any] | None],
          routes: RouteTable) -> dict[str, Any]:
    merged = copy.deepcopy(gateway_spec)
    merged.setdefault("components", {}).setdefault("schemas", {})
    merged["components"]["securitySchemes"] = SECURITY_SCHEMES
    schemas: dict[str, Any] = merged["components"]["schemas"]
    unavailable = []
    for service, spec in services.items():
        if spec is None:
            unavailable.append(service)
            continue
        theirs: dict[str, Any] = spec.get("components", {}).get("schemas", {})
        renames = {name: f"{service}__{name}" for name, schema in theirs.items()
                   if name in schemas and schemas[name] != schema}
        for name, schema in theirs.items():
            schemas[renames.get(name, name)] = _rename_refs(schema, renames)
        for path, operations in spec.get("paths", {}).items():
            for method, operation in operations.items():
                if method not in METHODS:
                    continue
                matched = routes.match(method.upper(), path)
                if matched is None or matched[0].template != path:
                    continue  # no rule: the gateway does not forward it, so it is not published
                rule = matched[0]
                operation = _rename_refs(copy.deepcopy(operation), renames)
                operation["security"] = SECURITY
                operation["x-permission"] = rule.permission or "any signed-in principal"
                operation["x-service"] = service
                operation.setdefault("tags", [service])
                responses = operation.setdefault("responses", {})
                responses.setdefault("401", {"description": "No valid access token"})
                responses.setdefault("403", {"description": "Missing permission, or a unit outside your scope"})
                merged.setdefault("paths", {}).setdefault(path, {})[method] = operation
    if unavailable:
        merged["info"]["x-unavailable-services"] = unavailable
        merged["info"]["description"] = (merged["info"].get("description", "") +
                                         f"\n\nNot reachable when this document was built: {', '.join(unavailable)}.")
    return merged


class ServiceDocuments:
    def __init__(self, forwarder: Forwarder, routes: RouteTable, services: list[str], cache_seconds: float) -> None:
        self.forwarder = forwarder
        self.routes = routes
        self.services = services
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._lock = asyncio.Lock()

    async def _fetch(self, service: str) -> dict[str, Any] | None:
        now = time.monotonic()
        cached = self._cache.get(service)
        if cached is not None and now - cached[0] < self.cache_seconds:
            return cached[1]
        spec: dict[str, Any] | None = None
        try:
            status, body = await self.forwarder.get(service, b"/openapi.json", 5.0)
            if status == 200:
                spec = json.loads(body)
        except (UpstreamFailed, UpstreamTimeout, ValueError) as exc:
            log.warning("service OpenAPI unavailable", extra={"service": service, "error": repr(exc)})
        # A failure is cached briefly too, so a down service does not slow every docs load.
        self._cache[service] = (now if spec is not None else now - self.cache_seconds + 5, spec)
        return spec

    async def document(self, gateway_spec: dict[str, Any]) -> dict[str, Any]:
        async with self._lock:
            services = dict(zip(self.services,
                                await asyncio.gather(*(self._fetch(s) for s in self.services)),
                                strict=True))
        return merge(gateway_spec, services, self.routes)
