"""Refunds: money of a spend coming back into the fund — linked to the spend, never more than what of
it has not come back (even under concurrent refunds), in the statement and in the events reporting
reads; refused requests change nothing; other units cannot refund."""

from __future__ import annotations

import asyncio
import io
import uuid
from typing import Any

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
    Support,
)
from tests.support.funds_helpers import balance, commune_repair, donate, open_fund


async def _spend(support: Support, fund: str, amount: int, officer: Any = DISTRICT_A_OFFICER,
                 **extra: Any) -> dict[str, Any]:
    response = await support.call("POST", f"/support/funds/{fund}/spends", officer, json={
        "amount_vnd": amount, "occurred_on": "2024-11-02", "purpose": "Sửa nhà hộ nghèo", **extra})
    assert response.status_code == 201, response.text
    return dict(response.json())


def _refund(spend_id: str, amount: int, day: str = "2024-11-20", **extra: Any) -> dict[str, Any]:
    return {"spend_entry_id": spend_id, "amount_vnd": amount, "occurred_on": day,
            "reason": "Hộ không nhận hết, hoàn lại quỹ", **extra}


async def _ledger(support: Support, fund: str) -> list[Any]:
    return await fetch(support.db_url, "SELECT kind, amount_vnd, balance_after FROM fund_entries WHERE fund_id = $1 "
                                       "ORDER BY recorded_at, id", uuid.UUID(fund))


async def test_a_refund_brings_back_part_of_a_spend_and_never_more(support: Support) -> None:
    fund = await open_fund(support, "07207", OFFICER_A0)
    await donate(support, fund, 10_000_000)
    household = await support.household(A0, "poor")
    delivery = (await support.call("POST", "/support/deliveries", OFFICER_A0, json=commune_repair(household))).json()
    spend = await _spend(support, fund, 4_000_000, OFFICER_A0, delivery_id=delivery["id"])
    donation_id = (await support.call("GET", f"/support/funds/{fund}/entries", OFFICER_A0)).json()["items"][0]["id"]

    back = await support.call("POST", f"/support/funds/{fund}/refunds", OFFICER_A0,
                              json=_refund(spend["id"], 1_500_000, receipt_number="PT-HL-01"))
    assert back.status_code == 201, back.text
    entry = back.json()
    assert (entry["kind"], entry["amount_vnd"], entry["balance_after"]) == ("refund", 1_500_000, 7_500_000)
    assert entry["counterpart_entry_id"] == spend["id"] and entry["programme"] == "housing_repair"
    assert entry["delivery_id"] == delivery["id"] and entry["purpose"].startswith("Hộ không nhận hết")
    assert await balance(support, fund) == 7_500_000

    before = await _ledger(support, fund)
    for body, status, field in (
            (_refund(spend["id"], 2_500_001), 409, None),  # only 2,500,000 has not come back
            (_refund(donation_id, 1_000), 422, "spend_entry_id"),  # a donation is not a spend
            (_refund(str(uuid.uuid4()), 1_000), 422, "spend_entry_id"),
            (_refund(spend["id"], 1_000, "2024-11-01"), 422, "occurred_on"),  # before the spend
            (_refund(spend["id"], 1_000, "2099-01-01"), 422, "occurred_on"),
            (_refund(spend["id"], 0), 422, "amount_vnd")):
        refused = await support.call("POST", f"/support/funds/{fund}/refunds", OFFICER_A0, json=body)
        assert refused.status_code == status, (body, refused.text)
        if status == 409:
            assert refused.json()["code"] == "refund_exceeds_spend" and refused.json()["refundable_vnd"] == 2_500_000
        else:
            assert field in [e.get("field", "").split(".")[-1] for e in refused.json()["errors"]], refused.text
    assert await _ledger(support, fund) == before and len(await support.events("support.fund.refunded")) == 1

    # The statement counts it in; the XLSX names it; reporting reads the event as money in.
    statement = (await support.call("GET", f"/support/funds/{fund}/statement", OFFICER_A0,
                                    params={"year": 2024})).json()
    assert (statement["in_vnd"], statement["out_vnd"], statement["closing_vnd"]) == (
        11_500_000, 4_000_000, 7_500_000)
    xlsx = await support.call("GET", f"/support/funds/{fund}/statement", OFFICER_A0,
                              params={"year": 2024, "format": "xlsx"})
    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert any(row[1] == "Hoàn lại quỹ" and row[2] == 1_500_000 for row in rows)
    [event] = await support.events("support.fund.refunded")
    assert event["payload"]["spend_entry_id"] == spend["id"] and event["payload"]["amount_vnd"] == 1_500_000
    lines = []
    for subject in ("support.fund.donation_received", "support.fund.spent", "support.fund.refunded"):
        for raw in await support.events(subject):
            lines += fund_entries(Event.from_bytes(orjson.dumps(raw)))
    assert sum(line["amount_vnd"] for line in lines) == 7_500_000
    assert [line["kind"] for line in lines if line["amount_vnd"] == 1_500_000] == ["refund"]


