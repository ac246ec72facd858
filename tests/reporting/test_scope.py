"""Scope on every endpoint: a commune officer sees its commune, a district officer its district and its
communes, a province officer its province; a unit outside the scope is refused (403) with no figures."""

from __future__ import annotations

import pytest

from tests.kit import make_principal
from tests.reporting.conftest import Reporting
from tests.reporting.registry_events import (
    COMMUNES_A,
    COMMUNES_B,
    DISTRICT_A,
    OTHER_COMMUNE,
    PROVINCE,
    all_unit_events,
    province_dataset,
)

READ = ["reporting.indicators.read"]
COMMUNE_OFFICER = make_principal("commune_officer", [COMMUNES_A[0]], permissions=READ)
DISTRICT_OFFICER = make_principal("district_officer", [DISTRICT_A], permissions=READ)
PROVINCE_OFFICER = make_principal("province_officer", [PROVINCE], permissions=READ)
OTHER_PROVINCE_OFFICER = make_principal("province_officer", ["v2008.27"], permissions=READ)
NO_PERMISSION = make_principal("surveyor", [PROVINCE], permissions=["registry.households.read"])

ENDPOINTS = ["/reporting/indicators/poverty", "/reporting/indicators/poverty.csv",
             "/reporting/indicators/poverty.xlsx"]

# (principal, unit asked, hierarchy) → allowed?
CASES = [
    (COMMUNE_OFFICER, COMMUNES_A[0], True),
    (COMMUNE_OFFICER, COMMUNES_A[1], False),  # another commune of the same district
    (COMMUNE_OFFICER, DISTRICT_A, False),  # its own district
    (COMMUNE_OFFICER, PROVINCE, False),  # its own province
    (COMMUNE_OFFICER, OTHER_COMMUNE, False),  # a commune of another province
    (DISTRICT_OFFICER, DISTRICT_A, True),
    (DISTRICT_OFFICER, COMMUNES_A[2], True),  # one of its communes
    (DISTRICT_OFFICER, COMMUNES_B[0], False),  # a commune of another district
    (DISTRICT_OFFICER, "v2008.24.215", False),  # another district
    (DISTRICT_OFFICER, PROVINCE, False),
    (DISTRICT_OFFICER, OTHER_COMMUNE, False),
    (PROVINCE_OFFICER, PROVINCE, True),
    (PROVINCE_OFFICER, COMMUNES_B[2], True),
    (PROVINCE_OFFICER, "v2008.27", False),  # another province
    (PROVINCE_OFFICER, OTHER_COMMUNE, False),
    (PROVINCE_OFFICER, "v2025.24", False),  # the same code in the other hierarchy is another unit
    (OTHER_PROVINCE_OFFICER, PROVINCE, False),
    (OTHER_PROVINCE_OFFICER, COMMUNES_A[0], False),
]


@pytest.fixture
async def loaded(reporting: Reporting) -> Reporting:
    data = province_dataset(households=400, seed=2)
    await reporting.publish(all_unit_events())
    await reporting.settled(await reporting.publish(data.events))
    return reporting


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_each_level_sees_its_own_units_and_nothing_else(loaded: Reporting, endpoint: str) -> None:
    for principal, unit, allowed in CASES:
        for asked in (unit, unit.rsplit(".", 1)[-1]):  # by path, and by code (+ hierarchy)
            response = await loaded.get(endpoint, principal, unit=asked, hierarchy=unit.split(".")[0], year=2024)
            if allowed:
                assert response.status_code == 200, (principal.role, asked, response.text)
            else:
                assert response.status_code == 403, (principal.role, asked, response.status_code)
                body = response.json()
                assert body["code"] == "forbidden" and "households" not in response.text


async def test_without_a_unit_the_answer_is_the_principals_scope(loaded: Reporting) -> None:
    commune = await loaded.indicators(COMMUNE_OFFICER, year=2024)
    assert commune["unit"]["path"] == COMMUNES_A[0] and commune["children"] == []
    district = await loaded.indicators(DISTRICT_OFFICER, year=2024)
    assert district["unit"]["path"] == DISTRICT_A
    assert [c["path"] for c in district["children"]] == COMMUNES_A
    own = await loaded.indicators(DISTRICT_OFFICER, unit=COMMUNES_A[1], year=2024)
    assert own["unit"]["households"] == next(c for c in district["children"]
                                             if c["path"] == COMMUNES_A[1])["households"]


async def test_a_district_officers_answer_is_not_the_provinces(loaded: Reporting) -> None:
    district = await loaded.indicators(DISTRICT_OFFICER, year=2024)
    province = await loaded.indicators(PROVINCE_OFFICER, year=2024)
    assert 0 < district["unit"]["households"] < province["unit"]["households"]


@pytest.mark.parametrize("endpoint", [*ENDPOINTS, "/reporting/status"])
async def test_a_role_without_the_permission_is_refused(loaded: Reporting, endpoint: str) -> None:
    response = await loaded.get(endpoint, NO_PERMISSION, unit=PROVINCE, year=2024)
    assert response.status_code == 403
    assert response.json()["permission"] == "reporting.indicators.read"


async def test_status_shows_no_unit_figures_to_anyone(loaded: Reporting) -> None:
    for principal in (COMMUNE_OFFICER, OTHER_PROVINCE_OFFICER):
        response = await loaded.get("/reporting/status", principal)
        assert response.status_code == 200
        assert "v2008." not in response.text and "households" not in response.text


async def test_requests_without_the_gateways_principal_are_refused(loaded: Reporting) -> None:
    for endpoint in [*ENDPOINTS, "/reporting/status"]:
        response = await loaded.client.get(endpoint, params={"unit": PROVINCE})
        assert response.status_code == 401
