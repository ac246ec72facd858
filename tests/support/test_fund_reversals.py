"""Reversals: a mistaken entry cancelled by a `reversal` entry of the opposite amount, linked both ways,
with its reason and its event; never below zero (a donation whose money was spent is not reversed), once
per entry (even under concurrent requests), a transfer's two lines together, a spend only once its
refunds are reversed; statements and reporting's ledger count it; other units cannot reverse."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import orjson

from services.reporting.support.rules import fund_entries
from shared.events import Event
from tests.kit import fetch
from tests.support.conftest import (
    A0,
    DISTRICT_A_OFFICER,
    FOREIGN,
    OFFICER_A0,
    Support,
    housing_repair,
)
from tests.support.funds_helpers import balance, donate, open_fund

REASON = {"reason": "Ghi nhầm số tiền"}


async def _state(support: Support) -> list[Any]:
    entries = await fetch(support.db_url, "SELECT id, fund_id, kind, amount_vnd, reversed_by FROM fund_entries "
                                          "ORDER BY recorded_at, id")
    funds = await fetch(support.db_url, "SELECT id, balance_vnd, version, latest_on FROM funds ORDER BY id")
    return [[tuple(e) for e in entries], [tuple(f) for f in funds], len(await support.events("support.fund.reversed"))]


def _reverse(fund: str, entry: str) -> str:
    return f"/support/funds/{fund}/entries/{entry}/reversal"


async def _entries(support: Support, fund: str, officer: Any = DISTRICT_A_OFFICER) -> dict[str, dict[str, Any]]:
    listed = (await support.call("GET", f"/support/funds/{fund}/entries", officer)).json()["items"]
    return {e["id"]: e for e in listed}


async def _reporting_lines(support: Support) -> list[dict[str, Any]]:
    lines = []
    for subject in ("support.fund.donation_received", "support.fund.transferred", "support.fund.spent",
                    "support.fund.refunded", "support.fund.reversed"):
        for raw in await support.events(subject):
            lines += fund_entries(Event.from_bytes(orjson.dumps(raw)))
    return lines


async def test_a_mistyped_donation_is_reversed_once_and_recorded_again(support: Support) -> None:
    fund = await open_fund(support, "213")
    wrong = (await donate(support, fund, 50_000_000, "2024-10-17", receipt_number="PT-0917")).json()
    reversed_ = await support.call("POST", _reverse(fund, wrong["id"]), DISTRICT_A_OFFICER, json=REASON)
    assert reversed_.status_code == 201, reversed_.text
    entry = reversed_.json()
    assert (entry["kind"], entry["amount_vnd"], entry["balance_after"], entry["occurred_on"]) == (
        "reversal", -50_000_000, 0, "2024-10-17")
    assert entry["counterpart_entry_id"] == wrong["id"] and entry["purpose"] == REASON["reason"]
    assert (await _entries(support, fund))[wrong["id"]]["reversed_by"] == entry["id"]
    # The corrected donation, with the same receipt (the mistaken one no longer holds it).
    right = await donate(support, fund, 5_000_000, "2024-10-17", receipt_number="PT-0917")
    assert right.status_code == 201, right.text
    assert await balance(support, fund) == 5_000_000
    statement = (await support.call("GET", f"/support/funds/{fund}/statement", DISTRICT_A_OFFICER,
                                    params={"year": 2024})).json()
    assert (statement["opening_vnd"], statement["in_vnd"], statement["out_vnd"], statement["closing_vnd"]) == (
        0, 5_000_000, 0, 5_000_000)
    # Not twice, not a reversal, not an entry of another fund or none.
    before = await _state(support)
    twice = await support.call("POST", _reverse(fund, wrong["id"]), DISTRICT_A_OFFICER, json=REASON)
    assert twice.status_code == 409 and twice.json()["code"] == "already_reversed", twice.text
    assert twice.json()["reversal_entry_id"] == entry["id"] and twice.json()["field"] == "entry_id"
    back = await support.call("POST", _reverse(fund, entry["id"]), DISTRICT_A_OFFICER, json=REASON)
    assert back.status_code == 422 and back.json()["errors"][0]["field"] == "entry_id"
    assert (await support.call("POST", _reverse(fund, str(uuid.uuid4())), DISTRICT_A_OFFICER,
                               json=REASON)).status_code == 404
    for body, field in (({}, "reason"), ({**REASON, "occurred_on": "2024-10-16"}, "occurred_on"),
                        ({**REASON, "occurred_on": "2099-01-01"}, "occurred_on")):
        refused = await support.call("POST", _reverse(fund, right.json()["id"]), DISTRICT_A_OFFICER, json=body)
        assert refused.status_code == 422, refused.text
        assert field in [e.get("field", "").split(".")[-1] for e in refused.json()["errors"]], refused.text
    assert await _state(support) == before
    # The event tells reporting all it needs; reporting's ledger nets the donation out.
    [event] = await support.events("support.fund.reversed")
    payload = event["payload"]
    assert event["subject_id"] == entry["id"]
    assert {k: payload[k] for k in ("fund_id", "entry_id", "reversed_entry_id", "reversed_kind", "amount_vnd",
                                    "amount_signed_vnd", "direction", "occurred_on", "reversed_occurred_on",
                                    "reason", "balance_after", "unit_code", "reversed_receipt_number",
                                    "campaign_year", "donor_name")} == {
        "fund_id": fund, "entry_id": entry["id"], "reversed_entry_id": wrong["id"], "reversed_kind": "donation",
        "amount_vnd": 50_000_000, "amount_signed_vnd": -50_000_000, "direction": "out", "occurred_on": "2024-10-17",
        "reversed_occurred_on": "2024-10-17", "reason": REASON["reason"], "balance_after": 0, "unit_code": "213",
        "reversed_receipt_number": "PT-0917", "campaign_year": 2024, "donor_name": "Ngân hàng Nông nghiệp"}
    donations = sum(line["amount_vnd"] for line in await _reporting_lines(support) if line["kind"] == "donation")
    assert donations == 5_000_000


async def test_a_donation_whose_money_was_spent_is_not_reversed(support: Support) -> None:
    fund = await open_fund(support, "213")
    donation = (await donate(support, fund, 3_000_000, "2024-10-17")).json()
    spent = await support.call("POST", f"/support/funds/{fund}/spends", DISTRICT_A_OFFICER, json={
        "amount_vnd": 2_000_000, "occurred_on": "2024-11-01", "purpose": "Quà Tết"})
    assert spent.status_code == 201
    before = await _state(support)
    refused = await support.call("POST", _reverse(fund, donation["id"]), DISTRICT_A_OFFICER, json=REASON)
    assert refused.status_code == 409 and refused.json()["code"] == "insufficient_balance", refused.text
    assert refused.json()["field"] == "amount_vnd" and refused.json()["balance_vnd"] == 1_000_000
    assert await _state(support) == before
    # Money donated later is there now, but not on 1 Nov: dated 17 Oct the reversal would leave 1 Nov at -2 M.
    await donate(support, fund, 5_000_000, "2024-12-01")
    before = await _state(support)
    refused = await support.call("POST", _reverse(fund, donation["id"]), DISTRICT_A_OFFICER, json=REASON)
    assert refused.status_code == 409 and refused.json()["field"] == "occurred_on", refused.text
    assert (refused.json()["available_vnd"], refused.json()["lowest_on"]) == (1_000_000, "2024-11-01")
    assert await _state(support) == before
    # Dated after the later donation, it fits: the money left the fund on 5 Dec.
    later = await support.call("POST", _reverse(fund, donation["id"]), DISTRICT_A_OFFICER,
                               json={**REASON, "occurred_on": "2024-12-05"})
    assert later.status_code == 201 and later.json()["occurred_on"] == "2024-12-05", later.text
    assert await balance(support, fund) == 3_000_000
    figures = (await support.call("GET", f"/support/funds/{fund}/statement", DISTRICT_A_OFFICER,
                                  params={"year": 2024})).json()
    assert (figures["in_vnd"], figures["out_vnd"], figures["closing_vnd"]) == (5_000_000, 2_000_000, 3_000_000)
    november = (await support.call("GET", f"/support/funds/{fund}/statement", DISTRICT_A_OFFICER,
                                   params={"from": "2024-11-01", "to": "2024-11-30"})).json()
    assert november["closing_vnd"] == 1_000_000


async def test_concurrent_reversals_of_one_entry_record_one(support: Support) -> None:
    fund = await open_fund(support, "213")
    donation = (await donate(support, fund, 3_000_000)).json()
    answers = await asyncio.gather(*(support.call("POST", _reverse(fund, donation["id"]), DISTRICT_A_OFFICER,
                                                  json=REASON) for _ in range(6)))
    assert sorted(a.status_code for a in answers) == [201] + [409] * 5
    assert await balance(support, fund) == 0 and len(await support.events("support.fund.reversed")) == 1
    # A retried reversal with its key answers the same entry again.
    again = (await donate(support, fund, 1_000_000)).json()
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first, second = [await support.call("POST", _reverse(fund, again["id"]), DISTRICT_A_OFFICER, json=REASON,
                                        headers=key) for _ in range(2)]
    assert first.status_code == second.status_code == 201 and first.json()["id"] == second.json()["id"]
    assert len(await support.events("support.fund.reversed")) == 2


async def test_a_transfer_is_reversed_with_both_of_its_lines(support: Support) -> None:
    district, commune = await open_fund(support, "213"), await open_fund(support, "07207", OFFICER_A0)
    await donate(support, district, 10_000_000, "2024-10-01")
    moved = await support.call("POST", f"/support/funds/{district}/transfers", DISTRICT_A_OFFICER, json={
        "amount_vnd": 4_000_000, "occurred_on": "2024-10-20", "to_fund_id": commune})
    out = moved.json()
    into = out["counterpart_entry_id"]
    spent = await support.call("POST", f"/support/funds/{commune}/spends", OFFICER_A0, json={
        "amount_vnd": 3_000_000, "occurred_on": "2024-11-01", "purpose": "Quà Tết"})
    assert spent.status_code == 201
    before = await _state(support)
    # From the receiving side: refused, naming the sending one.
    inside = await support.call("POST", _reverse(commune, into), OFFICER_A0, json=REASON)
    assert inside.status_code == 422 and district in inside.json()["errors"][0]["reason"], inside.text
    # The commune spent 3 M of the 4 M: the transfer cannot come back.
    short = await support.call("POST", _reverse(district, out["id"]), DISTRICT_A_OFFICER, json=REASON)
    assert short.status_code == 409 and short.json()["code"] == "insufficient_balance", short.text
    assert short.json()["fund_id"] == commune and short.json()["balance_vnd"] == 1_000_000
    assert await _state(support) == before
    assert (await support.call("POST", _reverse(commune, spent.json()["id"]), OFFICER_A0,
                               json=REASON)).status_code == 201
    both = await support.call("POST", _reverse(district, out["id"]), DISTRICT_A_OFFICER, json=REASON)
    assert both.status_code == 201, both.text
    assert await balance(support, district) == 10_000_000 and await balance(support, commune) == 0
    lower = await _entries(support, commune, OFFICER_A0)
    assert (await _entries(support, district))[out["id"]]["reversed_by"] == both.json()["id"]
    [back] = [e for e in lower.values() if e["kind"] == "reversal" and e["counterpart_entry_id"] == into]
    assert lower[into]["reversed_by"] == back["id"] and back["amount_vnd"] == -4_000_000
    assert back["counterpart_fund_id"] == district and back["balance_after"] == 0
    reversed_events = await support.events("support.fund.reversed")
    transfer_event = [e for e in reversed_events if e["payload"]["reversed_kind"] == "transfer_out"][0]["payload"]
    assert (transfer_event["to_fund_id"], transfer_event["to_entry_id"], transfer_event["to_reversed_entry_id"],
            transfer_event["to_balance_after"]) == (commune, back["id"], into, 0)
    # Statements: the transfer and its reversal leave no trace in the figures.
    figures = (await support.call("GET", f"/support/funds/{district}/statement", DISTRICT_A_OFFICER,
                                  params={"year": 2024})).json()
    assert (figures["in_vnd"], figures["out_vnd"], figures["closing_vnd"]) == (10_000_000, 0, 10_000_000)
    # Reporting's ledger, from the events alone, holds the same balances.
    by_fund: dict[str, int] = {}
    for line in await _reporting_lines(support):
        by_fund[line["fund_id"]] = by_fund.get(line["fund_id"], 0) + line["amount_vnd"]
    assert by_fund == {district: 10_000_000, commune: 0}


async def test_a_spend_is_reversed_once_its_refunds_are(support: Support) -> None:
    fund = await open_fund(support, "07207", OFFICER_A0)
    await donate(support, fund, 20_000_000)
    household = await support.household(A0, "poor")
    delivery = (await support.call("POST", "/support/deliveries", OFFICER_A0, json=housing_repair(
        household, funding=[{"source": "vnn_fund_commune", "amount_vnd": 12_000_000},
                            {"source": "hlhpn_mai_am", "amount_vnd": 8_000_000}]))).json()
    spent = (await support.call("POST", f"/support/funds/{fund}/spends", OFFICER_A0, json={
        "amount_vnd": 12_000_000, "occurred_on": "2024-11-02", "purpose": "Sửa nhà", "delivery_id": delivery["id"]
    })).json()
    refund = await support.call("POST", f"/support/funds/{fund}/refunds", OFFICER_A0, json={
        "spend_entry_id": spent["id"], "amount_vnd": 2_000_000, "occurred_on": "2024-11-05", "reason": "Thừa"})
    assert refund.status_code == 201
    before = await _state(support)
    refused = await support.call("POST", _reverse(fund, spent["id"]), OFFICER_A0, json=REASON)
    assert refused.status_code == 409 and refused.json()["code"] == "spend_has_refunds", refused.text
    assert refused.json()["refunded_vnd"] == 2_000_000 and await _state(support) == before
    undone = await support.call("POST", _reverse(fund, refund.json()["id"]), OFFICER_A0, json=REASON)
    assert undone.status_code == 201 and undone.json()["delivery_id"] == delivery["id"], undone.text
    # The whole 12 M is paid again: no room left in the delivery's fund part.
    over = await support.call("POST", f"/support/funds/{fund}/spends", OFFICER_A0, json={
        "amount_vnd": 1, "occurred_on": "2024-11-06", "purpose": "Sửa nhà", "delivery_id": delivery["id"]})
    assert over.status_code == 409 and over.json()["already_paid_vnd"] == 12_000_000
    assert (await support.call("POST", _reverse(fund, spent["id"]), OFFICER_A0, json=REASON)).status_code == 201
    assert await balance(support, fund) == 20_000_000
    # A reversed spend has nothing left to refund.
    late = await support.call("POST", f"/support/funds/{fund}/refunds", OFFICER_A0, json={
        "spend_entry_id": spent["id"], "amount_vnd": 1_000, "occurred_on": "2024-11-07", "reason": "Thừa"})
    assert late.status_code == 422 and late.json()["errors"][0]["field"] == "spend_entry_id", late.text
    assert await balance(support, fund) == 20_000_000
    # Nothing of the fund's money is on the delivery any more: it may be voided.
    void = await support.call("POST", f"/support/deliveries/{delivery['id']}/void", OFFICER_A0,
                              json={"reason": "Ghi nhầm"}, headers={"If-Match": '"1"'})
    assert void.status_code == 200, void.text


async def test_other_units_cannot_reverse_an_entry(support: Support) -> None:
    district, commune = await open_fund(support, "213"), await open_fund(support, "07207", OFFICER_A0)
    donation = (await donate(support, district, 5_000_000)).json()
    own = (await donate(support, commune, 1_000_000)).json()
    before = await _state(support)
    for officer in FOREIGN:  # another commune, another district, another province: by path
        for fund, entry in ((district, donation["id"]), (commune, own["id"])):
            refused = await support.call("POST", _reverse(fund, entry), officer, json=REASON)
            assert refused.status_code == 404, (officer.id, refused.text)
    # The commune's officer: the district's fund is not in reach, nor its entry through the commune's own fund.
    assert (await support.call("POST", _reverse(district, donation["id"]), OFFICER_A0, json=REASON)).status_code == 404
    assert (await support.call("POST", _reverse(commune, donation["id"]), OFFICER_A0, json=REASON)).status_code == 404
    assert await _state(support) == before
    assert (await support.call("POST", _reverse(commune, own["id"]), OFFICER_A0, json=REASON)).status_code == 201
