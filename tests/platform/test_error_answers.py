"""A value the database cannot hold is the request's fault: a 400 problem naming it, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from shared.db import Database
from shared.errors import install_problem_handlers
from tests.kit import Stack, fresh_database


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    db = Database(await fresh_database(stack, "support"))
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/as-integer")
    async def as_integer(n: int) -> dict[str, int]:  # asyncpg refuses to send the number as an int4
        async with db.system_session() as session:
            return {"n": (await session.execute(text("SELECT CAST(:n AS integer)"), {"n": n})).scalar_one()}

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
    assert refused.headers["content-type"] == "application/problem+json"
