"""A running support service on a fresh database (catalogue loaded) and its own NATS, the units of
tests/reporting/registry_events.py and a few households the registry's events made known."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from nats.js import JetStreamContext

from services.support import bootstrap
from services.support.main import create_app
from services.support.settings import SupportSettings
from shared.events import Event, unpacked
from shared.principal import Principal
from tests.kit import Stack, auth_headers, eventually, fetch, fresh_database, make_principal, running_app, service_env
from tests.reporting.conftest import connect
from tests.reporting.registry_events import COMMUNES_A, COMMUNES_B, DISTRICT_A, PROVINCE, all_unit_events, publish

A0, A1, B0 = COMMUNES_A[0], COMMUNES_A[1], COMMUNES_B[0]
OFFICER_A0 = make_principal("commune_officer", [A0], permissions=["support.read", "support.write"])
OFFICER_A1 = make_principal("commune_officer", [A1], permissions=["support.read", "support.write"])
OFFICER_B0 = make_principal("commune_officer", [B0], permissions=["support.read", "support.write"])
DISTRICT_A_OFFICER = make_principal("district_officer", [DISTRICT_A],
                                    permissions=["support.read", "support.write", "support.eligibility.override"])
OTHER_DISTRICT = make_principal("district_officer", ["v2008.24.215"],
                                permissions=["support.read", "support.write", "support.eligibility.override"])
PROVINCE_OFFICER = make_principal("province_officer", [PROVINCE], permissions=[
    "support.read", "support.write", "support.eligibility.override", "support.catalogue.write"])
OTHER_PROVINCE = make_principal("province_officer", ["v2008.27"], permissions=[
    "support.read", "support.write", "support.eligibility.override", "support.catalogue.write"])
# Officers outside commune A0 and district A's own office: they may neither read nor change what A0 or A holds.
FOREIGN = (OFFICER_A1, OFFICER_B0, OTHER_DISTRICT, OTHER_PROVINCE)


def household_event(household_id: str, unit_path: str, status: str | None, version: int = 1,
                    type_: str = "registry.household.registered", member_ids: list[str] | None = None) -> Event:
    """As the registry writes it: `member_ids` = its current members (a head of its own by default)."""
    code = unit_path.rsplit(".", 1)[-1]
    return Event(type=type_, producer="registry", subject_id=household_id, unit_code=code, unit_path=unit_path,
                 version=version, payload={"household_code": f"HH-{household_id[:6]}", "commune_code": code,
                                           "village": "Thôn 1", "member_count": 4, "ethnic_minority": False,
                                           "policy_family": False, "social_protection": False, "area": "urban",
                                           "status": status,
                                           "member_ids": member_ids if member_ids is not None
                                           else [str(uuid.uuid4())]})


def assessed(household_id: str, unit_path: str, year: int, status: str, previous: str | None, transition: str,
             version: int, deprived: list[str] | None = None) -> Event:
    code = unit_path.rsplit(".", 1)[-1]
    return Event(type="registry.household.assessed", producer="registry", subject_id=household_id, unit_code=code,
                 unit_path=unit_path, version=version, payload={
                     "household_id": household_id, "assessment_id": str(uuid.uuid4()), "review_year": year,
                     "status": status, "previous_status": previous, "transition": transition, "member_count": 4,
                     "ethnic_minority": False, "policy_family": False, "social_protection": False, "area": "urban",
                     "commune_code": code, "standard": "decree-07-2021",
                     "deprived_indicators": deprived if deprived is not None else ["employment", "nutrition"]})


@dataclass
class Support:
    app: FastAPI
    client: httpx.AsyncClient
    js: JetStreamContext
    db_url: str

    async def publish(self, events: Iterable[Event]) -> None:
        await publish(self.js, events)

    async def household(self, unit_path: str, status: str | None) -> str:
        """A household the registry registered (with this recognised status), once the read model has it."""
        household_id = str(uuid.uuid4())
        await self.publish([household_event(household_id, unit_path, status)])
        await self.wait_version(household_id, 1)
        return household_id

    async def wait_version(self, household_id: str, version: int) -> None:
        async def applied() -> bool:
            rows = await fetch(self.db_url, "SELECT version FROM sp_households WHERE id = $1", uuid.UUID(household_id))
            return bool(rows and rows[0]["version"] >= version)

        await eventually(applied)

    async def call(self, method: str, path: str, principal: Principal, **kwargs: Any) -> httpx.Response:
        headers = {**auth_headers(principal), **kwargs.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **kwargs)

    async def events(self, type_: str) -> list[dict[str, Any]]:
        rows = await fetch(self.db_url, "SELECT body FROM outbox WHERE subject = $1 ORDER BY seq", type_)
        return [orjson.loads(unpacked(r["body"])) for r in rows]  # an import's events are packed

    async def delivery_events(self) -> int:
        rows = await fetch(self.db_url, "SELECT count(*) FROM outbox WHERE subject LIKE 'support.delivery.%'")
        return int(rows[0][0])

    async def count(self, table: str) -> int:
        return int((await fetch(self.db_url, f"SELECT count(*) FROM {table}"))[0][0])


def housing_repair(household_id: str, **extra: Any) -> dict[str, Any]:
    """Seed 003: a poor household's house repaired, paid by the city's fund and the Women's Union's."""
    return {"household_id": household_id, "programme": "housing_repair", "delivered_on": "2024-05-10",
            "quantities": [{"measure": "house", "quantity": 1}], "amount_vnd": 20_000_000,
            "funding": [{"source": "vnn_fund_district", "amount_vnd": 12_000_000},
                        {"source": "hlhpn_mai_am", "amount_vnd": 8_000_000}],
            "body": "hlhpn", "document_ref": "QĐ 15/2024", **extra}


@pytest.fixture
async def support(stack: Stack, nats_url: str) -> AsyncIterator[Support]:
    db_url = await fresh_database(stack, "support")
    await bootstrap.run(db_url)
    nc, js = await connect(nats_url)
    app = create_app(SupportSettings(**service_env("support", db_url, nats_url)))
    try:
        async with running_app(app) as client:
            running = Support(app, client, js, db_url)
            await running.publish(all_unit_events())

            async def units() -> bool:
                return await running.count("sp_units") >= len(all_unit_events())

            await eventually(units)
            yield running
    finally:
        await nc.close()
