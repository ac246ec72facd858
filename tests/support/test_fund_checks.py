"""The fund ledger's checks: money going out dated before later entries is refused when any day from
its date on would fall below zero (plain, keyed, combined spends and transfers), so no statement ever
closes below zero; an `insufficient_balance` names its field; a receipt number is recorded once per
fund."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Any

from services.support.funds.combiner import SpendCombiner
from services.support.funds.schemas import SpendIn
from shared.errors import Problem
from tests.kit import fetch
from tests.support.conftest import DISTRICT_A_OFFICER, OFFICER_A0, Support
from tests.support.funds_helpers import balance, donate, open_fund

PERIODS = (("2024-01-01", "2024-06-30"), ("2024-07-01", "2024-12-31"), ("2024-01-01", "2024-01-31"),
           ("2024-10-01", "2024-10-31"), ("2023-01-01", "2025-12-31"))


async def _ledger(support: Support, fund: str) -> list[Any]:
    rows = await fetch(support.db_url, "SELECT kind, amount_vnd, occurred_on FROM fund_entries WHERE fund_id = $1 "
                                       "ORDER BY recorded_at, id", uuid.UUID(fund))
    return [tuple(r) for r in rows]


async def _statements(support: Support, fund: str) -> list[tuple[int, int]]:
    figures = []
    for start, end in PERIODS:
        answer = (await support.call("GET", f"/support/funds/{fund}/statement", DISTRICT_A_OFFICER,
                                     params={"from": start, "to": end})).json()
        figures.append((answer["opening_vnd"], answer["closing_vnd"]))
    return figures


def _spend(amount: int, day: str) -> dict[str, Any]:
    return {"amount_vnd": amount, "occurred_on": day, "purpose": "Chi hỗ trợ hộ nghèo"}


async def test_a_backdated_spend_that_an_earlier_day_cannot_hold_is_refused(support: Support) -> None:
    """The audit's case: 1 M donated on 17 Oct; 1 M spent dated 5 Jan would leave Jan–Oct at -1 M."""
    fund = await open_fund(support, "213")
    assert (await donate(support, fund, 1_000_000, "2024-10-17")).status_code == 201
    before = await _ledger(support, fund)
    url = f"/support/funds/{fund}/spends"
    for headers in ({}, {"Idempotency-Key": str(uuid.uuid4())}):  # combined, and a transaction of its own
        refused = await support.call("POST", url, DISTRICT_A_OFFICER, json=_spend(1_000_000, "2024-01-05"),
                                     headers=headers)
        assert refused.status_code == 409, refused.text
        problem = refused.json()
        assert problem["code"] == "insufficient_balance" and problem["field"] == "occurred_on"
        assert problem["errors"][0]["field"] == "occurred_on" and "2024-01-05" in problem["errors"][0]["reason"]
        assert (problem["balance_vnd"], problem["available_vnd"], problem["lowest_on"]) == (
            1_000_000, 0, "2024-01-05")
    # A transfer down dated before the donation: the same rule.
    commune = await open_fund(support, "07207", OFFICER_A0)
    down = await support.call("POST", f"/support/funds/{fund}/transfers", DISTRICT_A_OFFICER, json={
        "amount_vnd": 500_000, "occurred_on": "2024-03-01", "to_fund_id": commune})
    assert down.status_code == 409 and down.json()["field"] == "occurred_on", down.text
    assert await _ledger(support, fund) == before and await _ledger(support, commune) == []
    assert await balance(support, fund) == 1_000_000 and await balance(support, commune) == 0
    assert await support.events("support.fund.spent") == [] and await support.events("support.fund.transferred") == []
    first_half = (await support.call("GET", f"/support/funds/{fund}/statement", DISTRICT_A_OFFICER,
                                     params={"from": "2024-01-01", "to": "2024-06-30"})).json()
    assert (first_half["opening_vnd"], first_half["closing_vnd"], first_half["entries"]) == (0, 0, [])
    # Dated on the donation's day or after it, the money is there.
    on_the_day = await support.call("POST", url, DISTRICT_A_OFFICER, json=_spend(1_000_000, "2024-10-17"))
    assert on_the_day.status_code == 201 and await balance(support, fund) == 0


