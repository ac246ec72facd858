"""Unit codes anywhere in a request are checked against the scope before anything reaches a
service; requests naming no unit go through with the principal's own scope."""

from __future__ import annotations

import pytest

from tests.gateway.conftest import GatewayUnderTest
from tests.gateway.support import CITY, NGO_QUYEN, OTHER_DISTRICT, OTHER_PROVINCE, SONG_MAI


async def _refused(gw: GatewayUnderTest, response, unit: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 403, response.text
    body = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert body["code"] in ("unit_out_of_scope", "unknown_unit") and body["unit"] == unit
    assert unit in body["detail"]


@pytest.mark.parametrize("unit", [SONG_MAI, CITY, "07243", OTHER_DISTRICT, "24", OTHER_PROVINCE, "07888", "99999"])
async def test_a_commune_officer_cannot_name_another_unit_anywhere(gw: GatewayUnderTest, unit: str) -> None:
    bearer = await gw.headers("commune.07207")
    await _refused(gw, await gw.client.get("/registry/households", params={"unit": unit}, headers=bearer), unit)
    twice = await gw.client.get("/registry/households", params={"unit": [NGO_QUYEN, unit]}, headers=bearer)
    assert twice.status_code == 400 and twice.json()["code"] == "ambiguous_request"  # which one would count?
    await _refused(gw, await gw.client.get(f"/registry/households?unit={NGO_QUYEN},{unit}", headers=bearer), unit)
    await _refused(gw, await gw.client.post("/registry/households", headers=bearer,
                                            json={"commune_code": unit, "household_code": "HK-1"}), unit)
    await _refused(gw, await gw.client.post("/registry/households", headers=bearer, json={
        "household_code": "HK-1", "commune_code": NGO_QUYEN, "members": [{"unit_code": unit}]}), unit)
    await _refused(gw, await gw.client.post("/registry/reviews", headers=bearer,
                                            content=f'{{"commune_code": "{NGO_QUYEN}", "commune_code": "{unit}"}}'),
                   unit)
    await _refused(gw, await gw.client.post("/registry/reviews", headers=bearer,
                                            content=f'{{"commune_code": "{unit}"}}'.encode()), unit)  # no type
    await _refused(gw, await gw.client.post("/registry/classify", headers=bearer,
                                            data={"commune_code": unit}), unit)  # a urlencoded form
    flags = await gw.client.patch(f"/registry/units/{unit}/flags", headers=bearer, json={"mountainous": True})
    assert flags.status_code == 403  # no permission to set flags at all, whatever the unit
    assert gw.echo.seen == []


async def test_requests_inside_the_scope_or_naming_no_unit_go_through(gw: GatewayUnderTest) -> None:
    bearer = await gw.headers("commune.07207")
    for response in (
        await gw.client.get("/registry/households", params={"unit": NGO_QUYEN}, headers=bearer),
        await gw.client.get("/registry/households", headers=bearer),
        await gw.client.post("/registry/households", headers=bearer, json={"commune_code": NGO_QUYEN}),
        await gw.client.get("/registry/units/v2008.24.213.07207", headers=bearer),
    ):
        assert response.status_code == 200, response.text
        assert response.json()["principal"]["scopes"] == ["v2008.24.213.07207"]
    assert len(gw.echo.seen) == 4


async def test_directory_reads_may_name_ancestors_but_writes_may_not(gw: GatewayUnderTest) -> None:
    bearer = await gw.headers("commune.07207")
    for path in (f"/registry/units/{CITY}", "/registry/units/24", f"/registry/units/{CITY}/children"):
        assert (await gw.client.get(path, headers=bearer)).status_code == 200, path
    assert (await gw.client.get("/registry/units", params={"parent": CITY}, headers=bearer)).status_code == 200
    await _refused(gw, await gw.client.get("/registry/units", params={"code": SONG_MAI}, headers=bearer), SONG_MAI)
    await _refused(gw, await gw.client.get(f"/registry/units/{SONG_MAI}", headers=bearer), SONG_MAI)
    district = await gw.headers("district.213")
    await _refused(gw, await gw.client.post("/registry/reviews", headers=district,
                                            json={"commune_code": "24", "year": 2024}), "24")
    # Ancestors are for reading the unit directory only: not for households or reports.
    await _refused(gw, await gw.client.get("/registry/households", params={"unit": CITY}, headers=bearer), CITY)


async def test_the_hierarchy_named_in_the_request_decides_a_reused_code(gw: GatewayUnderTest) -> None:
    # 07210 names Hoàng Văn Thụ ward before the reform (inside district 213) and Bắc Giang ward after.
    district = await gw.headers("district.213")
    ok = await gw.client.get("/registry/households", params={"unit": "07210", "hierarchy": "v2008"}, headers=district)
    assert ok.status_code == 200
    await _refused(gw, await gw.client.get("/registry/households", params={"unit": "07210", "hierarchy": "v2025"},
                                           headers=district), "07210")
    await _refused(gw, await gw.client.post("/registry/reviews", headers=district,
                                            json={"commune_code": "07210", "hierarchy": "v2025", "year": 2025}),
                   "07210")


async def test_a_province_officer_is_held_to_its_province(gw: GatewayUnderTest) -> None:
    bearer = await gw.headers("province.24")
    for unit in (NGO_QUYEN, CITY, OTHER_DISTRICT, "24"):
        assert (await gw.client.get("/registry/households", params={"unit": unit},
                                    headers=bearer)).status_code == 200
    await _refused(gw, await gw.client.get("/registry/households", params={"unit": OTHER_PROVINCE},
                                           headers=bearer), OTHER_PROVINCE)
    await _refused(gw, await gw.client.get("/registry/households", params={"unit": "24", "hierarchy": "v2025"},
                                           headers=bearer), "24")


async def test_a_national_admin_reaches_every_known_unit_but_no_unknown_one(gw: GatewayUnderTest) -> None:
    bearer = await gw.headers("admin")
    for unit in (NGO_QUYEN, OTHER_PROVINCE, "07888"):
        assert (await gw.client.get("/registry/households", params={"unit": unit},
                                    headers=bearer)).status_code == 200
    unknown = await gw.client.get("/registry/households", params={"unit": "00000"}, headers=bearer)
    assert unknown.status_code == 403 and unknown.json()["code"] == "unknown_unit"
