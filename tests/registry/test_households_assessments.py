"""A household's assessment per review year: classified by the year's standard and the commune's area,
explained, kept with its inputs, re-recordable until the review closes its assessments."""

from __future__ import annotations

import httpx

from services.registry.households.rules import transition
from tests.registry.households_helpers import (
    URBAN_CODE,
    URBAN_HOME,
    commune_officer,
    events,
    register,
    table_counts,
)

POOR_2024 = {"review_year": 2024, "income_per_capita": 1_200_000,
             "deprived_indicators": ["employment", "nutrition", "latrine"]}


async def test_an_assessment_keeps_inputs_standard_and_explained_result(household_client: httpx.AsyncClient,
                                                                        registry_db: str) -> None:
    household = await register(household_client)
    url = f"/registry/households/{household['id']}/assessments"
    response = await household_client.post(url, json=POOR_2024, headers=commune_officer())
    assert response.status_code == 201, response.text
    a = response.json()
    assert a["status"] == "poor" and a["standard"] == "decree-07-2021" and a["area"] == "rural"
    assert a["poverty_line"] == 1_500_000 and a["deprived_count"] == 3
    assert a["deprived_indicators"] == ["employment", "nutrition", "latrine"]
    assert "1,500,000" in a["explanation"] and "latrine" in a["explanation"]
    assert a["state"] == "recorded" and a["transition"] is None and a["member_count"] == 3
    # Recording is not recognition: the household's status and events wait for a decision.
    record = (await household_client.get(f"/registry/households/{household['id']}", headers=commune_officer())).json()
    assert record["status"] is None and record["version"] == 1
    assert await events(registry_db, "registry.household.assessed") == []
    listed = (await household_client.get(url, headers=commune_officer())).json()
    assert [x["id"] for x in listed["items"]] == [a["id"]]
    one = await household_client.get(f"{url}/{a['id']}", headers=commune_officer())
    assert one.json() == a


async def test_re_recording_the_same_year_replaces_the_assessment(household_client: httpx.AsyncClient) -> None:
    household = await register(household_client)
    url = f"/registry/households/{household['id']}/assessments"
    first = await household_client.post(url, json=POOR_2024, headers=commune_officer())
    second = await household_client.post(url, json=POOR_2024 | {"income_per_capita": 1_800_000},
                                         headers=commune_officer())
    assert second.status_code == 200 and second.json()["id"] == first.json()["id"]
    assert second.json()["status"] == "middle_income"
    history = (await household_client.get(f"/registry/households/{household['id']}/history",
                                          headers=commune_officer())).json()["items"]
    assert history[-1]["action"] == "assessed" and history[-1]["before"]["status"] == "poor"
    assert history[-1]["after"]["status"] == "middle_income"


async def test_the_commune_decides_the_income_line(household_client: httpx.AsyncClient) -> None:
    rural = await register(household_client)
    urban = await register(household_client, headers=commune_officer(URBAN_HOME), commune_code=URBAN_CODE)
    body = {"review_year": 2024, "income_per_capita": 1_800_000, "deprived_indicators": []}
    r = await household_client.post(f"/registry/households/{rural['id']}/assessments", json=body,
                                    headers=commune_officer())
    u = await household_client.post(f"/registry/households/{urban['id']}/assessments", json=body,
                                    headers=commune_officer(URBAN_HOME))
    assert (r.json()["status"], r.json()["poverty_line"]) == ("middle_income", 1_500_000)
    assert (u.json()["status"], u.json()["poverty_line"]) == ("near_poor", 2_000_000)


async def test_bad_assessments_name_the_field_and_store_nothing(household_client: httpx.AsyncClient,
                                                                registry_db: str) -> None:
    household = await register(household_client)
    url = f"/registry/households/{household['id']}/assessments"
    before = await table_counts(registry_db)
    unknown = await household_client.post(url, json=POOR_2024 | {"deprived_indicators": ["employment", "wifi"]},
                                          headers=commune_officer())
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_indicator"
    assert unknown.json()["codes"] == ["wifi"] and "employment" in unknown.json()["allowed"]
    old_code = await household_client.post(url, json=POOR_2024 | {"deprived_indicators": ["clean_water"]},
                                           headers=commune_officer())
    assert old_code.status_code == 422 and old_code.json()["codes"] == ["clean_water"]  # a 2016–2021 code
    no_standard = await household_client.post(url, json=POOR_2024 | {"review_year": 2031}, headers=commune_officer())
    assert no_standard.status_code == 422 and no_standard.json()["field"] == "review_year"
    negative = await household_client.post(url, json=POOR_2024 | {"income_per_capita": -1}, headers=commune_officer())
    assert negative.status_code == 422
    assert await table_counts(registry_db) == before


def test_transition_codes_follow_the_domain_rules() -> None:
    assert transition(None, "poor", ever_poor=False) == "newly_poor"
    assert transition("not_poor", "poor", ever_poor=False) == "newly_poor"
    assert transition("near_poor", "poor", ever_poor=True) == "re_poor"
    assert transition("poor", "near_poor", ever_poor=True) == "escaped_poverty"
    assert transition("poor", "not_poor", ever_poor=True) == "escaped_poverty"
    assert transition("near_poor", "middle_income", ever_poor=False) == "escaped_near_poverty"
    assert transition("middle_income", "near_poor", ever_poor=False) == "became_near_poor"
    assert transition(None, "near_poor", ever_poor=False) == "became_near_poor"
    assert transition("poor", "poor", ever_poor=True) == "stayed"
    assert transition("middle_income", "not_poor", ever_poor=False) == "stayed"
