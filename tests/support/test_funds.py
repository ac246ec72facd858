"""The "Vì người nghèo" fund ledger: donations in, spends and transfers out, never below zero even
under concurrent spends, statements in JSON and XLSX, the events reporting reads, and scope."""

from __future__ import annotations

import asyncio
import io
import uuid

import orjson
from openpyxl import load_workbook

from services.reporting.support.rules import fund_entries
from shared.events import Event
from tests.kit import fetch
from tests.support.conftest import (
    A0,
    DISTRICT_A_OFFICER,
    FOREIGN,
    OFFICER_A0,
    OTHER_DISTRICT,
    PROVINCE_OFFICER,
    Support,
    housing_repair,
)
from tests.support.funds_helpers import balance, donate, open_fund


async def test_donations_spends_and_a_transfer_down_make_the_statement(support: Support) -> None:
    district, commune = await open_fund(support, "213"), await open_fund(support, "07207", OFFICER_A0)
    assert (await support.call("POST", "/support/funds", OFFICER_A0, json={"unit": "07207"})).status_code == 409
    assert (await donate(support, district, 15_000_000, "2023-12-20")).status_code == 201
    assert (await donate(support, district, 100_000_000)).status_code == 201
    moved = await support.call("POST", f"/support/funds/{district}/transfers", DISTRICT_A_OFFICER, json={
        "amount_vnd": 20_000_000, "occurred_on": "2024-10-20", "to_fund_id": commune, "note": "Hỗ trợ xây nhà"})
    assert moved.status_code == 201, moved.text
    household = await support.household(A0, "poor")
    delivery = (await support.call("POST", "/support/deliveries", OFFICER_A0, json=housing_repair(household))).json()
    spent = await support.call("POST", f"/support/funds/{commune}/spends", OFFICER_A0, json={
        "amount_vnd": 12_000_000, "occurred_on": "2024-11-02", "purpose": "Sửa nhà hộ nghèo",
        "delivery_id": delivery["id"]})
    assert spent.status_code == 201, spent.text
    assert spent.json()["programme"] == "housing_repair" and spent.json()["balance_after"] == 8_000_000
    assert await balance(support, district) == 95_000_000 and await balance(support, commune) == 8_000_000
    statement = (await support.call("GET", f"/support/funds/{district}/statement", DISTRICT_A_OFFICER,
                                    params={"year": 2024})).json()
    assert (statement["opening_vnd"], statement["in_vnd"], statement["out_vnd"], statement["closing_vnd"]) == (
        15_000_000, 100_000_000, 20_000_000, 95_000_000)
    assert statement["closing_million_vnd"] == "95.00" and statement["from"] == "2024-01-01"
    assert [e["kind"] for e in statement["entries"]] == ["donation", "transfer_out"]
    xlsx = await support.call("GET", f"/support/funds/{district}/statement", DISTRICT_A_OFFICER,
                              params={"year": 2024, "format": "xlsx"})
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = [row for row in sheet.iter_rows(values_only=True)]
    assert ("Số dư cuối kỳ", 95_000_000, "95.00 triệu đồng") in [row[:3] for row in values]
    assert any(row[1] == "Chuyển quỹ cấp dưới" and row[2] == -20_000_000 for row in values)
    # The contract: reporting's projection reads every fund event into signed ledger lines.
    lines = []
    for subject in ("support.fund.donation_received", "support.fund.transferred", "support.fund.spent"):
        for raw in await support.events(subject):
            lines += fund_entries(Event.from_bytes(orjson.dumps(raw)))
    by_fund: dict[str, int] = {}
    for line in lines:
        by_fund[line["fund_id"]] = by_fund.get(line["fund_id"], 0) + line["amount_vnd"]
    assert by_fund == {district: 95_000_000, commune: 8_000_000}


