"""The "Vì người nghèo" fund ledger: donations in, spends and transfers out, never below zero even
under concurrent spends, statements in JSON and XLSX, the events reporting reads, and scope."""

from __future__ import annotations

import asyncio
import io
import uuid
from datetime import date
from typing import Any

import orjson
from openpyxl import load_workbook

from services.reporting.support.rules import fund_entries
from services.support.funds.combiner import SpendCombiner
from services.support.funds.schemas import SpendIn
from shared.errors import Problem
from shared.events import Event
from shared.principal import Principal
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
from tests.support.funds_helpers import balance, commune_repair, donate, open_fund


async def test_donations_spends_and_a_transfer_down_make_the_statement(support: Support) -> None:
    district, commune = await open_fund(support, "213"), await open_fund(support, "07207", OFFICER_A0)
    assert (await support.call("POST", "/support/funds", OFFICER_A0, json={"unit": "07207"})).status_code == 409
    assert (await donate(support, district, 15_000_000, "2023-12-20")).status_code == 201
    assert (await donate(support, district, 100_000_000)).status_code == 201
    moved = await support.call("POST", f"/support/funds/{district}/transfers", DISTRICT_A_OFFICER, json={
        "amount_vnd": 20_000_000, "occurred_on": "2024-10-20", "to_fund_id": commune, "note": "Hỗ trợ xây nhà"})
    assert moved.status_code == 201, moved.text
    household = await support.household(A0, "poor")
    delivery = (await support.call("POST", "/support/deliveries", OFFICER_A0, json=commune_repair(household))).json()
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
    # Money is numbers, not text such as "95.00 triệu đồng" (which a Vietnamese reader may take for 95
    # thousand): VND and million VND, formatted by Excel in the reader's locale.
    assert ("Số dư đầu kỳ", 15_000_000, 15) in [row[:3] for row in values]
    assert ("Số dư cuối kỳ", 95_000_000, 95) in [row[:3] for row in values]
    closing = next(row for row in sheet.iter_rows() if row[0].value == "Số dư cuối kỳ")
    assert (closing[1].number_format, closing[2].number_format) == ("#,##0", "#,##0.00")
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


async def test_spends_waiting_on_one_fund_go_in_one_transaction_each_checked_in_turn(support: Support) -> None:
    """The spends waiting together are applied in one transaction, in arrival order, each against the balance
    the ones before it left: refused ones (beyond the balance, a fund outside the caller's scope) change
    nothing, accepted ones get their own entry and event and move the fund's version by one each."""
    fund = await open_fund(support, "213")
    await donate(support, fund, 10_000_000)
    version = (await support.call("GET", f"/support/funds/{fund}", DISTRICT_A_OFFICER)).json()["version"]
    combiner = SpendCombiner(support.app.state.db)
    asked = [(DISTRICT_A_OFFICER, 3_000_000), (OTHER_DISTRICT, 1_000), (DISTRICT_A_OFFICER, 4_000_000),
             (PROVINCE_OFFICER, 5_000_000), (DISTRICT_A_OFFICER, 2_000_000), (PROVINCE_OFFICER, 1_000_000),
             (DISTRICT_A_OFFICER, 1)]

    async def spend(officer: Principal, amount: int) -> object:
        body = SpendIn(amount_vnd=amount, occurred_on=date(2024, 11, 1), purpose=f"Chi {amount}")
        try:
            return (await combiner.spend(officer, uuid.UUID(fund), body)).balance_after
        except Problem as refused:
            return refused.status, refused.extra.get("balance_vnd")

    answers = await asyncio.gather(*(spend(officer, amount) for officer, amount in asked))
    assert answers == [7_000_000, (404, None), 3_000_000, (409, 3_000_000), 1_000_000, 0, (409, 0)]
    rows = await fetch(support.db_url, "SELECT xmin::text AS tx, amount_vnd, balance_after FROM fund_entries "
                                       "WHERE fund_id = $1 AND kind = 'spend' ORDER BY balance_after DESC",
                       uuid.UUID(fund))
    assert len({r["tx"] for r in rows}) == 1  # one transaction for the lot
    assert [(r["amount_vnd"], r["balance_after"]) for r in rows] == [
        (-3_000_000, 7_000_000), (-4_000_000, 3_000_000), (-2_000_000, 1_000_000), (-1_000_000, 0)]
    after = (await support.call("GET", f"/support/funds/{fund}", DISTRICT_A_OFFICER)).json()
    assert after["balance_vnd"] == 0 and after["version"] == version + 4
    spent = await support.events("support.fund.spent")
    assert [(e["version"], e["payload"]["balance_after"], e["payload"]["amount_vnd"]) for e in spent] == [
        (version + 1, 7_000_000, 3_000_000), (version + 2, 3_000_000, 4_000_000), (version + 3, 1_000_000, 2_000_000),
        (version + 4, 0, 1_000_000)]


