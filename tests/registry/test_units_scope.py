"""Scope of every units and classification endpoint: another commune, district or province is refused
(404 for reads, 403 for requests naming the unit) and nothing changes; the unit's own officer is served."""

from __future__ import annotations

import httpx
import pytest

from tests.registry.units_helpers import (
    COMMUNE,
    OTHER_COMMUNE,
    OTHER_DISTRICT,
    OTHER_PROVINCE,
    all_powers,
    fetch,
    unit_events,
)

FOREIGN = {"other commune": OTHER_COMMUNE, "other district": OTHER_DISTRICT, "other province": OTHER_PROVINCE}
READS = ["/registry/units/07207", "/registry/units/07207/children", "/registry/units/07207/successors",
         "/registry/units/07207?hierarchy=v2008"]


@pytest.mark.parametrize("who", list(FOREIGN))
async def test_foreign_callers_cannot_read_the_unit(who: str, registry_client: httpx.AsyncClient) -> None:
    h = all_powers(FOREIGN[who])
    for path in READS:
        r = await registry_client.get(path, headers=h)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["code"] == "unit_not_found"
    by_code = await registry_client.get("/registry/units", params={"code": "07207"}, headers=h)
    assert by_code.status_code == 200 and by_code.json()["total"] == 0
    by_name = await registry_client.get("/registry/units", params={"name": "ngo quyen", "limit": 1000}, headers=h)
    assert COMMUNE not in {u["path"] for u in by_name.json()["items"]}
    as_parent = await registry_client.get("/registry/units", params={"parent": "07207"}, headers=h)
    assert as_parent.status_code == 404


@pytest.mark.parametrize("who", list(FOREIGN))
async def test_foreign_callers_cannot_flag_or_classify_by_the_unit(
        who: str, registry_client: httpx.AsyncClient, registry_db: str) -> None:
    h = all_powers(FOREIGN[who])
    flagged = await registry_client.patch("/registry/units/07207/flags", headers=h, json={"mountainous": True})
    assert flagged.status_code == 403 and flagged.json()["code"] == "forbidden"
    classified = await registry_client.post("/registry/classify", headers=h, json={
        "review_year": 2024, "commune_code": "07207", "income_per_capita": 1_000_000})
    assert classified.status_code == 403
    row = (await fetch(registry_db, "SELECT version, mountainous FROM units WHERE path = $1", COMMUNE))[0]
    assert (row["version"], row["mountainous"]) == (1, False)
    assert await unit_events(registry_db) == []


async def test_an_ancestor_is_readable_but_not_writable_from_below(
        registry_client: httpx.AsyncClient, registry_db: str) -> None:
    h = all_powers(COMMUNE)
    assert (await registry_client.get("/registry/units/213", headers=h)).status_code == 200
    refused = await registry_client.patch("/registry/units/213/flags", headers=h, json={"poor_district": True})
    assert refused.status_code == 403
    assert (await fetch(registry_db, "SELECT poor_district FROM units WHERE path = 'v2008.24.213'"))[0][0] is False


async def test_the_units_own_officer_is_served_everywhere(registry_client: httpx.AsyncClient) -> None:
    h = all_powers(COMMUNE)
    for path in READS:
        assert (await registry_client.get(path, headers=h)).status_code == 200, path
    assert (await registry_client.get("/registry/units", params={"code": "07207"}, headers=h)).json()["total"] == 1
    assert (await registry_client.patch("/registry/units/07207/flags", headers=h | {"If-Match": "*"},
                                        json={"mountainous": True})).status_code == 200
    classified = await registry_client.post("/registry/classify", headers=h, json={
        "review_year": 2024, "commune_code": "07207", "income_per_capita": 1_000_000})
    assert classified.status_code == 200


async def test_the_same_code_in_the_other_hierarchy_is_foreign(registry_client: httpx.AsyncClient) -> None:
    """Commune 07210 after the reform (Bắc Giang ward) does not open commune 07210 before it."""
    h = all_powers("v2025.24.07210")
    assert (await registry_client.get("/registry/units/07210", headers=h)).json()["path"] == "v2025.24.07210"
    assert (await registry_client.get("/registry/units/07210", params={"hierarchy": "v2008"},
                                      headers=h)).status_code == 404
    refused = await registry_client.patch("/registry/units/07210/flags", params={"hierarchy": "v2008"},
                                          headers=h, json={"mountainous": True})
    assert refused.status_code == 403
