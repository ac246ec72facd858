"""Scope filtering in the data layer, problem+json errors, paging, and the request id carried into
events and logs — through a small router mounted on a real service app."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import String, func, select, text, update
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.registry.settings import RegistrySettings
from shared.app import ServiceSpec, create_service_app
from shared.db import Database, Scoped, UnscopedQueryError
from shared.errors import Problem
from shared.events import Event, record_event
from shared.http import DbSession, require
from shared.logs import JsonFormatter
from shared.pagination import Page, PageParams, page_params
from tests.kit import Stack, auth_headers, fresh_database, make_principal, running_app, service_env

COMMUNE_A = "v2008.24.213.07207"
COMMUNE_B = "v2008.24.213.07222"
OTHER_DISTRICT = "v2008.24.215.07300"
OTHER_PROVINCE = "v2008.26.250.08000"


class ProbeBase(DeclarativeBase):
    pass


class Probe(Scoped, ProbeBase):
    __tablename__ = "probe_rows"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    label: Mapped[str] = mapped_column(String)


class ProbeIn(BaseModel):
    id: str = Field(min_length=1)
    unit_path: str
    label: str = Field(min_length=2)


router = APIRouter(prefix="/registry/probes")


@router.get("", response_model=Page[dict])
async def list_probes(session: DbSession, page: PageParams = Depends(page_params)) -> Page[dict]:
    total = (await session.execute(select(func.count()).select_from(Probe))).scalar_one()
    rows = (await session.execute(select(Probe).order_by(Probe.id).limit(page.limit).offset(page.offset))).scalars()
    return Page(items=[{"id": r.id, "unit_path": r.unit_path} for r in rows], total=total,
                limit=page.limit, offset=page.offset)


@router.post("", status_code=201, dependencies=[Depends(require("registry.households.write"))])
async def create_probe(body: ProbeIn, session: DbSession) -> dict[str, str]:
    session.add(Probe(id=body.id, unit_path=body.unit_path, label=body.label))
    await session.flush()
    await record_event(session, Event(type="registry.probe.created", producer="registry", subject_id=body.id,
                                      payload={}, unit_path=body.unit_path))
    return {"id": body.id}


@router.get("/{probe_id}")
async def get_probe(probe_id: str, session: DbSession) -> dict[str, str]:
    row = await session.get(Probe, probe_id)
    if row is None:
        raise Problem(404, "not_found", "Probe not found", f"No probe {probe_id} in your scope.")
    return {"id": row.id, "label": row.label}


@pytest.fixture
async def probe_db(stack: Stack) -> AsyncIterator[str]:
    url = await fresh_database(stack, "registry")
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.run_sync(ProbeBase.metadata.create_all)
        for i, path in enumerate([COMMUNE_A, COMMUNE_A, COMMUNE_B, OTHER_DISTRICT, OTHER_PROVINCE]):
            await conn.execute(text("INSERT INTO probe_rows VALUES (:id, :label, :path)"),
                               {"id": f"p{i}", "label": "x", "path": path})
    await db.dispose()
    yield url


@pytest.fixture
async def client(probe_db: str, nats_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = RegistrySettings(**service_env("registry", probe_db, nats_url, run_background_workers=False))
    app = create_service_app(ServiceSpec(name="registry", settings=settings, routers=[router]))
    async with running_app(app) as c:
        yield c


def as_(role: str, *paths: str, perms: tuple[str, ...] = ("*",)) -> dict[str, str]:
    return auth_headers(make_principal(role, paths, perms))


@pytest.mark.parametrize(("scope", "visible"), [
    (COMMUNE_A, 2), ("v2008.24.213", 3), ("v2008.24", 4), ("v2008", 5), ("v2008.24.21", 0),
])
async def test_every_query_is_filtered_by_the_callers_scope(
    client: httpx.AsyncClient, scope: str, visible: int
) -> None:
    body = (await client.get("/registry/probes", headers=as_("officer", scope))).json()
    assert body["total"] == visible
    assert all(item["unit_path"].startswith(scope) for item in body["items"])


async def test_a_row_of_another_commune_district_or_province_is_not_found(client: httpx.AsyncClient) -> None:
    commune_b_officer = as_("commune_officer", COMMUNE_B)
    assert (await client.get("/registry/probes/p2", headers=commune_b_officer)).status_code == 200
    for foreign in ("p0", "p3", "p4"):  # same district other commune, other district, other province
        response = await client.get(f"/registry/probes/{foreign}", headers=commune_b_officer)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


async def test_writing_a_row_outside_scope_is_refused_and_stores_nothing(client: httpx.AsyncClient,
                                                                         probe_db: str) -> None:
    officer = as_("commune_officer", COMMUNE_A)
    refused = await client.post("/registry/probes", json={"id": "new", "unit_path": OTHER_DISTRICT, "label": "xx"},
                                headers=officer)
    assert refused.status_code == 403
    assert refused.json()["unit"] == OTHER_DISTRICT
    db = Database(probe_db)
    async with db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM probe_rows WHERE id = 'new'"))).scalar() == 0
        assert (await conn.execute(text("SELECT count(*) FROM outbox"))).scalar() == 0
    await db.dispose()


async def test_missing_permission_is_refused(client: httpx.AsyncClient) -> None:
    viewer = as_("viewer", COMMUNE_A, perms=("registry.households.read",))
    response = await client.post("/registry/probes", json={"id": "v", "unit_path": COMMUNE_A, "label": "xx"},
                                 headers=viewer)
    assert response.status_code == 403
    assert response.json()["permission"] == "registry.households.write"


async def test_validation_errors_name_the_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/registry/probes", json={"id": "", "unit_path": COMMUNE_A, "label": "x"},
                                 headers=as_("officer", COMMUNE_A))
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert {e["field"] for e in problem["errors"]} == {"id", "label"}


async def test_paging_returns_the_requested_window(client: httpx.AsyncClient) -> None:
    body = (await client.get("/registry/probes?limit=2&offset=1", headers=as_("officer", "v2008"))).json()
    assert [i["id"] for i in body["items"]] == ["p1", "p2"]
    assert (body["total"], body["limit"], body["offset"]) == (5, 2, 1)
    bad = await client.get("/registry/probes?limit=0", headers=as_("officer", "v2008"))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "limit"


async def test_request_id_travels_from_http_into_the_event(client: httpx.AsyncClient, probe_db: str) -> None:
    request_id = f"req-{uuid.uuid4()}"
    created = await client.post("/registry/probes", json={"id": "traced", "unit_path": COMMUNE_A, "label": "xx"},
                                headers=as_("officer", COMMUNE_A) | {"x-request-id": request_id})
    assert created.status_code == 201
    assert created.headers["x-request-id"] == request_id
    db = Database(probe_db)
    async with db.engine.connect() as conn:
        body = (await conn.execute(text("SELECT body FROM outbox"))).scalar_one()
    await db.dispose()
    assert orjson.loads(body)["correlation_id"] == request_id


async def test_unscoped_session_cannot_query_scoped_rows_by_accident(probe_db: str) -> None:
    db = Database(probe_db)
    with pytest.raises(UnscopedQueryError):
        async with db.session() as session:
            await session.execute(select(Probe))
    with pytest.raises(UnscopedQueryError):
        async with db.session() as session:
            await session.execute(update(Probe).values(label="changed"))
    async with db.system_session() as session:  # on purpose: consumers and jobs
        assert len((await session.execute(select(Probe))).scalars().all()) == 5
    async with db.session(make_principal("officer", [COMMUNE_A])) as session:
        await session.execute(update(Probe).values(label="changed"))
    async with db.engine.connect() as conn:
        changed = (await conn.execute(text("SELECT count(*) FROM probe_rows WHERE label = 'changed'"))).scalar()
    await db.dispose()
    assert changed == 2  # the bulk update touched only the commune's own rows


def test_json_logs_carry_the_request_id() -> None:
    from shared.context import request_id_var

    token = request_id_var.set("req-42")
    try:
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "household %s saved", ("h1",), None)
        record.household_id = "h1"
        line = orjson.loads(JsonFormatter("registry").format(record))
    finally:
        request_id_var.reset(token)
    assert line["msg"] == "household h1 saved"
    assert line["request_id"] == "req-42"
    assert line["service"] == "registry"
    assert line["household_id"] == "h1"


async def test_raw_sql_on_a_scoped_table_in_a_callers_session_must_say_it_applies_the_scope(probe_db: str) -> None:
    """Raw SQL is not filtered: naming a scoped table in it from a caller's session fails loudly unless
    the code marks that it filters by scope itself (a forgotten filter would leak other units' rows)."""
    db = Database(probe_db)
    officer = make_principal("officer", [COMMUNE_A])
    try:
        with pytest.raises(UnscopedQueryError, match="probe_rows"):
            async with db.session(officer) as session:
                await session.execute(text("SELECT count(*) FROM probe_rows"))
        async with db.session(officer) as session:
            own = (await session.execute(
                text("SELECT count(*) FROM probe_rows WHERE unit_path = :path").execution_options(skip_scope=True),
                {"path": COMMUNE_A})).scalar_one()
            assert own == 2
            outbox = (await session.execute(text("SELECT count(*) FROM outbox"))).scalar_one()  # not scoped: runs
        async with db.system_session() as session:  # consumers and jobs see everything on purpose
            assert (await session.execute(text("SELECT count(*) FROM probe_rows"))).scalar_one() == 5
            assert (await session.execute(text("SELECT count(*) FROM outbox"))).scalar_one() == outbox
    finally:
        await db.dispose()
