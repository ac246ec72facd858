"""What a fund spend may name: a delivery whose "Vì người nghèo" part is of the fund's own level (a
commune's fund does not pay the district fund's part), in the caller's scope; a programme that is an
active programme of the catalogue and the linked delivery's. Refused requests store nothing."""

from __future__ import annotations

import uuid
from typing import Any

from tests.kit import fetch
from tests.support.conftest import (
    A0,
    A1,
    B0,
    DISTRICT_A_OFFICER,
    OFFICER_A0,
    OFFICER_A1,
    OFFICER_B0,
    PROVINCE_OFFICER,
    Support,
    housing_repair,
)
from tests.support.funds_helpers import donate, open_fund

BOTH_LEVELS = [{"source": "vnn_fund_commune", "amount_vnd": 5_000_000},
               {"source": "vnn_fund_district", "amount_vnd": 7_000_000},
               {"source": "hlhpn_mai_am", "amount_vnd": 8_000_000}]


def _spend(amount: int, **extra: Any) -> dict[str, Any]:
    return {"amount_vnd": amount, "occurred_on": "2024-11-02", "purpose": "Sửa nhà hộ nghèo", **extra}


async def _stored(support: Support) -> list[Any]:
    entries = await fetch(support.db_url, "SELECT fund_id, kind, amount_vnd, programme FROM fund_entries "
                                          "ORDER BY recorded_at, id")
    funds = await fetch(support.db_url, "SELECT id, balance_vnd, version FROM funds ORDER BY id")
    return [[tuple(e) for e in entries], [tuple(f) for f in funds], len(await support.events("support.fund.spent"))]


async def _delivery(support: Support, unit: str, officer: Any, funding: list[dict[str, Any]]) -> str:
    household = await support.household(unit, "poor")
    made = await support.call("POST", "/support/deliveries", officer, json=housing_repair(household, funding=funding))
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


async def test_a_fund_pays_only_the_part_of_its_own_level(support: Support) -> None:
    commune, district = await open_fund(support, "07207", OFFICER_A0), await open_fund(support, "213")
    await donate(support, commune, 50_000_000)
    await donate(support, district, 50_000_000)
    # The audit's case: the district fund's part, paid by the commune's fund.
    district_only = await _delivery(support, A0, OFFICER_A0, [{"source": "vnn_fund_district", "amount_vnd": 12_000_000},
                                                              {"source": "hlhpn_mai_am", "amount_vnd": 8_000_000}])
    before = await _stored(support)
    refused = await support.call("POST", f"/support/funds/{commune}/spends", OFFICER_A0,
                                 json=_spend(12_000_000, delivery_id=district_only))
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["errors"][0]["field"] == "delivery_id" and problem["fund_level"] == "commune"
    assert problem["sources"] == ["vnn_fund_district"] and "vnn_fund_district (district)" in problem["detail"]
    assert await _stored(support) == before
    paid = await support.call("POST", f"/support/funds/{district}/spends", DISTRICT_A_OFFICER,
                              json=_spend(12_000_000, delivery_id=district_only))
    assert paid.status_code == 201, paid.text
    # A delivery with a part of each level: each fund pays its own part, up to it, whatever the other paid.
    both = await _delivery(support, A0, OFFICER_A0, BOTH_LEVELS)
    assert (await support.call("POST", f"/support/funds/{commune}/spends", OFFICER_A0,
                               json=_spend(5_000_000, delivery_id=both))).status_code == 201
    before = await _stored(support)
    over = await support.call("POST", f"/support/funds/{commune}/spends", OFFICER_A0, json=_spend(1, delivery_id=both))
    assert over.status_code == 409 and over.json()["code"] == "delivery_fund_part_exceeded"
    assert (over.json()["fund_part_vnd"], over.json()["already_paid_vnd"]) == (5_000_000, 5_000_000)
    assert await _stored(support) == before
    district_part = await support.call("POST", f"/support/funds/{district}/spends", DISTRICT_A_OFFICER,
                                       json=_spend(7_000_000, delivery_id=both))
    assert district_part.status_code == 201, district_part.text
    assert (await support.call("POST", f"/support/funds/{district}/spends", DISTRICT_A_OFFICER,
                               json=_spend(1, delivery_id=both))).status_code == 409