async def test_many_concurrent_spends_of_mixed_kinds_keep_the_ledger_exact(support: Support) -> None:
    """Plain spends (combined), spends with an Idempotency-Key (each its own transaction, some retried) and
    spends by officers of other units, all at once on one fund: never below zero, the accepted sum is
    exactly what left the fund, one event per accepted spend, a retried key spends once."""
    fund = await open_fund(support, "213")
    await donate(support, fund, 50_000_000)
    keys = [str(uuid.uuid4()) for _ in range(10)]

    async def spend(i: int) -> tuple[int, int]:
        amount = 1_000_000 + 1_000 * (i % 10)  # the same key, the same request
        headers = {"Idempotency-Key": keys[i % 10]} if i % 4 == 0 else {}
        officer = FOREIGN[i % len(FOREIGN)] if i % 9 == 0 else DISTRICT_A_OFFICER
        response = await support.call("POST", f"/support/funds/{fund}/spends", officer, headers=headers, json={
            "amount_vnd": amount, "occurred_on": "2024-11-01", "purpose": f"Chi lần {i % 10}"})
        return response.status_code, amount

    answers = await asyncio.gather(*(spend(i) for i in range(80)))
    assert {status for status, _ in answers} <= {201, 404, 409}
    assert sum(1 for i, (status, _) in enumerate(answers) if i % 9 == 0 and status == 404) == 9
    rows = await fetch(support.db_url, "SELECT count(*), -sum(amount_vnd), min(balance_after) FROM fund_entries "
                                       "WHERE fund_id = $1 AND kind = 'spend'", uuid.UUID(fund))
    count, spent, lowest = rows[0]
    left = await balance(support, fund)
    assert lowest >= 0 and left >= 0 and spent + left == 50_000_000
    assert count == len(await support.events("support.fund.spent"))
    # A replayed key answered 201 without spending again: fewer entries than 201 answers.
    keyed = {keys[i % 10] for i in range(80) if i % 4 == 0 and i % 9 != 0 and answers[i][0] == 201}
    replays = sum(1 for i in range(80) if i % 4 == 0 and i % 9 != 0 and answers[i][0] == 201) - len(keyed)
    assert count == sum(1 for status, _ in answers if status == 201) - replays
    assert left < 1_009_000  # 80 spends of about 1 M asked for more than the 50 M held: the fund ran dry


async def _linked_state(support: Support, fund: str, delivery: str) -> list[Any]:
    entries = await fetch(support.db_url, "SELECT kind, amount_vnd FROM fund_entries WHERE fund_id = $1 ORDER BY "
                                          "recorded_at, id", uuid.UUID(fund))
    row = await fetch(support.db_url, "SELECT status, version, funding::text FROM deliveries WHERE id = $1",
                      uuid.UUID(delivery))
    return [await balance(support, fund), [tuple(e) for e in entries], tuple(row[0]),
            len(await support.events("support.fund.spent")), await support.delivery_events()]


