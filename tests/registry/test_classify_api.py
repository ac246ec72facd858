"""POST /registry/classify and GET /registry/standards."""

from __future__ import annotations

import httpx

from tests.kit import auth_headers, make_principal
from tests.registry.units_helpers import COMMUNE, DISTRICT, all_powers, headers

OFFICER = ("commune_officer", COMMUNE)


async def test_classify_by_area_explains_the_result(registry_client: httpx.AsyncClient) -> None:
    r = await registry_client.post("/registry/classify", headers=headers(*OFFICER), json={
        "review_year": 2024, "area": "rural", "income_per_capita": 1_500_000,
        "deprived_indicators": ["nutrition", "employment", "latrine"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["standard"], body["area"], body["poverty_line"]) == (
        "poor", "decree-07-2021", "rural", 1_500_000)
    assert body["deprived_indicators"] == ["employment", "nutrition", "latrine"]
    assert body["deprived_count"] == 3 and body["deprivation_threshold"] == 3 and body["commune"] is None
    assert "Nghị định 07/2021/NĐ-CP" in body["explanation"] and "1,500,000 VND" in body["explanation"]


async def test_the_communes_urban_flag_decides_the_line(registry_client: httpx.AsyncClient) -> None:
    h = headers("district_officer", DISTRICT)
    payload = {"review_year": 2024, "income_per_capita": 1_800_000,
               "deprived_indicators": ["employment", "nutrition", "latrine"]}
    ward = (await registry_client.post("/registry/classify", headers=h,
                                       json=payload | {"commune_code": "07207"})).json()
    village = (await registry_client.post("/registry/classify", headers=h,
                                          json=payload | {"commune_code": "07702"})).json()
    assert (ward["area"], ward["status"], ward["commune"]["name"]) == ("urban", "poor", "Phường Ngô Quyền")
    assert (village["area"], village["status"], village["commune"]["name"]) == ("rural", "middle_income",
                                                                                "Xã Quỳnh Sơn")


async def test_bad_requests_name_the_field(registry_client: httpx.AsyncClient) -> None:
    h = headers("district_officer", DISTRICT)
    base = {"review_year": 2024, "area": "rural", "income_per_capita": 1_000_000}
    unknown = await registry_client.post("/registry/classify", headers=h,
                                         json=base | {"deprived_indicators": ["waste", "nutrition"]})
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "unknown_indicator" and unknown.json()["unknown"] == ["waste"]
    assert "information_access" in unknown.json()["allowed"] and "waste" in unknown.json()["detail"]
    assert unknown.json()["errors"][0]["field"] == "deprived_indicators"
    no_year = await registry_client.post("/registry/classify", headers=h, json=base | {"review_year": 2035})
    assert no_year.status_code == 422 and no_year.json()["code"] == "no_standard_for_year"
    negative = await registry_client.post("/registry/classify", headers=h, json=base | {"income_per_capita": -5})
    assert negative.status_code == 422 and negative.json()["errors"][0]["field"] == "income_per_capita"
    both = await registry_client.post("/registry/classify", headers=h, json=base | {"commune_code": "07207"})
    assert both.status_code == 422
    neither = {k: v for k, v in base.items() if k != "area"}
    assert (await registry_client.post("/registry/classify", headers=h, json=neither)).status_code == 422
    district = await registry_client.post("/registry/classify", headers=h, json=neither | {"commune_code": "213"})
    assert district.status_code == 422 and district.json()["code"] == "not_a_commune"
    missing = await registry_client.post("/registry/classify", headers=h, json=neither | {"commune_code": "99999"})
    assert missing.status_code == 404


async def test_classify_needs_the_permission(registry_client: httpx.AsyncClient) -> None:
    h = auth_headers(make_principal("clerk", [COMMUNE], ["registry.units.read"]))
    r = await registry_client.post("/registry/classify", headers=h, json={
        "review_year": 2024, "area": "rural", "income_per_capita": 1})
    assert r.status_code == 403 and r.json()["permission"] == "registry.classify"
    assert (await registry_client.get("/registry/standards", headers=h)).status_code == 403


async def test_standards_are_listed_with_years_lines_and_indicators(registry_client: httpx.AsyncClient) -> None:
    h = headers(*OFFICER)
    listed = (await registry_client.get("/registry/standards", headers=h)).json()
    assert listed["total"] == 3
    assert [(s["code"], s["year_from"], s["year_to"]) for s in listed["items"]] == [
        ("decision-59-2015", 2016, 2021), ("decree-07-2021", 2022, 2026), ("decree-351-2025", 2027, 2030)]
    d59 = listed["items"][0]
    assert d59["lines"]["rural"] == {"poverty_line": 700_000, "near_poverty_line": 1_000_000,
                                     "middle_income_line": 1_500_000}
    assert d59["income_alone_poor"] is True and len(d59["indicators"]) == 10
    one = (await registry_client.get("/registry/standards", params={"year": 2027}, headers=h)).json()
    assert [s["code"] for s in one["items"]] == ["decree-351-2025"]
    assert "waste" in {i["code"] for i in one["items"][0]["indicators"]}
    # Standards are national: a caller anywhere sees the same list.
    elsewhere = (await registry_client.get("/registry/standards", headers=all_powers("v2025.01"))).json()
    assert elsewhere == listed