async def test_a_spend_names_only_an_active_programme_of_its_delivery(support: Support) -> None:
    fund = await open_fund(support, "07207", OFFICER_A0)
    await donate(support, fund, 50_000_000)
    delivery = await _delivery(support, A0, OFFICER_A0, BOTH_LEVELS)
    await fetch(support.db_url, "UPDATE catalogue SET active = false WHERE catalogue = 'programme' "
                                "AND code = 'monthly_rice'")
    url = f"/support/funds/{fund}/spends"
    before = await _stored(support)
    for body in (_spend(1_000, programme="moon_trip"), _spend(1_000, programme="monthly_rice"),
                 _spend(1_000, programme="tet_gifts", delivery_id=delivery),
                 _spend(1_000, programme="moon_trip", delivery_id=delivery)):
        for headers in ({}, {"Idempotency-Key": str(uuid.uuid4())}):  # combined, and its own transaction
            refused = await support.call("POST", url, OFFICER_A0, json=body, headers=headers)
            assert refused.status_code == 422, (body, refused.text)
            assert refused.json()["errors"][0]["field"] == "programme", refused.text
    assert await _stored(support) == before
    named = await support.call("POST", url, OFFICER_A0, json=_spend(1_000, programme="tet_gifts"))
    assert named.status_code == 201 and named.json()["programme"] == "tet_gifts"
    same = await support.call("POST", url, OFFICER_A0, json=_spend(1_000, programme="housing_repair",
                                                                   delivery_id=delivery))
    assert same.status_code == 201 and same.json()["programme"] == "housing_repair"
    copied = await support.call("POST", url, OFFICER_A0, json=_spend(1_000, delivery_id=delivery))
    assert copied.status_code == 201 and copied.json()["programme"] == "housing_repair"


async def test_a_spend_cannot_link_a_delivery_outside_the_callers_scope(support: Support) -> None:
    """By id from elsewhere: a delivery of another commune or district is not found for the caller (404);
    one the caller sees but outside the fund's unit is refused (422). Nothing is stored."""
    commune, district = await open_fund(support, "07207", OFFICER_A0), await open_fund(support, "213")
    await donate(support, commune, 50_000_000)
    await donate(support, district, 50_000_000)
    next_commune = await _delivery(support, A1, OFFICER_A1, BOTH_LEVELS)
    other_district = await _delivery(support, B0, OFFICER_B0, BOTH_LEVELS)
    before = await _stored(support)
    for fund, officer, delivery, status in (
            (commune, OFFICER_A0, next_commune, 404), (commune, OFFICER_A0, other_district, 404),
            (district, DISTRICT_A_OFFICER, other_district, 404),
            (commune, PROVINCE_OFFICER, next_commune, 422)):  # seen by the province, not the commune's
        for headers in ({}, {"Idempotency-Key": str(uuid.uuid4())}):
            refused = await support.call("POST", f"/support/funds/{fund}/spends", officer,
                                         json=_spend(1_000, delivery_id=delivery), headers=headers)
            assert refused.status_code == status, (officer.id, refused.text)
            if status == 422:
                assert refused.json()["errors"][0]["field"] == "delivery_id"
    assert await _stored(support) == before


async def test_a_correction_keeps_each_level_s_part_at_least_what_that_level_s_funds_paid(support: Support) -> None:
    commune = await open_fund(support, "07207", OFFICER_A0)
    await donate(support, commune, 50_000_000)
    delivery = await _delivery(support, A0, OFFICER_A0, BOTH_LEVELS)
    assert (await support.call("POST", f"/support/funds/{commune}/spends", OFFICER_A0,
                               json=_spend(5_000_000, delivery_id=delivery))).status_code == 201
    url = f"/support/deliveries/{delivery}"
    before = (await fetch(support.db_url, "SELECT version, funding FROM deliveries WHERE id = $1",
                          uuid.UUID(delivery)))[0]
    # The fund part as a whole stays 12 M, but the commune's 5 M, which the commune fund paid, moves to the
    # district's source: the commune fund would have paid a part that is no longer the commune's.
    moved = await support.call("PATCH", url, OFFICER_A0, headers={"If-Match": '"1"'}, json={
        "funding": [{"source": "vnn_fund_district", "amount_vnd": 12_000_000},
                    {"source": "hlhpn_mai_am", "amount_vnd": 8_000_000}], "reason": "Sửa nguồn"})
    assert moved.status_code == 409, moved.text
    problem = moved.json()
    assert problem["code"] == "delivery_has_fund_spends" and problem["field"] == "funding"
    assert problem["paid_by_level"] == {"commune": 5_000_000}
    assert problem["fund_part_by_level"] == {"district": 12_000_000}
    assert "commune" in problem["errors"][0]["reason"]
    assert (await fetch(support.db_url, "SELECT version, funding FROM deliveries WHERE id = $1",
                        uuid.UUID(delivery)))[0] == before
    # Moving the district's part, which no district fund paid, is a correction like any other.
    kept = await support.call("PATCH", url, OFFICER_A0, headers={"If-Match": '"1"'}, json={
        "funding": [{"source": "vnn_fund_commune", "amount_vnd": 5_000_000},
                    {"source": "hlhpn_mai_am", "amount_vnd": 15_000_000}], "reason": "Sửa nguồn"})
    assert kept.status_code == 200, kept.text
