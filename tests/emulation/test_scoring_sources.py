"""Automatic criteria from real events, end to end: the registry's approved reviews and support's
deliveries, built by those services' own event builders and published on NATS as their relays do,
consumed by the emulation service's consumers and scored — `near_poor_rate_reduction`,
`households_escaping_poverty`, `support_delivered` — with each criterion's value, target and source shown.
Re-scoring on request (`POST /emulation/criteria-sets/{id}/scores`) with the periodic re-scorer held
back: facts stored but not yet scored are scored by it, and a late review changes the ranking."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from services.registry.events import review_approved
from services.support.events import (
    DELIVERY_CORRECTED,
    DELIVERY_RECORDED,
    DELIVERY_RECORDED_BATCH,
    DELIVERY_VOIDED,
    PRODUCER,
    delivery_event,
    delivery_payload,
)
from shared.events import Event
from tests.emulation.conftest import (
    COMMUNE_OFFICER,
    DISTRICT,
    OTHER_DISTRICT,
    PROVINCE_BOARD,
    PROVINCE_OFFICER,
    Emulation,
    emulation_service,
    launched,
    principal,
)
from tests.emulation.events_kit import scores
from tests.kit import Stack, eventually, scalar
from tests.reporting.registry_events import publish

W07207, W07222, W07231, W07243 = ("v2008.24.213.07207", "v2008.24.213.07222", "v2008.24.213.07231",
                                  "v2008.24.215.07243")
CATALOGUE = {("programme", "monthly_rice"): {"category": "food"}, ("body", "phong_ldtbxh"): {"kind": "government"},
             ("funding_source", "state_central"): {"kind": "state", "level": "national"}}
DISTRICT_CRITERIA = [
    {"key": "near", "name": "Giảm tỷ lệ hộ cận nghèo", "kind": "auto", "source": "near_poor_rate_reduction",
     "weight": 40},
    {"key": "escaped", "name": "Số hộ thoát nghèo", "kind": "auto", "source": "households_escaping_poverty",
     "weight": 30},
    {"key": "support", "name": "Kinh phí hỗ trợ", "kind": "auto", "source": "support_delivered", "weight": 30},
]


def review(path: str, year: int, households: int, poor: int, near_poor: int) -> Event:
    """As the registry writes it when a commune's annual review is approved (services/registry/events.py)."""
    code = path.rsplit(".", 1)[-1]
    return review_approved({"id": uuid.uuid4(), "commune_code": code, "unit_path": path, "year": year, "version": 1,
                            "counts": {"poor": poor, "near_poor": near_poor,
                                       "not_poor": households - poor - near_poor},
                            "members": {}, "transitions": {}})


def delivery(path: str, amount: int, on: str = "2018-05-02", **changes: Any) -> dict[str, Any]:
    """A delivery row as support holds it (the mapping its event builder reads)."""
    day = date.fromisoformat(on)
    return {"id": uuid.uuid4(), "version": 1, "kind": "aggregate", "status": "recorded", "unit_path": path,
            "programme": "monthly_rice", "delivered_on": day, "period_from": None, "year": day.year, "households": 3,
            "persons": None, "turns": None, "quantities": [{"measure": "kg", "quantity": "60"}],
            "amount_vnd": amount, "funding": [{"source": "state_central", "amount_vnd": amount}],
            "body": "phong_ldtbxh", "body_detail": None, "household_id": None, "household_status": None,
            "member_ids": [], "eligibility_exception": False, "eligibility_rule": None, "sponsorship_id": None,
            "import_job_id": None, "recorded_at": datetime(2018, 5, 2, 8, tzinfo=UTC), "void_reason": None} | changes


def deliveries() -> list[Event]:
    """2018: 07207 30 M; 07222 20 M corrected to 25 M; 07231 10 M voided; 07207 5 M in 2019 (another
    year); 07243 8 M + 4 M in a bulk import's batch event."""
    corrected, voided = delivery(W07222, 20_000_000), delivery(W07231, 10_000_000)
    job = str(uuid.uuid4())
    items = [delivery_payload(delivery(W07243, a, import_job_id=job, kind="household"), CATALOGUE)
             for a in (8_000_000, 4_000_000)]
    return [
        delivery_event(DELIVERY_RECORDED, delivery(W07207, 30_000_000), CATALOGUE),
        delivery_event(DELIVERY_RECORDED, corrected, CATALOGUE),
        delivery_event(DELIVERY_CORRECTED, corrected | {"version": 2, "amount_vnd": 25_000_000,
                                                        "funding": [{"source": "state_central",
                                                                     "amount_vnd": 25_000_000}]}, CATALOGUE),
        delivery_event(DELIVERY_RECORDED, voided, CATALOGUE),
        delivery_event(DELIVERY_VOIDED, voided | {"version": 2, "status": "voided", "void_reason": "Ghi trùng"},
                       CATALOGUE),
        delivery_event(DELIVERY_RECORDED, delivery(W07207, 5_000_000, on="2019-01-10"), CATALOGUE),
        Event(type=DELIVERY_RECORDED_BATCH, producer=PRODUCER, subject_id=job, unit_path=W07243,
              unit_code="07243", version=1, payload={"job_id": job, "items": items}),
    ]


