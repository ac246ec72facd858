"""Every household, member, assessment, history and audit endpoint refuses officers of another commune,
another district and another province, and nothing changes; the officers above the commune see it."""

from __future__ import annotations

import httpx
import pytest

from tests.registry.households_helpers import (
    DISTRICT,
    HOME_CODE,
    PROVINCE,
    as_,
    citizen_id,
    commune_officer,
    foreigners,
    household_body,
    register,
    table_counts,
)


@pytest.fixture
async def home(household_client: httpx.AsyncClient) -> dict:
    household = await register(household_client)
    assessed = await household_client.post(f"/registry/households/{household['id']}/assessments",
                                           json={"review_year": 2024, "income_per_capita": 900_000,
                                                 "deprived_indicators": ["employment", "nutrition", "latrine"]},
                                           headers=commune_officer())
    assert assessed.status_code == 201, assessed.text
    household["assessment_id"] = assessed.json()["id"]
    # One read by the home officer, so the access log has a row a foreign auditor must not see.
    assert (await household_client.get(f"/registry/households/{household['id']}",
                                       headers=commune_officer())).status_code == 200
    return household


async def test_foreign_officers_cannot_read_or_change_a_household(household_client: httpx.AsyncClient,
                                                                  registry_db: str, home: dict) -> None:
    url = f"/registry/households/{home['id']}"
    member = home["members"][1]["id"]
    before = await table_counts(registry_db)
    for who, headers in foreigners():
        match = headers | {"If-Match": '"1"'}
        attempts = [
            ("GET", url, {}, headers),
            ("PATCH", url, {"json": {"village": "X"}}, match),
            ("DELETE", url, {"params": {"reason": "not mine"}}, match),
            ("GET", f"{url}/history", {}, headers),
            ("POST", f"{url}/members", {"json": {"full_name": "Người Lạ", "relation": "other"}}, match),
            ("PATCH", f"{url}/members/{member}", {"json": {"full_name": "Người Lạ"}}, match),
            ("DELETE", f"{url}/members/{member}", {"params": {"reason": "not mine"}}, match),
            ("POST", f"{url}/assessments", {"json": {"review_year": 2024, "income_per_capita": 1,
                                                     "deprived_indicators": []}}, headers),
            ("GET", f"{url}/assessments", {}, headers),
            ("GET", f"{url}/assessments/{home['assessment_id']}", {}, headers),
        ]
        for method, path, kwargs, hdrs in attempts:
            response = await household_client.request(method, path, headers=hdrs, **kwargs)
            assert response.status_code == 404, (who, method, path, response.status_code, response.text)
        listed = await household_client.get("/registry/households", headers=headers)
        assert listed.status_code == 200 and listed.json()["total"] == 0, who
        naming_home = await household_client.get("/registry/households", params={"unit": HOME_CODE},
                                                 headers=headers)
        assert naming_home.status_code == 404 or naming_home.json()["total"] == 0, who
        lookup = await household_client.get("/registry/households",
                                            params={"citizen_id": home["members"][0]["citizen_id"]}, headers=headers)
        assert lookup.status_code == 200 and lookup.json()["total"] == 0, who
        create = await household_client.post("/registry/households", json=household_body(commune_code=HOME_CODE),
                                             headers=headers)
        assert create.status_code == 403, (who, create.text)
    assert await table_counts(registry_db) == before


async def test_a_foreign_auditor_sees_no_access_log_rows(household_client: httpx.AsyncClient, home: dict) -> None:
    own = await household_client.get("/registry/audit/access-log", headers=as_("province_officer", PROVINCE))
    assert own.json()["total"] == 1
    foreign = await household_client.get("/registry/audit/access-log", headers=as_("province_officer", "v2008.01"))
    assert foreign.status_code == 200 and foreign.json()["total"] == 0
    for who, headers in foreigners()[:2]:  # commune and district officers do not audit at all
        assert (await household_client.get("/registry/audit/access-log", headers=headers)).status_code == 403, who


async def test_officers_above_the_commune_see_and_change_it(household_client: httpx.AsyncClient, home: dict) -> None:
    url = f"/registry/households/{home['id']}"
    for headers in (as_("district_officer", DISTRICT), as_("province_officer", PROVINCE)):
        assert (await household_client.get(url, headers=headers)).status_code == 200
        listed = await household_client.get("/registry/households", params={"unit": HOME_CODE}, headers=headers)
        assert listed.json()["total"] == 1
    changed = await household_client.patch(url, json={"village": "Thôn Mới"},
                                           headers=as_("district_officer", DISTRICT) | {"If-Match": '"1"'})
    assert changed.status_code == 200


async def test_roles_without_the_write_permission_are_refused(household_client: httpx.AsyncClient,
                                                              registry_db: str, home: dict) -> None:
    before = await table_counts(registry_db)
    viewer = as_("viewer", DISTRICT)
    url = f"/registry/households/{home['id']}"
    assert (await household_client.post("/registry/households", json=household_body(),
                                        headers=viewer)).status_code == 403
    assert (await household_client.patch(url, json={"village": "X"},
                                         headers=viewer | {"If-Match": '"1"'})).status_code == 403
    assert (await household_client.post(f"{url}/members", json={"full_name": "A", "relation": "other",
                                                                "citizen_id": citizen_id()},
                                        headers=viewer | {"If-Match": '"1"'})).status_code == 403
    assert (await household_client.post(f"{url}/assessments", json={"review_year": 2024, "income_per_capita": 1},
                                        headers=viewer)).status_code == 403
    assert await table_counts(registry_db) == before