async def test_a_backdated_spend_the_later_balance_allows_is_accepted(support: Support) -> None:
    fund = await open_fund(support, "213")
    await donate(support, fund, 3_000_000, "2024-03-01")
    await donate(support, fund, 1_000_000, "2024-11-20")
    url = f"/support/funds/{fund}/spends"
    first = await support.call("POST", url, DISTRICT_A_OFFICER, json=_spend(2_000_000, "2024-10-01"))
    assert first.status_code == 201
    # Dated 1 May: 3 M then, 1 M after 1 Oct, 2 M after 20 Nov — 1 M may still go out dated 1 May.
    keyed = {"Idempotency-Key": str(uuid.uuid4())}
    assert (await support.call("POST", url, DISTRICT_A_OFFICER, json=_spend(1_000_000, "2024-05-01"),
                               headers=keyed)).status_code == 201
    # Now 0 between 1 Oct and 20 Nov: nothing more dated before 20 Nov, though the fund holds 1 M.
    for headers in ({}, {"Idempotency-Key": str(uuid.uuid4())}):
        refused = await support.call("POST", url, DISTRICT_A_OFFICER, json=_spend(1, "2024-06-01"), headers=headers)
        assert refused.status_code == 409 and refused.json()["field"] == "occurred_on", refused.text
        assert (refused.json()["available_vnd"], refused.json()["lowest_on"]) == (0, "2024-10-01")
    accepted = await support.call("POST", url, DISTRICT_A_OFFICER, json=_spend(1_000_000, "2024-11-20"))
    assert accepted.status_code == 201 and accepted.json()["balance_after"] == 0
    # balance_after is in recording order: the backdated spend shows the balance when it was recorded.
    assert [(k, a) for k, a, _ in await _ledger(support, fund)] == [
        ("donation", 3_000_000), ("donation", 1_000_000), ("spend", -2_000_000), ("spend", -1_000_000),
        ("spend", -1_000_000)]
    for opening, closing in await _statements(support, fund):
        assert opening >= 0 and closing >= 0
    rows = await fetch(support.db_url, "SELECT min(s) FROM (SELECT sum(amount_vnd) OVER (ORDER BY occurred_on) AS s "
                                       "FROM fund_entries WHERE fund_id = $1) r", uuid.UUID(fund))
    assert rows[0][0] >= 0
    latest = await fetch(support.db_url, "SELECT latest_on FROM funds WHERE id = $1", uuid.UUID(fund))
    assert latest[0][0] == date(2024, 11, 20)


async def test_combined_spends_check_backdated_ones_against_the_days_after_them(support: Support) -> None:
    """In one combined transaction, a backdated spend is checked against the stored entries after its date
    and the spends of the same batch before it."""
    fund = await open_fund(support, "213")
    await donate(support, fund, 5_000_000, "2024-10-17")
    combiner = SpendCombiner(support.app.state.db)

    async def spend(amount: int, day: date) -> object:
        body = SpendIn(amount_vnd=amount, occurred_on=day, purpose=f"Chi {amount}")
        try:
            return (await combiner.spend(DISTRICT_A_OFFICER, uuid.UUID(fund), body)).balance_after
        except Problem as refused:
            return refused.status, refused.extra["field"], refused.extra["available_vnd"]

    answers = await asyncio.gather(spend(2_000_000, date(2024, 11, 1)), spend(4_000_000, date(2024, 10, 20)),
                                   spend(3_000_000, date(2024, 1, 5)), spend(3_000_000, date(2024, 10, 18)))
    assert answers == [3_000_000, (409, "amount_vnd", 3_000_000), (409, "occurred_on", 0), 0]
    for opening, closing in await _statements(support, fund):
        assert opening >= 0 and closing >= 0
    assert len(await support.events("support.fund.spent")) == 2


async def test_insufficient_balance_names_the_amount(support: Support) -> None:
    fund = await open_fund(support, "213")
    await donate(support, fund, 1_000_000)
    for headers in ({}, {"Idempotency-Key": str(uuid.uuid4())}):
        refused = await support.call("POST", f"/support/funds/{fund}/spends", DISTRICT_A_OFFICER,
                                     json=_spend(1_000_001, "2024-11-01"), headers=headers)
        problem = refused.json()
        assert refused.status_code == 409 and problem["code"] == "insufficient_balance"
        assert problem["field"] == "amount_vnd" and problem["balance_vnd"] == 1_000_000
        assert problem["errors"] == [{"field": "amount_vnd", "reason": "more than the 1000000 VND the fund holds"}]


async def test_a_receipt_number_is_recorded_once_per_fund(support: Support) -> None:
    fund, other = await open_fund(support, "213"), await open_fund(support, "07207", OFFICER_A0)
    first = await donate(support, fund, 2_000_000, receipt_number="PT-2024-001")
    assert first.status_code == 201
    before = await _ledger(support, fund)
    # A retried donation without Idempotency-Key: refused, naming the entry already recorded.
    again = await donate(support, fund, 2_000_000, receipt_number="PT-2024-001")
    assert again.status_code == 409, again.text
    problem = again.json()
    assert problem["code"] == "duplicate_receipt" and problem["field"] == "receipt_number"
    assert problem["entry_id"] == first.json()["id"] and problem["errors"][0]["field"] == "receipt_number"
    assert await _ledger(support, fund) == before and await balance(support, fund) == 2_000_000
    assert len(await support.events("support.fund.donation_received")) == 1
    # Concurrent retries: exactly one more is recorded.
    answers = await asyncio.gather(*(donate(support, fund, 1_000, receipt_number="PT-2024-002") for _ in range(6)))
    assert sorted(a.status_code for a in answers) == [201] + [409] * 5
    # Another fund has its own receipt book; donations without a receipt number are not compared.
    assert (await donate(support, other, 1_000, receipt_number="PT-2024-001")).status_code == 201
    assert (await donate(support, fund, 1_000, receipt_number=None)).status_code == 201
    assert (await donate(support, fund, 1_000, receipt_number=None)).status_code == 201
    assert await balance(support, fund) == 2_003_000