def reviews() -> list[Event]:
    """2017 → 2018: 07207 1,000 households, poor 100 → 70, near-poor 80 → 60; 07222 500, 50 → 45, 40 → 35;
    07231 800, 80 and 60 in 2017, its 2018 review not approved yet; 07243 600, 90 → 60, 50 → 45."""
    return [review(W07207, 2017, 1000, 100, 80), review(W07207, 2018, 1000, 70, 60),
            review(W07222, 2017, 500, 50, 40), review(W07222, 2018, 500, 45, 35),
            review(W07231, 2017, 800, 80, 60),
            review(W07243, 2017, 600, 90, 50), review(W07243, 2018, 600, 60, 45)]


async def facts_stored(emulation: Emulation, reviews_held: int) -> bool:
    held = await scalar(emulation.db_url, "SELECT count(*) FROM em_review_counts")
    deliveries_held = await scalar(emulation.db_url, "SELECT count(*) FROM em_deliveries WHERE version = CASE "
                                   "WHEN amount_vnd IN (25000000, 10000000) THEN 2 ELSE 1 END")
    return bool(held == reviews_held and deliveries_held == 6)


async def _movement_with_targets(emulation: Emulation) -> str:
    """Targets for 2018: the province's own, handed to its two districts."""
    movement_id = str((await launched(emulation))["id"])
    url = f"/emulation/movements/{movement_id}/targets"
    for indicator, own, children in (("near_poor_rate_reduction", "1.0", ("1.5", "1.0")),
                                     ("households_escaping_poverty", "60", ("40", "20")),
                                     ("support_delivered", "60000000", ("50000000", "10000000"))):
        for body in ({"value": own}, {"children": [{"unit": "213", "value": children[0]},
                                                   {"unit": "215", "value": children[1]}]}):
            answer = await emulation.post(url, PROVINCE_OFFICER, {"unit": "24", "year": 2018,
                                                                  "indicator": indicator} | body)
            assert answer.status_code == 200, answer.text
    return movement_id


async def _criteria_sets(emulation: Emulation, movement_id: str) -> tuple[str, str]:
    """The province scores its districts by the three criteria, and its communes by the same (no targets
    handed to the communes: values shown, no points)."""
    ids = []
    for level in ("district", "commune"):
        made = await emulation.post(f"/emulation/movements/{movement_id}/criteria-sets", PROVINCE_BOARD, {
            "unit": "24", "year": 2018, "level": level, "criteria": DISTRICT_CRITERIA})
        assert made.status_code == 200, made.text
        ids.append(str(made.json()["id"]))
    return ids[0], ids[1]


def shown(held: dict[str, Any], path: str) -> dict[str, tuple[Any, ...]]:
    """key → (source, value, target, points) of a unit's stored score, as numbers."""
    def num(v: Any) -> Decimal | None:
        return None if v is None else Decimal(str(v))
    return {c["key"]: (c["source"], num(c["value"]), num(c["target"]), num(c["points"]))
            for c in held[path]["criteria"]}


async def read_scores(emulation: Emulation, movement_id: str, level: str) -> dict[str, tuple[str, int, int]]:
    """unit → (total, rank, rank in its parent), as the province reads them."""
    listed = await emulation.get(f"/emulation/movements/{movement_id}/scores", PROVINCE_OFFICER, level=level)
    assert listed.status_code == 200, listed.text
    return {s["unit_path"]: (s["total"], s["rank"], s["rank_in_parent"]) for s in listed.json()["items"]}


D = Decimal
# District 213 counts only 07207 and 07222 (07231 has no 2018 review): near-poor 120/1,500 → 95/1,500 =
# 1.6667 pp of 1.5 (40 points), 150 − 115 = 35 escaped of 40 (26.25), 55 M of 50 M delivered (30).
# District 215: 50/600 → 45/600 = 0.8333 pp of 1.0 (33.33), 30 of 20 (30), 12 M of 10 M (30).
EXPECTED_213 = {"near": ("near_poor_rate_reduction", D("1.6667"), D("1.5"), D(40)),
                "escaped": ("households_escaping_poverty", D(35), D(40), D("26.25")),
                "support": ("support_delivered", D(55_000_000), D(50_000_000), D(30))}
EXPECTED_215 = {"near": ("near_poor_rate_reduction", D("0.8333"), D("1.0"), D("33.33")),
                "escaped": ("households_escaping_poverty", D(30), D(20), D(30)),
                "support": ("support_delivered", D(12_000_000), D(10_000_000), D(30))}