async def test_a_spend_linked_to_a_delivery_stays_within_its_fund_part(support: Support) -> None:
    """housing_repair: 20 M VND, of which 12 M from the commune's "Vì người nghèo" fund and 8 M from the
    Women's Union's own fund: spends linked to it may pay at most the 12 M, refunds deducted."""
    fund = await open_fund(support, "07207", OFFICER_A0)
    await donate(support, fund, 50_000_000)
    household = await support.household(A0, "poor")
    delivery = (await support.call("POST", "/support/deliveries", OFFICER_A0, json=commune_repair(household))).json()
    url = f"/support/funds/{fund}/spends"

    def spend(amount: int) -> dict[str, Any]:
        return {"amount_vnd": amount, "occurred_on": "2024-11-02", "purpose": "Sửa nhà hộ nghèo",
                "delivery_id": delivery["id"]}

    first = await support.call("POST", url, OFFICER_A0, json=spend(10_000_000))
    assert first.status_code == 201, first.text
    before = await _linked_state(support, fund, delivery["id"])
    over = await support.call("POST", url, OFFICER_A0, json=spend(3_000_000))
    assert over.status_code == 409, over.text
    problem = over.json()
    assert problem["code"] == "delivery_fund_part_exceeded" and problem["field"] == "amount_vnd"
    assert (problem["fund_part_vnd"], problem["already_paid_vnd"], problem["left_vnd"]) == (
        12_000_000, 10_000_000, 2_000_000)
    assert await _linked_state(support, fund, delivery["id"]) == before
    # A refund gives room back; the part is then paid exactly.
    refunded = await support.call("POST", f"/support/funds/{fund}/refunds", OFFICER_A0, json={
        "spend_entry_id": first.json()["id"], "amount_vnd": 1_000_000, "occurred_on": "2024-11-05",
        "reason": "Hộ không dùng hết"})
    assert refunded.status_code == 201, refunded.text
    assert (await support.call("POST", url, OFFICER_A0, json=spend(3_000_000))).status_code == 201
    assert (await support.call("POST", url, OFFICER_A0, json=spend(1))).status_code == 409
    # A delivery with no "Vì người nghèo" part cannot be paid by the fund at all.
    state_paid = housing_repair(household, funding=[{"source": "state_district", "amount_vnd": 20_000_000}])
    other = (await support.call("POST", "/support/deliveries", OFFICER_A0, json=state_paid)).json()
    before = await _linked_state(support, fund, other["id"])
    refused = await support.call("POST", url, OFFICER_A0, json={**spend(1_000_000), "delivery_id": other["id"]})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "delivery_id"
    assert "state_district" in refused.json()["detail"]
    assert await _linked_state(support, fund, other["id"]) == before


async def test_a_delivery_paid_by_the_fund_is_voided_only_once_the_money_came_back(support: Support) -> None:
    fund = await open_fund(support, "07207", OFFICER_A0)
    await donate(support, fund, 50_000_000)
    household = await support.household(A0, "poor")
    delivery = (await support.call("POST", "/support/deliveries", OFFICER_A0, json=commune_repair(household))).json()
    durl = f"/support/deliveries/{delivery['id']}"
    spent = await support.call("POST", f"/support/funds/{fund}/spends", OFFICER_A0, json={
        "amount_vnd": 12_000_000, "occurred_on": "2024-11-02", "purpose": "Sửa nhà hộ nghèo",
        "delivery_id": delivery["id"]})
    assert spent.status_code == 201
    before = await _linked_state(support, fund, delivery["id"])
    # The fund part cannot drop below what the fund paid...
    lower = await support.call("PATCH", durl, OFFICER_A0, headers={"If-Match": '"1"'}, json={
        "funding": [{"source": "vnn_fund_commune", "amount_vnd": 5_000_000},
                    {"source": "hlhpn_mai_am", "amount_vnd": 15_000_000}], "reason": "Sửa nguồn"})
    assert lower.status_code == 409 and lower.json()["field"] == "funding" and lower.json()["paid_vnd"] == 12_000_000
    # ...and the delivery is not voided while the spend stands.
    void = await support.call("POST", f"{durl}/void", OFFICER_A0, json={"reason": "Ghi trùng"},
                              headers={"If-Match": '"1"'})
    assert void.status_code == 409 and void.json()["code"] == "delivery_has_fund_spends"
    assert void.json()["paid_vnd"] == 12_000_000 and "refund" in void.json()["detail"]
    assert await _linked_state(support, fund, delivery["id"]) == before
    back = await support.call("POST", f"/support/funds/{fund}/refunds", OFFICER_A0, json={
        "spend_entry_id": spent.json()["id"], "amount_vnd": 12_000_000, "occurred_on": "2024-11-05",
        "reason": "Ghi trùng, hoàn quỹ"})
    assert back.status_code == 201
    voided = await support.call("POST", f"{durl}/void", OFFICER_A0, json={"reason": "Ghi trùng"},
                                headers={"If-Match": '"1"'})
    assert voided.status_code == 200 and voided.json()["status"] == "voided"
    assert await balance(support, fund) == 50_000_000
