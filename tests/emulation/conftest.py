"""A running emulation service on a fresh database and its own NATS, with a small unit tree loaded
into its units read model (what `registry.unit.changed` events fill), and callers of every level."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from services.emulation.main import create_app
from services.emulation.settings import EmulationSettings
from shared.db import asyncpg_dsn
from shared.permissions import ROLE_PERMISSIONS
from shared.principal import Principal
from tests.kit import Stack, auth_headers, fresh_database, make_principal, running_app, service_env
from tests.reporting.conftest import connect

PROVINCE, DISTRICT, COMMUNE, NEIGHBOUR = "v2008.24", "v2008.24.213", "v2008.24.213.07207", "v2008.24.213.07222"
OTHER_DISTRICT, OTHER_DISTRICT_COMMUNE = "v2008.24.215", "v2008.24.215.07243"
OTHER_PROVINCE, FAR_COMMUNE = "v2008.25", "v2008.25.227.07888"
NEW_PROVINCE, NEW_COMMUNE = "v2025.24", "v2025.24.07210"
UNITS = [  # path, name, level, parent
    ("v2008.24", "Tỉnh Bắc Giang", "province", None),
    ("v2008.24.213", "Thành phố Bắc Giang", "district", "v2008.24"),
    ("v2008.24.213.07207", "Phường Ngô Quyền", "commune", "v2008.24.213"),
    ("v2008.24.213.07222", "Phường Hoàng Văn Thụ", "commune", "v2008.24.213"),
    ("v2008.24.213.07231", "Xã Đồng Sơn", "commune", "v2008.24.213"),
    ("v2008.24.215", "Huyện Yên Thế", "district", "v2008.24"),
    ("v2008.24.215.07243", "Xã Đồng Tiến", "commune", "v2008.24.215"),
    ("v2008.25", "Tỉnh Phú Thọ", "province", None),
    ("v2008.25.227", "Thành phố Việt Trì", "district", "v2008.25"),
    ("v2008.25.227.07888", "Phường Tiên Cát", "commune", "v2008.25.227"),
    ("v2025.24", "Tỉnh Bắc Ninh", "province", None),
    ("v2025.24.07210", "Phường Bắc Giang", "commune", "v2025.24"),
]

def principal(role: str, paths: list[str]) -> Principal:
    """A caller holding exactly its role's permissions (shared/permissions.py)."""
    return make_principal(role, paths, permissions=ROLE_PERMISSIONS[role])


PROVINCE_OFFICER = principal("province_officer", [PROVINCE])
PROVINCE_BOARD = principal("emulation_board", [PROVINCE])
DISTRICT_OFFICER = principal("district_officer", [DISTRICT])
COMMUNE_OFFICER = principal("commune_officer", [COMMUNE])
NEIGHBOUR_OFFICER = principal("commune_officer", [NEIGHBOUR])
OTHER_DISTRICT_OFFICER = principal("district_officer", [OTHER_DISTRICT])
OTHER_PROVINCE_OFFICER = principal("province_officer", [OTHER_PROVINCE])
NEW_COMMUNE_OFFICER = principal("commune_officer", [NEW_COMMUNE])
# Callers of other communes, districts and provinces: none may read or change a row of COMMUNE.
FOREIGN = (NEIGHBOUR_OFFICER, OTHER_DISTRICT_OFFICER, OTHER_PROVINCE_OFFICER)


async def load_units(db_url: str, units: list[tuple[str, str, str, str | None]] = UNITS) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        await conn.executemany(
            "INSERT INTO em_units (path, hierarchy, code, name, level, parent_path, version) "
            "VALUES ($1, $2, $3, $4, $5, $6, 1)",
            [(p, p.split(".")[0], p.rsplit(".", 1)[-1], n, lvl, parent) for p, n, lvl, parent in units])
    finally:
        await conn.close()


@dataclass
class Emulation:
    app: FastAPI
    client: httpx.AsyncClient
    js: JetStreamContext
    db_url: str

    async def get(self, path: str, principal: Principal, **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params, headers=auth_headers(principal))

    async def post(self, path: str, principal: Principal, body: Any = None, **headers: str) -> httpx.Response:
        return await self.client.post(path, json=body, headers=auth_headers(principal) | headers)

    async def patch(self, path: str, principal: Principal, body: Any, **headers: str) -> httpx.Response:
        return await self.client.patch(path, json=body, headers=auth_headers(principal) | headers)

    async def delete(self, path: str, principal: Principal) -> httpx.Response:
        return await self.client.delete(path, headers=auth_headers(principal))


@asynccontextmanager
async def emulation_service(stack: Stack, nats_url: str, **settings: Any) -> AsyncIterator[Emulation]:
    """The service on a fresh database with the unit tree; `settings` override EmulationSettings."""
    db_url = await fresh_database(stack, "emulation")
    await load_units(db_url)
    nc: NATS
    nc, js = await connect(nats_url)
    app = create_app(EmulationSettings(**service_env("emulation", db_url, nats_url, **settings)))
    try:
        async with running_app(app) as client:
            yield Emulation(app, client, js, db_url)
    finally:
        await nc.close()


@pytest.fixture
async def emulation(stack: Stack, nats_url: str) -> AsyncIterator[Emulation]:
    async with emulation_service(stack, nats_url) as running:
        yield running


def movement_body(**changes: Any) -> dict[str, Any]:
    """Seed 001: directive 05/CT-UBND of Bắc Giang launching the movement for 2017–2020."""
    return {"unit": "24", "hierarchy": "v2008",
            "name": "Bắc Giang chung tay vì người nghèo - Không để ai bị bỏ lại phía sau",
            "issuing_body": "UBND tỉnh Bắc Giang", "starts_on": "2017-09-27", "ends_on": "2020-12-31",
            "objectives": ["Giảm tỷ lệ hộ nghèo bình quân hàng năm từ 2-3%"],
            "phases": [{"kind": "launch", "held_on": "2017-09-27"},
                       {"kind": "midterm_review", "starts_on": "2019-01-01", "ends_on": "2019-03-31"},
                       {"kind": "final_review", "starts_on": "2020-10-01", "ends_on": "2020-12-31"}],
            "document": {"doc_type": "directive", "number": "05 /CT - UBND", "issued_on": "2017-09-27",
                         "summary": "Phát động phong trào thi đua", "signer": "Chủ tịch UBND tỉnh"}} | changes


async def launched(emulation: Emulation, **changes: Any) -> dict[str, Any]:
    response = await emulation.post("/emulation/movements", PROVINCE_OFFICER, movement_body(**changes))
    assert response.status_code == 201, response.text
    return dict(response.json())
