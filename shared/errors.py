"""RFC 9457 problem+json errors with a stable `code`, and the field that is wrong for validation."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.routing import get_route_path

from shared.context import request_id_var
from shared.metrics import DATABASE_UNAVAILABLE
from shared.outages import RETRY_AFTER_SECONDS, causes, database_unavailable

PROBLEM_TYPE_BASE = "https://chungtay.gov.vn/problems/"
log = logging.getLogger(__name__)


class Problem(Exception):
    """An error a client can act on. `code` is stable; `detail` says what happened in words."""

    def __init__(self, status: int, code: str, title: str, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or title)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.extra = extra


def not_found(what: str, key: object) -> Problem:
    return Problem(404, "not_found", f"{what} not found", f"No {what} with id {key} in your scope.")


def forbidden(detail: str, **extra: Any) -> Problem:
    return Problem(403, "forbidden", "Forbidden", detail, **extra)


def unauthorized(detail: str) -> Problem:
    return Problem(401, "unauthorized", "Unauthorized", detail)


def conflict(code: str, detail: str, **extra: Any) -> Problem:
    return Problem(409, code, "Conflict", detail, **extra)


def problem_body(status: int, code: str, title: str, detail: str | None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": PROBLEM_TYPE_BASE + code, "title": title, "status": status, "code": code}
    if detail:
        body["detail"] = detail
    request_id = request_id_var.get()
    if request_id:
        body["request_id"] = request_id
    body.update(extra)
    return body


def problem_response(status: int, code: str, title: str, detail: str | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse(
        problem_body(status, code, title, detail, **extra),
        status_code=status,
        media_type="application/problem+json",
    )


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


_STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 409: "conflict", 412: "precondition_failed",
                 413: "payload_too_large", 415: "unsupported_media_type", 428: "precondition_required"}


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.code, exc.title, exc.detail, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field_of(tuple(e["loc"])), "reason": e["msg"]} for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        return problem_response(422, "validation_error", "Invalid request", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        response = problem_response(exc.status_code, code, str(exc.detail), None)
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:
            response.headers["Allow"] = ", ".join(allowed_methods(request))
        return response

    async def _database(request: Request, exc: Exception) -> JSONResponse:
        if (invalid := _data_error(exc)) is not None:
            # A value the endpoint let through but the database cannot hold (a number out of range):
            # the request's fault, so a 400 naming the problem rather than a 500.
            # The database's own words stay in the log: they name tables and internals.
            log.warning("request value refused by the database", extra={"error": str(invalid)})
            return problem_response(400, "invalid_value", "Invalid value",
                                    "A value in the request cannot be stored (for example a number out of "
                                    "range or a NUL character).")
        if not database_unavailable(exc):
            log.error("unhandled error", exc_info=exc)
            return _internal_error()
        log.warning("database unavailable", extra={"error": repr(exc)})
        DATABASE_UNAVAILABLE.labels(_app_name(request)).inc()
        response = problem_response(503, "database_unavailable", "Service temporarily unavailable",
                                    ("The database could not be reached or dropped the connection. Try again shortly: "
                                     "a write is safe to repeat with its Idempotency-Key or If-Match."))
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    for error in (sa_exc.DBAPIError, sa_exc.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
        app.add_exception_handler(error, _database)

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, _: ClientDisconnect) -> Response:
        # A client that leaves mid-request (an upload cut off) is a normal event: nobody reads the answer.
        log.info("client disconnected before the request was read", extra={"path": request.url.path})
        return Response(status_code=499)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return _internal_error()


def _app_name(request: Request) -> str:
    """The metric label of the app answering: a service's name, or its settings' (the gateway's). No
    module name as a string here: shared/ names nothing above it (tests/platform/test_import_rules.py)."""
    state = request.app.state
    return str(getattr(state, "service_name", None) or getattr(getattr(state, "settings", None), "service_name",
                                                                "unknown"))


def allowed_methods(request: Request) -> list[str]:
    """Every method the app routes on the request's path (RFC 9110: a 405 lists them in Allow).

    Starlette names only the methods of the first route matching the path, where a path often has
    one route per method."""
    path = get_route_path(request.scope)
    allowed: set[str] = set()
    for route in iter_route_contexts(request.app.router.routes):  # through included routers
        regex = getattr(route, "path_regex", None)
        if route.methods and regex is not None and regex.match(path):
            allowed |= route.methods
    return sorted(allowed)


# The server's data exceptions (SQLSTATE class 22) and asyncpg's own refusal to encode an argument
# (a number too large for its column's type), which shares the name in a private module.
_DATA_ERRORS = (asyncpg.exceptions.DataError, asyncpg.exceptions._base.DataError)


def _data_error(error: BaseException) -> BaseException | None:
    """The data error behind `error`, if any."""
    return next((cause for cause in causes(error) if isinstance(cause, _DATA_ERRORS)), None)


def _internal_error() -> JSONResponse:
    return problem_response(500, "internal_error", "Internal error", "The error was logged with this request id.")