async def test_a_spend_beyond_the_balance_is_refused_and_changes_nothing(support: Support) -> None:
    fund = await open_fund(support, "213")
    await donate(support, fund, 1_000_000)
    refused = await support.call("POST", f"/support/funds/{fund}/spends", DISTRICT_A_OFFICER, json={
        "amount_vnd": 1_000_001, "occurred_on": "2024-11-01", "purpose": "Quà Tết"})
    assert refused.status_code == 409 and refused.json()["code"] == "insufficient_balance"
    assert refused.json()["balance_vnd"] == 1_000_000
    assert await balance(support, fund) == 1_000_000
    assert len(await support.events("support.fund.spent")) == 0
    entries = (await support.call("GET", f"/support/funds/{fund}/entries", DISTRICT_A_OFFICER)).json()
    assert entries["total"] == 1


async def test_concurrent_spends_never_take_the_balance_below_zero(support: Support) -> None:
    fund = await open_fund(support, "213")
    await donate(support, fund, 7_000_000)

    async def spend(i: int) -> int:
        response = await support.call("POST", f"/support/funds/{fund}/spends", DISTRICT_A_OFFICER, json={
            "amount_vnd": 1_000_000, "occurred_on": "2024-11-01", "purpose": f"Chi lần {i}"})
        return response.status_code

    statuses = await asyncio.gather(*(spend(i) for i in range(20)))
    assert sorted(statuses).count(201) == 7 and statuses.count(409) == 13
    assert await balance(support, fund) == 0
    rows = await fetch(support.db_url, "SELECT sum(amount_vnd), min(balance_after) FROM fund_entries "
                                       "WHERE fund_id = $1", uuid.UUID(fund))
    assert rows[0][0] == 0 and rows[0][1] == 0
    assert len(await support.events("support.fund.spent")) == 7


async def test_a_retried_spend_with_the_same_key_spends_once(support: Support) -> None:
    fund = await open_fund(support, "213")
    await donate(support, fund, 5_000_000)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"amount_vnd": 2_000_000, "occurred_on": "2024-11-01", "purpose": "Quà Tết"}
    for _ in range(2):
        response = await support.call("POST", f"/support/funds/{fund}/spends", DISTRICT_A_OFFICER, json=body,
                                      headers=key)
        assert response.status_code == 201
    assert await balance(support, fund) == 3_000_000


async def test_other_units_cannot_read_or_move_a_fund(support: Support) -> None:
    district, commune = await open_fund(support, "213"), await open_fund(support, "07207", OFFICER_A0)
    await donate(support, district, 10_000_000)
    other = await open_fund(support, "215", OTHER_DISTRICT)
    before = await fetch(support.db_url, "SELECT id, balance_vnd, version FROM funds ORDER BY id")
    spend = {"amount_vnd": 1_000, "occurred_on": "2024-11-01", "purpose": "Thử"}
    for officer in FOREIGN:
        for path in (f"/support/funds/{district}", f"/support/funds/{district}/entries",
                     f"/support/funds/{district}/statement"):
            assert (await support.call("GET", path, officer)).status_code == 404, (officer.id, path)
        assert (await support.call("POST", f"/support/funds/{district}/spends", officer, json=spend)).status_code == 404
        donation = {"amount_vnd": 1_000, "occurred_on": "2024-11-01", "donor_name": "X"}
        assert (await support.call("POST", f"/support/funds/{district}/donations", officer,
                                   json=donation)).status_code == 404
        listed = (await support.call("GET", "/support/funds", officer)).json()
        assert district not in str(listed) and commune not in str(listed)
        assert (await support.call("GET", "/support/funds", officer, params={"unit": "213"})).status_code == 404
    # A transfer to a fund the caller cannot see, or one that is not below: refused.
    across = {"amount_vnd": 1_000, "occurred_on": "2024-11-01", "to_fund_id": other}
    assert (await support.call("POST", f"/support/funds/{district}/transfers", DISTRICT_A_OFFICER,
                               json=across)).status_code == 404
    up = await support.call("POST", f"/support/funds/{commune}/transfers", PROVINCE_OFFICER,
                            json={**across, "to_fund_id": district})
    assert up.status_code == 422 and up.json()["errors"][0]["field"] == "to_fund_id"
    sideways = await support.call("POST", f"/support/funds/{district}/transfers", PROVINCE_OFFICER,
                                  json={**across, "to_fund_id": other})
    assert sideways.status_code == 422
    assert await fetch(support.db_url, "SELECT id, balance_vnd, version FROM funds ORDER BY id") == before
