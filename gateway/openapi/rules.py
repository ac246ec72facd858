"""What the gateway reads in the services' OpenAPI documents: its route table (each operation's
`x-gateway` declaration, shared/route_rules.py) and the one public document of the platform. Pure:
documents in, tables and documents out.

Only operations under the service's own prefix (`/registry/...` for the registry) that carry a valid
declaration become rules: a route without one is neither forwarded nor published (deny by default).
In the public document each operation is marked with the permission it needs and the bearer
security scheme, and documents the problem+json answers the gateway itself may give on it.
Component schemas that two services name alike but define differently are renamed with the
service's name, and that service's references follow.
"""

from __future__ import annotations

import copy
from typing import Any

from gateway.proxy.rules import RouteTable, Rule
from shared.openapi import PROBLEM_SCHEMA, PROBLEM_SCHEMA_NAME, problem_response_doc
from shared.route_rules import EXTENSION, GatewayRule

METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
SECURITY: list[dict[str, list[str]]] = [{"bearer": []}]
# What the gateway itself may answer on any forwarded operation (gateway/proxy/pipeline.py), and on
# those that take a body.
GATEWAY_PROBLEMS = {
    400: "Malformed path, or an ambiguous request (several Content-Type or Content-Length headers, "
         "unusual Transfer-Encoding, a single-valued unit parameter given twice differently)",
    401: "No valid access token",
    403: "Missing permission, or a unit outside your scope",
    429: "Too many requests (Retry-After says when to try again)",
    502: "The service cannot be reached",
    503: "The service is unavailable, or its routes are not known yet (Retry-After)",
    504: "The service did not answer in time",
}
BODY_PROBLEMS = {413: "Request body too large", 415: "Unsupported media type: this route takes JSON"}
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
               "description": "An access token from POST /auth/token"},
    "oauth2": {"type": "oauth2", "flows": {
        "password": {"tokenUrl": "/auth/token", "scopes": {}},
        "clientCredentials": {"tokenUrl": "/auth/token", "scopes": {}}}},
}


def route_table(service: str, document: dict[str, Any]) -> tuple[RouteTable, list[str]]:
    """The rules a service's document declares, and what was left out and why (outside the
    service's prefix, or a declaration that does not read)."""
    rules: list[Rule] = []
    skipped: list[str] = []
    prefix = f"/{service}/"
    for path, operations in (document.get("paths") or {}).items():
        if not isinstance(operations, dict):
            continue
        for method, operation in operations.items():
            if method not in METHODS or not isinstance(operation, dict) or EXTENSION not in operation:
                continue
            if not path.startswith(prefix):
                skipped.append(f"{method.upper()} {path}: outside {prefix}")
                continue
            try:
                rules.append(Rule.declared(method.upper(), path, GatewayRule.from_openapi(operation[EXTENSION])))
            except (TypeError, ValueError, AttributeError) as exc:
                skipped.append(f"{method.upper()} {path}: {exc}")
    return RouteTable(rules), skipped


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


# What the gateway's own routes may answer, by path prefix: administration needs a signed-in
# administrator (401, 403), and any of them may refuse a body it cannot parse (400) or a malformed
# request (422), be rate limited (429)
# or fail (500; 503 when its database cannot be reached). /auth/token answers OAuth errors (400 and
# 401) as problems with `error` and `error_description` too.
OWN_PROBLEMS: dict[str, tuple[int, ...]] = {
    "/admin/": (400, 401, 403, 422, 429, 500, 503),
    "/auth/": (400, 401, 422, 429, 500, 503),
}


def document_own(spec: dict[str, Any]) -> dict[str, Any]:
    """The gateway's own document with its problem+json answers, in place: each operation under a
    prefix of OWN_PROBLEMS gets those, 404 when a path parameter names a record, 409 for an
    administration write (a name already used); every error answer is given the problem content."""
    spec.setdefault("components", {}).setdefault("schemas", {})[PROBLEM_SCHEMA_NAME] = PROBLEM_SCHEMA
    for path, item in spec.get("paths", {}).items():
        common = next((codes for prefix, codes in OWN_PROBLEMS.items() if path.startswith(prefix)), None)
        if common is None:
            continue
        for method, operation in item.items():
            if method not in METHODS:
                continue
            implied = [404] if "{" in path else []
            if path.startswith("/admin/") and method in ("post", "put", "patch"):
                implied.append(409)
            responses = operation.setdefault("responses", {})
            for status in (*common, *implied):
                responses.setdefault(str(status), {})
            for key, response in responses.items():
                if key.isdigit() and int(key) >= 400:
                    own = response.get("description")
                    generic = own in (None, "", "Validation Error", "Unprocessable Entity")
                    responses[key] = problem_response_doc(int(key), None if generic else own)
    schemas = spec["components"]["schemas"]
    for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422 body, answered by no route now
        schemas.pop(name, None)
    return spec


def merge(gateway_spec: dict[str, Any], services: dict[str, dict[str, Any] | None],
          tables: dict[str, RouteTable]) -> dict[str, Any]:
    """The gateway's own document plus every operation the gateway forwards. `services` maps each
    service to its document (None: not read yet, listed as unavailable)."""
    merged = copy.deepcopy(gateway_spec)
    merged.setdefault("components", {}).setdefault("schemas", {})
    merged["components"]["securitySchemes"] = SECURITY_SCHEMES
    schemas: dict[str, Any] = merged["components"]["schemas"]
    schemas.setdefault(PROBLEM_SCHEMA_NAME, PROBLEM_SCHEMA)  # the gateway's own answers refer to it
    unavailable = []
    for service, spec in services.items():
        table = tables.get(service)
        if spec is None or table is None:
            unavailable.append(service)
            continue
        theirs: dict[str, Any] = spec.get("components", {}).get("schemas", {})
        renames = {name: f"{service}__{name}" for name, schema in theirs.items()
                   if name in schemas and schemas[name] != schema}
        for name, schema in theirs.items():
            schemas[renames.get(name, name)] = _rename_refs(schema, renames)
        for path, operations in spec.get("paths", {}).items():
            for method, operation in operations.items():
                rule = table.rule(method.upper(), path) if method in METHODS else None
                if rule is None:
                    continue  # no rule: the gateway does not forward it, so it is not published
                operation = _rename_refs(copy.deepcopy(operation), renames)
                operation.pop(EXTENSION, None)
                operation["security"] = SECURITY
                operation["x-permission"] = rule.permission or "any signed-in principal"
                operation["x-service"] = service
                operation.setdefault("tags", [service])
                responses = operation.setdefault("responses", {})
                own = GATEWAY_PROBLEMS | (BODY_PROBLEMS if "requestBody" in operation else {})
                for status, description in own.items():
                    responses.setdefault(str(status), problem_response_doc(status, description))
                merged.setdefault("paths", {}).setdefault(path, {})[method] = operation
    if unavailable:
        merged["info"]["x-unavailable-services"] = unavailable
        merged["info"]["description"] = (merged["info"].get("description", "") +
                                         f"\n\nNot reachable when this document was built: {', '.join(unavailable)}.")
    return merged
