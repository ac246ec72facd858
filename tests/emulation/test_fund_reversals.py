"""A donation reversed in support (`support.fund.reversed`, `reversed_kind` `donation`) stops counting as
fund raised: the score moves back, in the donation's year even when the reversal is dated a year later;
a reversal delivered again (the same event, or the same reversal under a new event id) or read before its
donation is applied once; reversed spends, refunds and transfers move nothing. The durable consumer
`emulation-support-2` replaced `emulation-support`, whose subjects lacked `.reversed`: a new release
reads the SUPPORT stream from its beginning and leaves the old durable as it was. And the contract:
what the support service itself emits for a donation and its reversal reaches emulation and marks it."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from services.emulation.consumers import SUPPORT
from shared.events import Event
from tests.emulation.conftest import (
    COMMUNE,
    NEIGHBOUR,
    PROVINCE_BOARD,
    PROVINCE_OFFICER,
    Emulation,
    emulation_service,
    launched,
)
from tests.emulation.events_kit import scores
from tests.kit import Stack, eventually, fetch, scalar
from tests.reporting.conftest import connect
from tests.reporting.registry_events import publish
from tests.reporting.support_events import fund_event
from tests.support.conftest import DISTRICT_A_OFFICER, Support
from tests.support.conftest import support as support_service  # noqa: F401  (the fixture, by this name)
from tests.support.funds_helpers import donate, open_fund

OLD_DURABLE = "emulation-support"
OLD_SUBJECTS = ["support.delivery.recorded", "support.delivery.corrected", "support.delivery.voided",
                "support.delivery.recorded_batch", "support.fund.donation_received"]


def donation(path: str, entry: str, amount: int, on: str) -> Event:
    return fund_event("donation_received", path, "fund-" + path, amount, on, entry, 1, donor_name="Công ty May",
                      donor_kind="enterprise", campaign_year=int(on[:4]), receipt_number="PT-" + entry)


def reversal(path: str, entry: str, cancelled: str, kind: str, amount: int, cancelled_on: str, on: str) -> Event:
    """As support writes it (docs/events.md "The fund ledger"): `amount_vnd` positive, the cancelled
    entry's kind, date and signed amount."""
    money_in = kind in ("donation", "refund")
    return fund_event("reversed", path, "fund-" + path, amount, on, entry, 2, reversed_entry_id=cancelled,
                      reversed_kind=kind, reversed_occurred_on=cancelled_on,
                      reversed_amount_vnd=amount if money_in else -amount,
                      amount_signed_vnd=-amount if money_in else amount, direction="out" if money_in else "in",
                      reason="Ghi nhầm", purpose="Ghi nhầm", campaign_year=int(cancelled_on[:4]))


def fund(held: dict[str, Any], path: str) -> tuple[Any, Any, Any]:
    found = next(c for c in held[path]["criteria"] if c["key"] == "fund")
    return found["value"], found["target"], found["points"]


async def settled(emulation: Emulation) -> bool:
    """Every support event delivered and acknowledged, and every unit it touched re-scored."""
    info = await emulation.js.consumer_info(SUPPORT.stream, SUPPORT.name)
    return bool(info.num_pending == 0 and info.num_ack_pending == 0
                and await scalar(emulation.db_url, "SELECT count(*) FROM em_rescore_queue") == 0)