async def test_near_poor_escaping_and_support_delivered_scored_from_real_events(emulation: Emulation) -> None:
    movement_id = await _movement_with_targets(emulation)
    await _criteria_sets(emulation, movement_id)
    await publish(emulation.js, reviews() + deliveries())

    async def scored() -> bool:
        return await facts_stored(emulation, 7) and await scalar(
            emulation.db_url, "SELECT count(*) FROM em_rescore_queue") == 0

    await eventually(scored, timeout=60)
    held = await scores(emulation.db_url)
    assert shown(held, DISTRICT) == EXPECTED_213
    assert shown(held, OTHER_DISTRICT) == EXPECTED_215
    assert await read_scores(emulation, movement_id, "district") == {DISTRICT: ("96.25", 1, 1),
                                                                     OTHER_DISTRICT: ("93.33", 2, 2)}
    # Communes: their own values, no target handed to them (no points).
    assert shown(held, W07207) == {"near": ("near_poor_rate_reduction", D(2), None, D(0)),
                                   "escaped": ("households_escaping_poverty", D(30), None, D(0)),
                                   "support": ("support_delivered", D(30_000_000), None, D(0))}
    assert shown(held, W07231) == {"near": ("near_poor_rate_reduction", None, None, D(0)),  # not reviewed in 2018
                                   "escaped": ("households_escaping_poverty", None, None, D(0)),
                                   "support": ("support_delivered", D(0), None, D(0))}  # its delivery voided
    # What the ward reads: its own score with each criterion's value and source.
    mine = await emulation.get(f"/emulation/movements/{movement_id}/scores", COMMUNE_OFFICER, level="commune")
    [own] = mine.json()["items"]
    assert own["unit_path"] == W07207
    assert [(c["source"], c["value"]) for c in own["criteria"]] == [
        ("near_poor_rate_reduction", 2), ("households_escaping_poverty", 30), ("support_delivered", 30_000_000)]


@pytest.fixture
async def held_back(stack: Stack, nats_url: str) -> AsyncIterator[Emulation]:
    """The service with its periodic re-scorer held back (it runs once at start, then not for an hour):
    the consumers store facts and queue them, and nothing scores them until asked."""
    async with emulation_service(stack, nats_url, rescore_interval_seconds=3600) as running:
        yield running


async def test_rescoring_on_request_scores_what_arrived_and_a_late_review_moves_the_ranking(
        held_back: Emulation) -> None:
    emulation = held_back
    movement_id = await _movement_with_targets(emulation)
    district_set, _ = await _criteria_sets(emulation, movement_id)
    await publish(emulation.js, reviews() + deliveries())
    await eventually(lambda: facts_stored(emulation, 7), timeout=60)
    # Stored and queued, not scored yet.
    assert await read_scores(emulation, movement_id, "district") == {DISTRICT: ("0.00", 1, 1),
                                                                     OTHER_DISTRICT: ("0.00", 1, 1)}
    assert await scalar(emulation.db_url, "SELECT count(*) FROM em_rescore_queue") > 0
    url = f"/emulation/criteria-sets/{district_set}/scores"
    # Only the set's own board re-scores it: an officer lacks the permission, another level's board sees no set.
    assert (await emulation.post(url, PROVINCE_OFFICER)).status_code == 403
    for scope in (DISTRICT, "v2008.25"):
        assert (await emulation.post(url, principal("emulation_board", [scope]))).status_code == 404
    rescored = await emulation.post(url, PROVINCE_BOARD)
    assert rescored.status_code == 200, rescored.text
    assert (rescored.json()["id"], rescored.json()["scores_changed"]) == (district_set, 2)
    assert await read_scores(emulation, movement_id, "district") == {DISTRICT: ("96.25", 1, 1),
                                                                     OTHER_DISTRICT: ("93.33", 2, 2)}
    held = await scores(emulation.db_url)
    assert (shown(held, DISTRICT), shown(held, OTHER_DISTRICT)) == (EXPECTED_213, EXPECTED_215)
    versions = {p: s["version"] for p, s in held.items()}
    again = await emulation.post(url, PROVINCE_BOARD)
    assert again.json()["scores_changed"] == 0  # nothing new: no score rewritten
    # 07231's 2018 review arrives late (800 households, poor 80 → 60, near-poor 60 → 50): district 213 now
    # counts three wards: near-poor 180/2,300 → 145/2,300 = 1.5217 pp (40), 230 − 175 = 55 escaped (30): 100.
    await publish(emulation.js, [review(W07231, 2018, 800, 60, 50)])
    await eventually(lambda: facts_stored(emulation, 8), timeout=60)
    assert await read_scores(emulation, movement_id, "district") == {DISTRICT: ("96.25", 1, 1),
                                                                     OTHER_DISTRICT: ("93.33", 2, 2)}
    late = await emulation.post(url, PROVINCE_BOARD)
    assert late.json()["scores_changed"] == 1
    held = await scores(emulation.db_url)
    assert shown(held, DISTRICT)["near"] == ("near_poor_rate_reduction", D("1.5217"), D("1.5"), D(40))
    assert shown(held, DISTRICT)["escaped"] == ("households_escaping_poverty", D(55), D(40), D(30))
    assert await read_scores(emulation, movement_id, "district") == {DISTRICT: ("100.00", 1, 1),
                                                                     OTHER_DISTRICT: ("93.33", 2, 2)}
    assert {p: s["version"] for p, s in held.items() if p in (DISTRICT, OTHER_DISTRICT)} == {
        DISTRICT: versions[DISTRICT] + 1, OTHER_DISTRICT: versions[OTHER_DISTRICT]}
