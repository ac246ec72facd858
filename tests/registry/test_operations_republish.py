"""`python -m services.registry.operations.republish`: households support knew only from events written
before the registry told indicators, members and codes get them from the re-announced current state,
through the registry's real relay, NATS and support's real consumer — scoped by unit, and safe to run
twice (nothing else changes: statuses, versions)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from devstack.sample_households import import_file
from services.registry.main import create_app as create_registry
from services.registry.operations.republish import RepublishError, republish
from services.registry.settings import RegistrySettings
from services.support import bootstrap
from services.support.main import create_app as create_support
from services.support.settings import SupportSettings
from shared.permissions import ROLE_PERMISSIONS
from tests.kit import Stack, auth_headers, eventually, fetch, fresh_database, make_principal, running_app, service_env
from tests.registry.conftest import PERSONAL_DATA_KEYS

WARD, HANOI = "v2008.24.213.07207", "v2008.01.001.00001"
DISTRICT_OFFICER = make_principal("district_officer", ["v2008.24.213"], ROLE_PERMISSIONS["district_officer"])
HANOI_OFFICER = make_principal("province_officer", ["v2008.01"], ROLE_PERMISSIONS["province_officer"])
WARD_SUPPORT = make_principal("commune_officer", [WARD], permissions=["support.read", "support.write"])
# The read model's columns the republish may touch, and those it must leave as they are.
_ROWS = ("SELECT id, unit_path, status, status_year, member_count, version, removed, household_code, "
         "member_ids, deprived_indicators FROM sp_households")


@dataclass
class Running:
    registry: httpx.AsyncClient
    registry_app: Any
    registry_db: str
    support: httpx.AsyncClient
    support_db: str

    async def rows(self) -> dict[str, dict[str, Any]]:
        return {str(r["id"]): dict(r) for r in await fetch(self.support_db, _ROWS)}

    async def relayed(self) -> None:
        """Every event the registry wrote has been published and support has applied them all."""
        async def done() -> bool:
            unsent = await fetch(self.registry_db, "SELECT count(*) FROM outbox WHERE sent_at IS NULL")
            written = await fetch(self.registry_db, "SELECT count(*) FROM outbox")
            applied = await fetch(self.support_db, "SELECT count(*) FROM inbox WHERE consumer = 'support-registry'")
            return bool(unsent[0][0] == 0 and applied[0][0] == written[0][0])

        await eventually(done, timeout=120, interval=0.2)


async def _import(running: Running, principal: Any, commune_code: str, count: int, start: int) -> None:
    response = await running.registry.post("/registry/imports", headers=auth_headers(principal),
                                           files={"file": ("households.csv", import_file(commune_code, count, start))})
    assert response.status_code == 202, response.text
    await running.registry_app.state.import_jobs.wait_all()
    job = (await running.registry.get(f"/registry/imports/{response.json()['id']}",
                                      headers=auth_headers(principal))).json()
    assert job["status"] == "completed", job


def _gift(household_id: str, member_ids: list[str]) -> dict[str, Any]:
    """A Tết gift, which every household may receive (whether or not the registry recognised a status)."""
    return {"household_id": household_id, "programme": "tet_gifts", "delivered_on": "2024-02-01",
            "member_ids": member_ids, "quantities": [{"measure": "portion", "quantity": 1}], "amount_vnd": 500_000,
            "funding": [{"source": "community", "amount_vnd": 500_000}], "body": "mttq"}


@pytest.fixture
async def running(stack: Stack, registry_db: str, nats_url: str) -> AsyncIterator[Running]:
    support_db = await fresh_database(stack, "support")
    await bootstrap.run(support_db)
    registry_app = create_registry(RegistrySettings(**service_env("registry", registry_db, nats_url),
                                                    **PERSONAL_DATA_KEYS))
    support_app = create_support(SupportSettings(**service_env("support", support_db, nats_url)))
    async with running_app(registry_app) as registry, running_app(support_app) as support:
        yield Running(registry, registry_app, registry_db, support, support_db)


async def test_old_households_get_indicators_members_and_codes_from_the_republished_state(running: Running) -> None:
    await _import(running, DISTRICT_OFFICER, "07207", 8, 0)
    await _import(running, HANOI_OFFICER, "00001", 3, 1000)
    registered = await running.registry.post("/registry/households", headers=auth_headers(DISTRICT_OFFICER), json={
        "household_code": "NQ-API-1", "commune_code": "07207", "village": "Tổ 2", "members": [
            {"full_name": "Trần Văn Bình", "birth_date": "1970-02-03", "relation": "head"},
            {"full_name": "Trần Thị Hoa", "birth_date": "2005-06-07", "relation": "child"}]})
    assert registered.status_code == 201, registered.text
    api_household = registered.json()["id"]
    await running.relayed()
    truth = await running.rows()
    assert len(truth) == 12 and all(r["household_code"] and r["member_ids"] for r in truth.values())
    assert sum(r["deprived_indicators"] is not None for r in truth.values()) == 11  # the API's has no assessment
    truth[api_household]["member_ids"] = [str(m["id"]) for m in registered.json()["members"]]

    # What events written before the registry told these fields left: no indicators, members or code;
    # and one household support never heard of at all.
    await fetch(running.support_db, "UPDATE sp_households SET household_code = NULL, member_ids = NULL, "
                                    "deprived_indicators = NULL")
    await fetch(running.support_db, "DELETE FROM sp_households WHERE id = $1", uuid.UUID(api_household))
    # The registry's household status is the recognised one: null for every household here (an import's
    # assessments are recorded, not recognised), and support's read model holds exactly that.
    registry_rows = await fetch(running.registry_db, "SELECT id, status FROM households")
    statuses = {str(r["id"]): r["status"] for r in registry_rows}
    assert {i: r["status"] for i, r in truth.items()} == statuses and set(statuses.values()) == {None}
    imported = next(i for i, r in truth.items() if r["deprived_indicators"] is not None and r["unit_path"] == WARD)
    head = truth[imported]["member_ids"][0]
    refused = await running.support.post("/support/deliveries", headers=auth_headers(WARD_SUPPORT),
                                         json=_gift(imported, member_ids=[head]))
    assert refused.status_code == 422 and "has not yet told" in refused.json()["errors"][0]["reason"]

    # Bắc Giang province only, two households a transaction.
    done = await republish(running.registry_db, unit="24", hierarchy="v2008", batch=2)
    assert (done.households, done.batches, done.unit_path) == (9, 5, "v2008.24")
    await running.relayed()
    rows = await running.rows()
    for household_id, row in rows.items():
        if row["unit_path"] == WARD:
            assert row == truth[household_id], household_id  # filled; status, version, the rest unchanged
        else:
            assert (row["household_code"], row["member_ids"], row["deprived_indicators"]) == (None, None, None)
    assert rows[api_household]["member_ids"][0] == truth[api_household]["member_ids"][0]  # the head first
    delivered = await running.support.post("/support/deliveries", headers=auth_headers(WARD_SUPPORT),
                                           json=_gift(imported, member_ids=[head]))
    assert delivered.status_code == 201, delivered.text

    # The whole country through the command line, then once more: every row as the registry holds it.
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    for _ in range(2):
        command = await asyncio.to_thread(subprocess.run, [
            sys.executable, "-m", "services.registry.operations.republish", "--database-url", running.registry_db,
            "--batch", "5"], capture_output=True, text=True, env=env, timeout=120)
        assert command.returncode == 0, command.stderr
        assert "wrote 12 registry.household.restated events in 3 batches (every unit" in command.stdout
        await running.relayed()
        assert await running.rows() == truth

    with pytest.raises(RepublishError, match="no unit 99999"):
        await republish(running.registry_db, unit="99999")
    ambiguous = await asyncio.to_thread(subprocess.run, [
        sys.executable, "-m", "services.registry.operations.republish", "--database-url", running.registry_db,
        "--unit", "24"], capture_output=True, text=True, env=env, timeout=120)
    assert ambiguous.returncode == 1 and "give --hierarchy" in ambiguous.stderr, ambiguous.stderr