async def test_concurrent_refunds_of_one_spend_never_exceed_it(support: Support) -> None:
    fund = await open_fund(support, "213")
    await donate(support, fund, 5_000_000)
    spend = await _spend(support, fund, 3_000_000)

    async def refund(i: int) -> int:
        response = await support.call("POST", f"/support/funds/{fund}/refunds", DISTRICT_A_OFFICER,
                                      json=_refund(spend["id"], 500_000, note=f"lần {i}"))
        return response.status_code

    statuses = await asyncio.gather(*(refund(i) for i in range(12)))
    assert statuses.count(201) == 6 and statuses.count(409) == 6
    assert await balance(support, fund) == 5_000_000
    rows = await fetch(support.db_url, "SELECT sum(amount_vnd) FROM fund_entries WHERE fund_id = $1", uuid.UUID(fund))
    assert rows[0][0] == 5_000_000
    key = {"Idempotency-Key": str(uuid.uuid4())}
    again = await _spend(support, fund, 1_000_000)
    for _ in range(2):  # a retried refund records once
        response = await support.call("POST", f"/support/funds/{fund}/refunds", DISTRICT_A_OFFICER,
                                      json=_refund(again["id"], 400_000), headers=key)
        assert response.status_code == 201
    assert await balance(support, fund) == 4_400_000


async def test_other_units_cannot_refund(support: Support) -> None:
    district, commune = await open_fund(support, "213"), await open_fund(support, "07207", OFFICER_A0)
    await donate(support, district, 2_000_000)
    await donate(support, commune, 2_000_000)
    spend = await _spend(support, district, 1_000_000)
    commune_spend = await _spend(support, commune, 1_000_000, OFFICER_A0)
    before = await fetch(support.db_url, "SELECT id, balance_vnd, version FROM funds ORDER BY id")
    for officer in FOREIGN:
        response = await support.call("POST", f"/support/funds/{district}/refunds", officer,
                                      json=_refund(spend["id"], 1_000))
        assert response.status_code == 404, (officer.id, response.text)
    # The commune officer cannot reach the district's spend through its own fund either.
    across = await support.call("POST", f"/support/funds/{commune}/refunds", OFFICER_A0,
                                json=_refund(spend["id"], 1_000))
    assert across.status_code == 422 and across.json()["errors"][0]["field"] == "spend_entry_id"
    # Nor may the district give the commune's spend back into the district's fund.
    wrong_fund = await support.call("POST", f"/support/funds/{district}/refunds", DISTRICT_A_OFFICER,
                                    json=_refund(commune_spend["id"], 1_000))
    assert wrong_fund.status_code == 422
    assert await fetch(support.db_url, "SELECT id, balance_vnd, version FROM funds ORDER BY id") == before
    assert await support.events("support.fund.refunded") == []
