"""The registry's database restarted or unreachable: callers get a clear 503 to retry, never a 500,
and service resumes by itself once the database is back."""

from __future__ import annotations

import uuid

import httpx

from tests.kit import Stack, auth_headers, cut_connections, make_principal, scalar, unreachable
from tests.registry.households_helpers import commune_officer, household_body

COMMUNE = "v2008.24.213.07207"


async def _requests(client: httpx.AsyncClient) -> list[httpx.Response]:
    """A unit (ORM session per request) and a household list (scope-filtered ORM query)."""
    headers = auth_headers(make_principal("commune_officer", [COMMUNE]))
    return [await client.get("/registry/units/07207", params={"hierarchy": "v2008"}, headers=headers),
            await client.get("/registry/households", params={"unit": "07207"}, headers=headers)]


def _unavailable(response: httpx.Response) -> bool:
    body = response.json()
    return (response.status_code == 503 and body["code"] == "database_unavailable"
            and response.headers.get("retry-after") is not None)


async def test_a_database_restart_answers_503_at_most_then_serves_again(
        household_client: httpx.AsyncClient, registry_db: str, stack: Stack) -> None:
    assert [r.status_code for r in await _requests(household_client)] == [200, 200]
    await cut_connections(stack, registry_db)  # what a restart or failover does
    first = await _requests(household_client)
    assert all(r.status_code == 200 or _unavailable(r) for r in first), [(r.status_code, r.text) for r in first]
    assert [r.status_code for r in await _requests(household_client)] == [200, 200]


async def test_an_unreachable_database_answers_503_until_it_is_back(
        household_client: httpx.AsyncClient, registry_db: str, stack: Stack) -> None:
    assert [r.status_code for r in await _requests(household_client)] == [200, 200]
    async with unreachable(stack, registry_db):
        down = await _requests(household_client) + await _requests(household_client)
        assert all(_unavailable(r) for r in down), [(r.status_code, r.text) for r in down]
        ready = await household_client.get("/ready")
        assert ready.status_code == 503
    assert [r.status_code for r in await _requests(household_client)] == [200, 200]


async def test_a_household_read_right_after_a_database_restart_is_answered_and_logged_once(
        household_client: httpx.AsyncClient, registry_db: str, stack: Stack) -> None:
    """The registry's hottest read tries once more on a fresh connection: the reader never sees the restart."""
    officer = commune_officer()
    created = await household_client.post("/registry/households", json=household_body(), headers=officer)
    assert created.status_code == 201, created.text
    url = f"/registry/households/{created.json()['id']}"
    assert (await household_client.get(url, headers=officer)).status_code == 200
    await cut_connections(stack, registry_db)
    after = await household_client.get(url, headers=officer)
    assert after.status_code == 200, after.text
    assert after.json()["id"] == created.json()["id"]
    logged = await scalar(registry_db, "SELECT count(*) FROM personal_data_access_log WHERE household_id = $1",
                          uuid.UUID(created.json()["id"]))
    assert logged == 2
