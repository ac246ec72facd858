"""A service's OpenAPI document, telling the truth about its error answers.

Every error a service answers is RFC 9457 problem+json (shared/errors.py). The document says so:
one `Problem` schema component, and on every operation behind the gateway the answers any such
route can give — 401 (no valid principal), 403 (permission or scope), 422 (validation), 500 and
503 (database unavailable). A route adds its own with `responses=problems(...)`:

    @router.patch("/{household_id}", responses=problems(404, 409, 412, 428))

Any error answer a route declares otherwise (`responses={409: {"description": "..."}}`) is given the
problem+json content too. The gateway merges these documents and can document its own answers with
`document_problems(document, statuses)`.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from shared.route_rules import EXTENSION, add_rules_to_openapi

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_SCHEMA_NAME = "Problem"
PROBLEM_REF = f"#/components/schemas/{PROBLEM_SCHEMA_NAME}"

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": PROBLEM_SCHEMA_NAME,
    "type": "object",
    "description": "RFC 9457 problem details. `code` is stable and meant for programs; `detail` says what "
                   "happened in words; other members carry what the problem is about (e.g. `permission`, "
                   "`unit`, `current_version`).",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string", "description": "URI naming the problem type"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "code": {"type": "string", "description": "stable machine-readable code, e.g. `not_found`"},
        "detail": {"type": "string"},
        "request_id": {"type": "string", "description": "the request's X-Request-ID, as logged"},
        "errors": {
            "type": "array",
            "description": "validation problems: each wrong field (or, for a file, row and column) and why",
            "items": {
                "type": "object",
                "required": ["reason"],
                "properties": {"field": {"type": "string"}, "row": {"type": ["integer", "null"]},
                               "column": {"type": ["string", "null"]}, "reason": {"type": "string"}},
            },
        },
    },
    "additionalProperties": True,
}

DESCRIPTIONS: dict[int, str] = {
    400: "Bad request: the request cannot be read as sent (e.g. a malformed Idempotency-Key, "
         "`invalid_idempotency_key`)",
    401: "No valid principal: the request did not come through the gateway, or the caller's token is "
         "missing, expired or revoked",
    403: "The caller's role lacks the route's permission, or a unit the request names is outside the "
         "caller's scope",
    404: "Not found in the caller's scope (a row of another unit is not revealed)",
    405: "Method not allowed on this path (the Allow header lists those that are)",
    409: "Conflict with the current state of the data",
    410: "Gone",
    412: "Precondition failed: If-Match does not match the record's current ETag; read it again",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Validation failed: `errors` names each wrong field and the reason",
    428: "Precondition required: send If-Match with the ETag of the record you read",
    429: "Too many requests (Retry-After says when to try again)",
    500: "Internal error, logged with the request id",
    502: "An upstream service could not be reached",
    503: "Temporarily unavailable (the database could not be reached): retry after Retry-After; a write "
         "is safe to repeat with its Idempotency-Key or If-Match",
    504: "An upstream service did not answer in time",
}

# What any route behind the gateway (a route declaring `require(...)`) may answer, whatever it does.
COMMON_PROBLEMS = (401, 403, 422, 500, 503)


def problem_response_doc(status: int, description: str | None = None) -> dict[str, Any]:
    return {"description": description or DESCRIPTIONS.get(status, "Error"),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}}}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route's own error answers: `problems(404, 409, 412, 428)`. For the route's
    own wording of one: `responses={**problems(404), 409: {"description": "Code already in use"}}`."""
    return {status: problem_response_doc(status) for status in statuses}


def file_answer(*media_types: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route that answers a file (a template, an export) in these media types."""
    return {200: {"description": "The file", "content": {
        m: {"schema": {"type": "string", "format": "binary"}} for m in media_types}}}


def document_problems(document: dict[str, Any], common: tuple[int, ...] = COMMON_PROBLEMS,
                      only_marked: bool = True) -> dict[str, Any]:
    """Adds the `Problem` component and documents problem+json answers in `document`, in place.

    Every operation gets `common` (only those carrying `x-gateway` when `only_marked`: /health and
    /metrics answer no problem) and what its parameters imply (`_implied`: 404 with a path parameter,
    412 with If-Match), and every error answer already listed — FastAPI's own 422 included —
    is given the problem+json content."""
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components[PROBLEM_SCHEMA_NAME] = PROBLEM_SCHEMA
    for path_item in document.get("paths", {}).values():
        for method, operation in path_item.items():
            if method == "parameters" or not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            if not only_marked or EXTENSION in operation:
                for status in (*common, *_implied(operation)):
                    responses.setdefault(str(status), {})
            for key, response in responses.items():
                if key.isdigit() and int(key) >= 400:
                    responses[key] = problem_response_doc(int(key), _own_description(int(key), response))
    _drop_unused_validation_schemas(document)
    return document


def _implied(operation: dict[str, Any]) -> tuple[int, ...]:
    """What a route's parameters imply it may answer: a path parameter names a record or a unit, which
    may not exist in the caller's scope (404); an `If-Match` header may name another version (412); an
    `Idempotency-Key` header (`shared.idempotency.IdempotencyKey`) may be malformed (400)."""
    places = {(p.get("in"), str(p.get("name", "")).lower()) for p in operation.get("parameters", [])}
    implied = [404] if any(where == "path" for where, _ in places) else []
    if ("header", "if-match") in places:
        implied.append(412)
    if ("header", "idempotency-key") in places:
        implied.append(400)
    return tuple(implied)


def _own_description(status: int, response: dict[str, Any]) -> str | None:
    """The route's own wording of an answer, unless it is FastAPI's generic one."""
    description = response.get("description")
    return None if description in (None, "", "Validation Error", "Unprocessable Entity") else str(description)


def _drop_unused_validation_schemas(document: dict[str, Any]) -> None:
    """FastAPI's HTTPValidationError (and the ValidationError it holds) describe a body no route
    answers once its 422s are problems."""
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        others = {k: v for k, v in schemas.items() if k != name}
        if name in schemas and f'"#/components/schemas/{name}"' not in json.dumps([document.get("paths"), others]):
            schemas.pop(name)


def publish_openapi(app: FastAPI) -> None:
    """The app's OpenAPI document carries each route's gateway rule (`x-gateway`, which the gateway
    builds its route table from) and its problem+json answers."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description,
                                   routes=app.routes)
            app.openapi_schema = document_problems(add_rules_to_openapi(app, document))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
