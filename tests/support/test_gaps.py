"""Coverage gaps: poor and near-poor households without a health-insurance card this year, and
households that escaped poverty and still get poor-only support; scoped, paged, exportable."""

from __future__ import annotations

import csv
import io
import uuid

from tests.support.conftest import (
    A0,
    A1,
    DISTRICT_A_OFFICER,
    OFFICER_A0,
    OFFICER_B0,
    Support,
    assessed,
    household_event,
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
    # Next year everyone lacks one again; another commune sees none of these households.
    assert (await support.call("GET", "/support/gaps/health-insurance", OFFICER_A0,
                               params={"year": 2025})).json()["total"] == 3
    assert (await support.call("GET", "/support/gaps/health-insurance", OFFICER_B0,
                               params={"year": 2024})).json()["total"] == 0
    assert (await support.call("GET", "/support/gaps/health-insurance", OFFICER_B0,
                                params={"unit": "07207"})).status_code == 404


async def test_households_that_escaped_poverty_and_still_get_poor_only_support(support: Support) -> None:
    household = str(uuid.uuid4())
    await support.publish([household_event(household, A0, "poor")])
    await support.wait_version(household, 1)
    before = await support.call("POST", "/support/deliveries", OFFICER_A0, json=_card(household))
    assert before.status_code == 201  # a card while poor: fine
    await support.publish([assessed(household, A0, 2024, "near_poor", "poor", "escaped_poverty", 2)])
    await support.wait_version(household, 2)
    late = await support.call("POST", "/support/deliveries", DISTRICT_A_OFFICER,
                              json={**_card(household), "delivered_on": "2024-11-01",
                                    "override_reason": "Cấp theo danh sách cũ"})
    assert late.status_code == 201
    gap = (await support.call("GET", "/support/gaps/escaped-still-supported", OFFICER_A0,
                              params={"review_year": 2024})).json()
    assert gap["total"] == 2 and {i["transition"] for i in gap["items"]} == {"escaped_poverty"}
    assert {i["delivery_id"] for i in gap["items"]} == {before.json()["id"], late.json()["id"]}
    assert (await support.call("GET", "/support/gaps/escaped-still-supported", OFFICER_B0,
                               params={"review_year": 2024})).json()["total"] == 0