async def test_a_reversed_donation_stops_counting_once(emulation: Emulation) -> None:
    movement_id = str((await launched(emulation))["id"])
    url = f"/emulation/movements/{movement_id}/targets"
    for unit, body in (("24", {"value": "200000000"}), ("24", {"children": [{"unit": "213", "value": "200000000"}]}),
                       ("213", {"children": [{"unit": "07207", "value": "100000000"},
                                             {"unit": "07222", "value": "100000000"}]})):
        answer = await emulation.post(url, PROVINCE_OFFICER, {"unit": unit, "year": 2018, "indicator": "fund_raised"}
                                      | body)
        assert answer.status_code == 200, answer.text
    made = await emulation.post(f"/emulation/movements/{movement_id}/criteria-sets", PROVINCE_BOARD, {
        "unit": "24", "year": 2018, "level": "commune", "criteria": [
            {"key": "fund", "name": "Vận động Quỹ Vì người nghèo", "kind": "auto", "source": "fund_raised",
             "weight": 80},
            {"key": "lead", "name": "Lãnh đạo, chỉ đạo", "kind": "manual", "weight": 20}]})
    assert made.status_code == 200, made.text
    # Two donations to the ward's fund and one to its neighbour's; a fourth whose reversal arrives first.
    late_reversal = reversal(COMMUNE, "r-late", "d-late", "donation", 5_000_000, "2018-07-01", "2018-07-02")
    await publish(emulation.js, [late_reversal, donation(COMMUNE, "d1", 60_000_000, "2018-05-01"),
                                 donation(COMMUNE, "d2", 40_000_000, "2018-06-01"),
                                 donation(NEIGHBOUR, "d3", 10_000_000, "2018-06-01"),
                                 donation(COMMUNE, "d-late", 5_000_000, "2018-07-01")])

    async def counted() -> bool:
        return await settled(emulation) and fund(await scores(emulation.db_url), NEIGHBOUR)[0] == 10_000_000

    await eventually(counted, timeout=30)
    held = await scores(emulation.db_url)
    assert fund(held, COMMUNE) == (100_000_000, 100_000_000, 80)  # d-late never counted: reversed before it came
    assert Decimal(held[COMMUNE]["total"]) == 80
    version = held[COMMUNE]["version"]
    # d2 reversed in January 2019: it leaves 2018's fund raised. The reversal comes three times — the
    # same event again (the stream's copy, as after a lost ack) and once more under a new event id (a
    # republished one) —; a reversed spend and a reversed transfer of the ward's fund move nothing.
    taken_back = reversal(COMMUNE, "r2", "d2", "donation", 40_000_000, "2018-06-01", "2019-01-10")
    again = Event(type=taken_back.type, producer="support", subject_id=taken_back.subject_id,
                  unit_path=taken_back.unit_path, unit_code=taken_back.unit_code, version=taken_back.version,
                  payload=taken_back.payload)
    await publish(emulation.js, [taken_back, reversal(COMMUNE, "r9", "s9", "spend", 7_000_000, "2018-05-02",
                                                      "2018-05-03"),
                                 reversal(COMMUNE, "r8", "t8", "transfer_out", 3_000_000, "2018-05-02", "2018-05-04")])
    await publish(emulation.js, [taken_back], with_msg_id=False)
    await publish(emulation.js, [again])

    async def moved_back() -> bool:
        return await settled(emulation) and fund(await scores(emulation.db_url), COMMUNE)[0] == 60_000_000

    await eventually(moved_back, timeout=30)
    held = await scores(emulation.db_url)
    assert fund(held, COMMUNE) == (60_000_000, 100_000_000, 48)
    assert Decimal(held[COMMUNE]["total"]) == 48 and held[COMMUNE]["version"] == version + 1  # moved back once
    assert fund(held, NEIGHBOUR) == (10_000_000, 100_000_000, 8)
    rows = await fetch(emulation.db_url, "SELECT entry_id, year, amount_vnd, reversed_by FROM em_fund_entries "
                                         "ORDER BY entry_id")
    assert [tuple(r) for r in rows] == [("d-late", 2018, 5_000_000, "r-late"), ("d1", 2018, 60_000_000, None),
                                        ("d2", 2018, 40_000_000, "r2"), ("d3", 2018, 10_000_000, None)]
    applied = await fetch(emulation.db_url, "SELECT event_id FROM inbox WHERE consumer = $1 AND event_id = ANY($2)",
                          SUPPORT.name, [uuid.UUID(str(e.id)) for e in (taken_back, again)])
    assert len(applied) == 2  # the repeated copy skipped by the inbox; the new id applied and changing nothing
    # A later donation of 2018 counts again as usual.
    await publish(emulation.js, [donation(COMMUNE, "d5", 20_000_000, "2018-09-01")])

    async def recounted() -> bool:
        return await settled(emulation) and fund(await scores(emulation.db_url), COMMUNE)[0] == 80_000_000

    await eventually(recounted, timeout=30)
    assert fund(await scores(emulation.db_url), COMMUNE) == (80_000_000, 100_000_000, 64)


