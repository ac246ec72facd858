"""Coverage gaps: poor and near-poor households without a health-insurance card this year, those
deprived in housing without housing support, and households that escaped poverty and still get
poor-only support; scoped, paged, exportable."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import replace
from datetime import UTC, datetime

from shared.events import Event
from tests.kit import fetch
from tests.support.conftest import (
    A0,
    A1,
    DISTRICT_A_OFFICER,
    OFFICER_A0,
    OFFICER_B0,
    OTHER_DISTRICT,
    OTHER_PROVINCE,
    Support,
    assessed,
    household_event,
    housing_repair,
)


def _card(household: str, programme: str = "bhyt_poor") -> dict[str, object]:
    return {"household_id": household, "programme": programme, "delivered_on": "2024-02-01",
            "quantities": [{"measure": "card", "quantity": 4}], "body": "bhxh"}


async def test_poor_and_near_poor_households_without_a_card_this_year(support: Support) -> None:
    covered, missing = await support.household(A0, "poor"), await support.household(A0, "poor")
    near_poor = await support.household(A0, "near_poor")
    await support.household(A0, "middle_income")
    elsewhere = await support.household(A1, "poor")
    assert (await support.call("POST", "/support/deliveries", OFFICER_A0, json=_card(covered))).status_code == 201
    gap = (await support.call("GET", "/support/gaps/health-insurance", OFFICER_A0, params={"year": 2024})).json()
    assert {i["household_id"] for i in gap["items"]} == {missing, near_poor} and gap["total"] == 2
    district = (await support.call("GET", "/support/gaps/health-insurance", DISTRICT_A_OFFICER,
                                   params={"year": 2024})).json()
    assert {i["household_id"] for i in district["items"]} == {missing, near_poor, elsewhere}
    commune = (await support.call("GET", "/support/gaps/health-insurance", DISTRICT_A_OFFICER,
                                  params={"year": 2024, "unit": "07210"})).json()
    assert [i["household_id"] for i in commune["items"]] == [elsewhere]
    exported = await support.call("GET", "/support/gaps/health-insurance", DISTRICT_A_OFFICER,
                                  params={"year": 2024, "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert len(rows) == 3 and {r["status"] for r in rows} == {"poor", "near_poor"}
    # Cards recorded as an aggregate batch name no household: the gap stays, the batch is counted beside it.
    batch = {"unit": "07207", "hierarchy": "v2008", "programme": "bhyt_poor", "delivered_on": "2024-03-01",
             "households": 520, "persons": 1405, "quantities": [{"measure": "card", "quantity": 1405}], "body": "bhxh"}
    assert (await support.call("POST", "/support/deliveries/aggregate", OFFICER_A0, json=batch)).status_code == 201
    gap = (await support.call("GET", "/support/gaps/health-insurance", OFFICER_A0, params={"year": 2024})).json()
    assert {i["household_id"] for i in gap["items"]} == {missing, near_poor}
    assert (gap["aggregate_deliveries"], gap["aggregate_cards"], gap["aggregate_households"]) == (1, 1405, 520)
    district = (await support.call("GET", "/support/gaps/health-insurance", DISTRICT_A_OFFICER,
                                   params={"year": 2024})).json()
    assert district["aggregate_cards"] == 1405 and district["total"] == 3
    other_commune = (await support.call("GET", "/support/gaps/health-insurance", DISTRICT_A_OFFICER,
                                        params={"year": 2024, "unit": "07210"})).json()
    assert other_commune["aggregate_cards"] == 0
    for officer in (OFFICER_B0, OTHER_DISTRICT, OTHER_PROVINCE):
        assert (await support.call("GET", "/support/gaps/health-insurance", officer,
                                   params={"year": 2024})).json()["aggregate_cards"] == 0, officer.role
    # Next year everyone lacks one again; another commune sees none of these households.
    assert (await support.call("GET", "/support/gaps/health-insurance", OFFICER_A0,
                               params={"year": 2025})).json()["total"] == 3
    assert (await support.call("GET", "/support/gaps/health-insurance", OFFICER_B0,
                               params={"year": 2024})).json()["total"] == 0
    assert (await support.call("GET", "/support/gaps/health-insurance", OFFICER_B0,
                                params={"unit": "07207"})).status_code == 404


async def test_households_that_escaped_poverty_and_still_get_poor_only_support(support: Support) -> None:
    """Only poor-only support delivered on or after the day the escape was recognised is a gap: a card
    received while the household was still poor (February, or November during the review) is fine."""
    household = str(uuid.uuid4())
    await support.publish([household_event(household, A0, "poor")])
    await support.wait_version(household, 1)
    while_poor = await support.call("POST", "/support/deliveries", OFFICER_A0, json=_card(household))
    assert while_poor.status_code == 201
    during_review = await support.call("POST", "/support/deliveries", OFFICER_A0,
                                       json={**_card(household), "delivered_on": "2024-11-01"})
    assert during_review.status_code == 201
    # The registry recognised the escape at 20:00 UTC on 9 December: 10 December in Vietnam.
    escape = replace(assessed(household, A0, 2024, "near_poor", "poor", "escaped_poverty", 2),
                     occurred_at=datetime(2024, 12, 9, 20, 0, tzinfo=UTC))
    await support.publish([escape])
    await support.wait_version(household, 2)
    late = await support.call("POST", "/support/deliveries", DISTRICT_A_OFFICER,
                              json={**_card(household), "delivered_on": "2024-12-10",
                                    "override_reason": "Cấp theo danh sách cũ"})
    assert late.status_code == 201
    gap = (await support.call("GET", "/support/gaps/escaped-still-supported", OFFICER_A0,
                              params={"review_year": 2024})).json()
    assert gap["total"] == 1 and [i["delivery_id"] for i in gap["items"]] == [late.json()["id"]]
    assert gap["items"][0]["transition"] == "escaped_poverty" and gap["items"][0]["recognised_on"] == "2024-12-10"
    # Another review year's gap does not list it; another commune sees none of it.
    assert (await support.call("GET", "/support/gaps/escaped-still-supported", OFFICER_A0,
                               params={"review_year": 2023})).json()["total"] == 0
    assert (await support.call("GET", "/support/gaps/escaped-still-supported", OFFICER_B0,
                               params={"review_year": 2024})).json()["total"] == 0


HOUSING = ["housing_quality"]


async def _assessed_household(support: Support, unit_path: str, status: str, deprived: list[str]) -> str:
    """A household the registry registered and then assessed (version 2) with these deprivations."""
    household = str(uuid.uuid4())
    await support.publish([household_event(household, unit_path, None),
                           assessed(household, unit_path, 2024, status, None, "newly_poor", 2, deprived)])
    await support.wait_version(household, 2)
    return household


async def test_poor_households_deprived_in_housing_without_housing_support(support: Support) -> None:
    helped = await _assessed_household(support, A0, "poor", ["housing_quality", "latrine"])
    unhelped = await _assessed_household(support, A0, "poor", HOUSING)
    small_house = await _assessed_household(support, A0, "near_poor", ["housing_area"])
    await _assessed_household(support, A0, "poor", ["latrine", "employment"])  # housing is fine
    await _assessed_household(support, A0, "middle_income", HOUSING)  # not poor or near-poor
    elsewhere = await _assessed_household(support, A1, "poor", HOUSING)
    repaired = await support.call("POST", "/support/deliveries", OFFICER_A0, json=housing_repair(helped))
    assert repaired.status_code == 201

    gap = (await support.call("GET", "/support/gaps/housing", OFFICER_A0, params={"year": 2024})).json()
    assert {i["household_id"]: i["deprived_indicators"] for i in gap["items"]} == {
        unhelped: HOUSING, small_house: ["housing_area"]}
    assert gap["total"] == 2 and {i["status"] for i in gap["items"]} == {"poor", "near_poor"}
    district = (await support.call("GET", "/support/gaps/housing", DISTRICT_A_OFFICER, params={"year": 2024})).json()
    assert {i["household_id"] for i in district["items"]} == {unhelped, small_house, elsewhere}
    # Support in another year does not close this year's gap; a period covering it does.
    assert helped in {i["household_id"] for i in (await support.call(
        "GET", "/support/gaps/housing", OFFICER_A0, params={"year": 2025})).json()["items"]}
    campaign = (await support.call("GET", "/support/gaps/housing", OFFICER_A0,
                                   params={"from": "2021-01-01", "to": "2025-12-31"})).json()
    assert {i["household_id"] for i in campaign["items"]} == {unhelped, small_house}
    backwards = await support.call("GET", "/support/gaps/housing", OFFICER_A0,
                                   params={"from": "2025-01-01", "to": "2024-01-01"})
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "to"

    exported = await support.call("GET", "/support/gaps/housing", DISTRICT_A_OFFICER,
                                  params={"year": 2024, "format": "csv"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert {r["household_id"]: r["deprived_indicators"] for r in rows} == {
        unhelped: "housing_quality", small_house: "housing_area", elsewhere: "housing_quality"}

    # A registration update (no indicators in it) keeps them; a new assessment without a housing
    # deprivation takes the household out of the gap.
    await support.publish([household_event(unhelped, A0, "poor", version=3, type_="registry.household.updated")])
    await support.wait_version(unhelped, 3)
    assert unhelped in {i["household_id"] for i in (await support.call(
        "GET", "/support/gaps/housing", OFFICER_A0, params={"year": 2024})).json()["items"]}
    await support.publish([assessed(unhelped, A0, 2025, "poor", "poor", "stayed", 4, ["latrine"])])
    await support.wait_version(unhelped, 4)
    assert {i["household_id"] for i in (await support.call(
        "GET", "/support/gaps/housing", OFFICER_A0, params={"year": 2024})).json()["items"]} == {small_house}


async def test_the_housing_gap_of_another_unit_is_not_shown(support: Support) -> None:
    await _assessed_household(support, A0, "poor", HOUSING)
    for officer in (OFFICER_B0, OTHER_DISTRICT, OTHER_PROVINCE):
        mine = await support.call("GET", "/support/gaps/housing", officer, params={"year": 2024})
        assert mine.status_code == 200 and mine.json()["total"] == 0, officer.role
        named = await support.call("GET", "/support/gaps/housing", officer, params={"unit": "07207"})
        assert named.status_code == 404, officer.role
        exported = await support.call("GET", "/support/gaps/housing", officer, params={"year": 2024, "format": "csv"})
        assert exported.content.decode("utf-8-sig").strip().count("\n") == 0, officer.role  # the header only


async def test_a_bulk_registry_import_tells_the_indicators_and_the_gaps_wait_for_the_recognition(
        support: Support) -> None:
    """An import's assessment is recorded, not recognised (the registry's household status stays null):
    the household is in no gap until a review recognises it poor or near-poor."""
    household = str(uuid.uuid4())
    item = {**assessed(household, A0, 2024, "poor", None, "newly_poor", 1, ["housing_area", "latrine"]).payload,
            "version": 1, "unit_path": A0}
    await support.publish([Event(type="registry.household.assessed_batch", producer="registry",
                                 subject_id=str(uuid.uuid4()), unit_code="07207", unit_path=A0,
                                 payload={"items": [item]})])
    await support.wait_version(household, 1)
    held = await fetch(support.db_url, "SELECT status, deprived_indicators FROM sp_households WHERE id = $1",
                       uuid.UUID(household))
    assert (held[0]["status"], held[0]["deprived_indicators"]) == (None, ["housing_area", "latrine"])
    for gap in ("housing", "health-insurance"):
        unrecognised = await support.call("GET", f"/support/gaps/{gap}", OFFICER_A0, params={"year": 2024})
        assert unrecognised.status_code == 200 and unrecognised.json()["total"] == 0, gap
    await support.publish([assessed(household, A0, 2024, "poor", None, "newly_poor", 2, ["housing_area", "latrine"])])
    await support.wait_version(household, 2)
    gap = (await support.call("GET", "/support/gaps/housing", OFFICER_A0, params={"year": 2024})).json()
    assert [i["household_id"] for i in gap["items"]] == [household]
    assert gap["items"][0]["deprived_indicators"] == ["housing_area", "latrine"]
    cards = (await support.call("GET", "/support/gaps/health-insurance", OFFICER_A0, params={"year": 2024})).json()
    assert [i["household_id"] for i in cards["items"]] == [household]
