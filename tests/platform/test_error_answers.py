"""A value the database cannot hold is the request's fault: a 400 problem naming it, never a 500, and never
with the database's own words; a NUL character is refused before any query; a client leaving mid-request
is a normal event."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy import text

from shared.db import Database
from shared.errors import install_problem_handlers
from shared.http import NulGuardMiddleware
from tests.kit import Stack, fresh_database


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    db = Database(await fresh_database(stack, "support"))
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(NulGuardMiddleware)

    @app.get("/as-integer")
    async def as_integer(n: int) -> dict[str, int]:  # asyncpg refuses to send the number as an int4
        async with db.system_session() as session:
            return {"n": (await session.execute(text("SELECT CAST(:n AS integer)"), {"n": n})).scalar_one()}

    @app.get("/text")
    async def echo_text(status: str = "", name: str = "") -> dict[str, str]:  # PostgreSQL refuses NUL in text
        async with db.system_session() as session:
            value = (await session.execute(text("SELECT CAST(:s AS text)"), {"s": status + name})).scalar_one()
            return {"text": value}

    @app.get("/narrowed")
    async def narrowed(n: int) -> dict[str, int]:  # PostgreSQL refuses to narrow it (SQLSTATE 22003)
        async with db.system_session() as session:
            value = (await session.execute(text("SELECT CAST(CAST(:n AS bigint) AS integer)"), {"n": n})).scalar_one()
            return {"n": value}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield http
    await db.dispose()


@pytest.mark.parametrize("path", ["/as-integer", "/narrowed"])
async def test_a_number_out_of_the_columns_range_is_refused_with_400(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path, params={"n": 7})).json() == {"n": 7}
    refused = await client.get(path, params={"n": 2**40})
    assert refused.status_code == 400, refused.text
    body = refused.json()
    assert body["code"] == "invalid_value" and "range" in body["detail"]
    assert "integer" not in body["detail"] and "asyncpg" not in body["detail"]  # no database text
    assert refused.headers["content-type"] == "application/problem+json"


async def test_a_nul_character_is_a_validation_error_naming_the_parameter_before_any_query(
        client: httpx.AsyncClient) -> None:
    assert (await client.get("/text", params={"status": "ok"})).json() == {"text": "ok"}
    for params in ({"status": "\x00"}, {"status": "a", "name": "b\x00c"}):
        refused = await client.get("/text", params=params)
        assert refused.status_code == 422, refused.text
        body = refused.json()
        assert body["code"] == "validation_error" and refused.headers["content-type"] == "application/problem+json"
        [field] = [k for k, v in params.items() if "\x00" in v]
        assert body["errors"] == [{"field": field, "reason": "must not contain NUL characters"}]
        assert "PostgreSQL" not in body["detail"] and "0x00" not in body["detail"]
    assert (await client.get("/text%00")).status_code == 422
    assert (await client.get("/text", params={"status": "fine"})).json() == {"text": "fine"}


async def test_a_client_leaving_mid_request_is_logged_as_such_not_as_an_error(
        caplog: pytest.LogCaptureFixture) -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    messages = iter([{"type": "http.request", "body": b"part", "more_body": True}, {"type": "http.disconnect"}])
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return next(messages)

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/upload", "raw_path": b"/upload", "query_string": b"", "root_path": "",
             "headers": [(b"content-type", b"text/csv"), (b"content-length", b"100")],
             "client": ("198.51.100.7", 50000), "server": ("test", 80)}
    with caplog.at_level(logging.INFO):
        await app(scope, receive, send)  # type: ignore[arg-type]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], [r.getMessage() for r in caplog.records]
    assert any("client disconnected" in r.getMessage() for r in caplog.records)