async def test_a_new_release_reads_reversals_already_in_the_stream(stack: Stack, nats_url: str) -> None:
    """The previous release's durable exists (without `.reversed`); donations and a reversal were
    published before the new release starts: its durable reads them all, and leaves the old one alone."""
    nc, js = await connect(nats_url)
    try:
        await js.add_consumer(SUPPORT.stream, ConsumerConfig(
            durable_name=OLD_DURABLE, ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL,
            filter_subjects=OLD_SUBJECTS))
        await publish(js, [donation(COMMUNE, "u1", 30_000_000, "2018-03-01"),
                           donation(COMMUNE, "u2", 12_000_000, "2018-04-01"),
                           reversal(COMMUNE, "ur2", "u2", "donation", 12_000_000, "2018-04-01", "2018-04-02")])
        async with emulation_service(stack, nats_url) as emulation:
            info = await js.consumer_info(SUPPORT.stream, SUPPORT.name)
            assert "support.fund.reversed" in (info.config.filter_subjects or [])
            assert info.config.deliver_policy == DeliverPolicy.ALL

            async def read() -> bool:
                return await settled(emulation) and bool(await scalar(
                    emulation.db_url, "SELECT count(*) FROM em_fund_entries WHERE reversed_by IS NOT NULL") == 1)

            await eventually(read, timeout=30)
            rows = await fetch(emulation.db_url, "SELECT entry_id, reversed_by FROM em_fund_entries ORDER BY entry_id")
            assert [tuple(r) for r in rows] == [("u1", None), ("u2", "ur2")]
        old = await js.consumer_info(SUPPORT.stream, OLD_DURABLE)
        assert (old.config.filter_subjects, old.delivered.stream_seq) == (OLD_SUBJECTS, 0)  # unused, unchanged
    finally:
        await nc.close()


async def test_supports_own_events_reach_emulation(support_service: Support,  # noqa: F811  (the fixture)
                                                   emulation: Emulation) -> None:
    """The support service and emulation on the same NATS: a donation recorded and reversed through
    support's API (its relay publishing its events) is stored, then marked reversed, in the donation's year."""
    fund = await open_fund(support_service, "213")
    kept = (await donate(support_service, fund, 7_000_000, "2024-10-16")).json()
    wrong = (await donate(support_service, fund, 50_000_000, "2024-10-17")).json()
    reversed_ = await support_service.call("POST", f"/support/funds/{fund}/entries/{wrong['id']}/reversal",
                                           DISTRICT_A_OFFICER, json={"reason": "Ghi nhầm số tiền",
                                                                     "occurred_on": "2025-01-06"})
    assert reversed_.status_code == 201, reversed_.text

    async def marked() -> bool:
        return bool(await scalar(emulation.db_url,
                                 "SELECT count(*) FROM em_fund_entries WHERE reversed_by IS NOT NULL"))

    await eventually(marked, timeout=30)
    rows = await fetch(emulation.db_url, "SELECT entry_id, unit_path, year, amount_vnd, reversed_by "
                                         "FROM em_fund_entries ORDER BY amount_vnd")
    assert [tuple(r) for r in rows] == [(kept["id"], "v2008.24.213", 2024, 7_000_000, None),
                                        (wrong["id"], "v2008.24.213", 2024, 50_000_000, reversed_.json()["id"])]
