"""Scoring from events: the registry's approved reviews and support's deliveries and donations arrive
over NATS, every commune of the set is scored and ranked in SQL, as scoring.rules says; a late event
re-scores only what it touches; manual points with evidence; scope."""

from __future__ import annotations

import uuid
from decimal import Decimal

from services.emulation.scoring import rules
from shared.events import Event, envelope_field
from tests.emulation.conftest import (
    COMMUNE,
    COMMUNE_OFFICER,
    DISTRICT,
    FOREIGN,
    NEIGHBOUR,
    PROVINCE,
    PROVINCE_BOARD,
    PROVINCE_OFFICER,
    Emulation,
    launched,
    principal,
)
from tests.emulation.events_kit import outbox, reporting_row, scores
from tests.kit import eventually, fetch, scalar
from tests.reporting.registry_events import publish

COMMUNES = ["v2008.24.213.07207", "v2008.24.213.07222", "v2008.24.213.07231", "v2008.24.215.07243"]
CRITERIA = [
    {"key": "poor", "name": "Giảm tỷ lệ hộ nghèo", "kind": "auto", "source": "poor_rate_reduction", "weight": 50},
    {"key": "fund", "name": "Vận động Quỹ Vì người nghèo", "kind": "auto", "source": "fund_raised", "weight": 20},
    {"key": "sessions", "name": "Tuyên truyền", "kind": "auto", "source": "propaganda_sessions", "weight": 10},
    {"key": "lead", "name": "Lãnh đạo, chỉ đạo", "kind": "manual", "weight": 20},
]


def review(path: str, year: int, households: int, poor: int, near_poor: int, version: int = 1,
           review_id: str | None = None) -> Event:
    counts = {"poor": poor, "near_poor": near_poor, "not_poor": households - poor - near_poor}
    return Event(type="registry.review.approved", producer="registry", subject_id=review_id or str(uuid.uuid4()),
                 unit_path=path, unit_code=path.rsplit(".", 1)[-1], version=version,
                 payload={"commune_code": path.rsplit(".", 1)[-1], "year": year, "counts": counts, "members": {},
                          "transitions": {}})


def donation(path: str, amount: int, on: str = "2018-05-01") -> Event:
    entry = str(uuid.uuid4())
    return Event(type="support.fund.donation_received", producer="support", subject_id=entry, unit_path=path,
                 unit_code=path.rsplit(".", 1)[-1], payload={"fund_id": "f-" + path, "entry_id": entry,
                                                             "unit_path": path, "amount_vnd": amount,
                                                             "occurred_on": on, "year": int(on[:4])})


async def ranked(emulation: Emulation, movement_id: str) -> dict[str, tuple[int, int]]:
    """Each commune's (rank among all, rank in its district), as the province reads them."""
    listed = await emulation.get(f"/emulation/movements/{movement_id}/scores", PROVINCE_OFFICER, level="commune")
    return {s["unit_path"]: (s["rank"], s["rank_in_parent"]) for s in listed.json()["items"]}


async def _setup(emulation: Emulation) -> str:
    movement = await launched(emulation)
    url = f"/emulation/movements/{movement['id']}/targets"
    for unit, body in (("24", {"value": "2.0"}), ("24", {"children": [{"unit": "213", "value": "2.0"},
                                                                      {"unit": "215", "value": "2.0"}]}),
                       ("213", {"children": [{"unit": c, "value": "2.0"} for c in ("07207", "07222", "07231")]}),
                       ("215", {"children": [{"unit": "07243", "value": "2.0"}]})):
        answer = await emulation.post(url, PROVINCE_OFFICER, {"unit": unit, "year": 2018,
                                                              "indicator": "poor_rate_reduction"} | body)
        assert answer.status_code == 200, answer.text
    fund = await emulation.post(url, PROVINCE_OFFICER, {"unit": "213", "year": 2018, "indicator": "fund_raised",
                                                        "children": []})
    assert fund.status_code == 422  # neither a value nor children
    return str(movement["id"])


async def test_scores_follow_events_and_a_late_event_rescores_only_what_it_touches(emulation: Emulation) -> None:
    movement_id = await _setup(emulation)
    criteria = await emulation.post(f"/emulation/movements/{movement_id}/criteria-sets", PROVINCE_BOARD, {
        "unit": "24", "year": 2018, "level": "commune", "criteria": CRITERIA})
    assert criteria.status_code == 200, criteria.text
    assert criteria.json()["scores_changed"] == 4  # every commune, scored 0 so far
    set_id = criteria.json()["id"]
    # Their events (built by the scoring statement itself): the envelope every consumer reads, caused by the request.
    bodies = [bytes(r["body"]) for r in await fetch(emulation.db_url, "SELECT body FROM outbox WHERE subject = "
                                                                      "'emulation.score.computed' ORDER BY seq")]
    saved = [Event.from_bytes(b) for b in bodies]
    request_id = criteria.headers["x-request-id"]
    assert sorted((e.unit_path, e.unit_code, e.producer, e.version) for e in saved) == sorted(
        (c, c.rsplit(".", 1)[-1], "emulation", 1) for c in COMMUNES)
    assert {e.correlation_id for e in saved} == {envelope_field(b, "correlation_id") for b in bodies} == {request_id}
    assert {(e.payload["criteria_set_id"], e.payload["scored_by"], e.payload["total"]) for e in saved} == {
        (set_id, PROVINCE, "0")}
    assert [c["key"] for c in saved[0].payload["criteria"]] == [c["key"] for c in CRITERIA]
    assert len({e.id for e in saved}) == 4 and all(e.id.version == 7 for e in saved)
    # 2017 and 2018 reviews: 07207 10% → 8% (2 pp, the target), 07222 10% → 9%, 07231 no 2018 review yet,
    # 07243 12% → 9.5%.
    events = [review(c, 2017, 1000, p, 50) for c, p in zip(COMMUNES, (100, 100, 100, 120), strict=True)]
    late_id = str(uuid.uuid4())
    events += [review(COMMUNES[0], 2018, 1000, 80, 40), review(COMMUNES[1], 2018, 1000, 90, 40, review_id=late_id),
               review(COMMUNES[3], 2018, 1000, 95, 40)]
    await publish(emulation.js, events)
    await publish(emulation.js, [donation(COMMUNES[0], 50_000_000)])

    async def settled() -> bool:
        held = await scores(emulation.db_url)
        fund = next(c for c in held[COMMUNES[0]]["criteria"] if c["key"] == "fund")
        return Decimal(held[COMMUNES[3]]["total"]) > 0 and fund["value"] > 0 and Decimal(held[COMMUNES[1]]["total"])

    await eventually(settled, timeout=30)

    async def queue_empty() -> bool:  # the re-scorer took every touched unit
        return bool(await scalar(emulation.db_url, "SELECT count(*) FROM em_rescore_queue") == 0)

    await eventually(queue_empty, timeout=30)
    held = await scores(emulation.db_url)
    totals = {p: Decimal(s["total"]) for p, s in held.items()}
    assert totals == {COMMUNES[0]: Decimal(50), COMMUNES[1]: Decimal("25.00"), COMMUNES[2]: Decimal(0),
                      COMMUNES[3]: Decimal(50)}
    poor = next(c for c in held[COMMUNES[1]]["criteria"] if c["key"] == "poor")
    assert (poor["source"], Decimal(str(poor["value"])), Decimal(str(poor["target"])), Decimal(str(poor["points"]))) \
        == ("poor_rate_reduction", Decimal(1), Decimal(2), Decimal(25))
    fund = next(c for c in held[COMMUNES[0]]["criteria"] if c["key"] == "fund")
    assert (fund["value"], fund["target"], fund["points"]) == (50_000_000, None, 0)  # no fund target handed down
    ranks = await ranked(emulation, movement_id)
    assert [ranks[c] for c in COMMUNES] == [(1, 1), (3, 2), (4, 3), (1, 1)]
    # The SQL agrees with scoring.rules.
    parsed = rules.parse_criteria(CRITERIA)
    values = {COMMUNES[1]: {"poor_rate_reduction": rules.rate_reduction((100, 1000), (90, 1000)),
                            "fund_raised": Decimal(0), "propaganda_sessions": Decimal(0)}}
    assert rules.total(parsed, values[COMMUNES[1]], {"poor_rate_reduction": Decimal(2)}, {}) == totals[COMMUNES[1]]
    # A late, corrected review of 07222 (version 2: 8% poor) re-scores 07222 alone.
    versions = {p: s["version"] for p, s in held.items()}
    before = len(await outbox(emulation.db_url, "emulation.score.computed"))
    await publish(emulation.js, [review(COMMUNES[1], 2018, 1000, 80, 40, version=2, review_id=late_id)])

    async def rescored() -> bool:
        return Decimal((await scores(emulation.db_url))[COMMUNES[1]]["total"]) == 50

    await eventually(rescored, timeout=30)
    after = await scores(emulation.db_url)
    assert {p: s["version"] for p, s in after.items()} == versions | {COMMUNES[1]: versions[COMMUNES[1]] + 1}
    new_events = (await outbox(emulation.db_url, "emulation.score.computed"))[before:]
    assert [e.unit_path for e in new_events] == [COMMUNES[1]]
    row = reporting_row(new_events[0])
    assert (row["total"], row["level"], row["unit_path"]) == ("50.00", "commune", COMMUNES[1])
    assert (row["criteria_set_id"], row["scored_by"]) == (set_id, PROVINCE)  # whose ranking it belongs to
    ranks = await ranked(emulation, movement_id)
    assert ranks[COMMUNES[1]] == ranks[COMMUNES[0]] == (1, 1) and ranks[COMMUNES[2]] == (4, 3)
    # Manual points with evidence, by the province's board only.
    manual = {"unit": "07207", "criterion": "lead", "points": "15", "evidence": "Biên bản kiểm tra 11/2018"}
    url = f"/emulation/criteria-sets/{set_id}/manual-scores"
    assert (await emulation.post(url, principal("emulation_board", [COMMUNE]), manual)).status_code == 404
    assert (await emulation.post(url, principal("emulation_board", [DISTRICT]), manual)).status_code == 404
    too_many = await emulation.post(url, PROVINCE_BOARD, manual | {"points": "25"})
    assert too_many.status_code == 422 and too_many.json()["errors"][0]["field"] == "points"
    given = await emulation.post(url, PROVINCE_BOARD, manual)
    assert given.status_code == 200 and given.json()["scores_changed"] == 1
    lead = next(c for c in (await scores(emulation.db_url))[COMMUNE]["criteria"] if c["key"] == "lead")
    assert (lead["points"], lead["evidence"]) == (15, "Biên bản kiểm tra 11/2018")
    # Reads: a commune sees its own score and rank; the others' are not shown to it or to strangers.
    mine = (await emulation.get(f"/emulation/movements/{movement_id}/scores", COMMUNE_OFFICER, year=2018)).json()
    assert [(s["unit_path"], s["rank"], s["total"]) for s in mine["items"]] == [(COMMUNE, 1, "65.00")]
    for foreign in FOREIGN:
        seen = await emulation.get(f"/emulation/movements/{movement_id}/scores", foreign)
        assert seen.status_code == 404 or (seen.status_code == 200 and COMMUNE not in seen.text), seen.text
    neighbour = (await emulation.get(f"/emulation/movements/{movement_id}/scores", principal(
        "commune_officer", [NEIGHBOUR]))).json()["items"]
    assert [s["unit_path"] for s in neighbour] == [NEIGHBOUR]


async def test_activities_and_targets_rescore_and_sets_are_checked(emulation: Emulation) -> None:
    movement_id = await _setup(emulation)
    base = f"/emulation/movements/{movement_id}"
    bad = await emulation.post(f"{base}/criteria-sets", PROVINCE_BOARD, {
        "unit": "24", "year": 2018, "level": "commune", "criteria": CRITERIA[:2]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["reason"] == "the weights add up to 70, not 100"
    wrong_level = await emulation.post(f"{base}/criteria-sets", PROVINCE_BOARD, {
        "unit": "24", "year": 2018, "level": "province", "criteria": CRITERIA})
    assert wrong_level.status_code == 422
    officer = await emulation.post(f"{base}/criteria-sets", PROVINCE_OFFICER, {
        "unit": "24", "year": 2018, "level": "commune", "criteria": CRITERIA})
    assert officer.status_code == 403  # the board's permission
    assert await scalar(emulation.db_url, "SELECT count(*) FROM em_criteria_sets") == 0
    sessions = [CRITERIA[2] | {"weight": 100}]
    made = await emulation.post(f"{base}/criteria-sets", PROVINCE_BOARD, {
        "unit": "24", "year": 2018, "level": "district", "criteria": sessions})
    assert made.status_code == 200 and made.json()["scores_changed"] == 2
    # Districts' session targets, then a commune's conference: its district is re-scored in the same request.
    handed = await emulation.post(f"{base}/targets", PROVINCE_OFFICER, {
        "unit": "24", "year": 2018, "indicator": "propaganda_sessions", "value": "10"})
    assert handed.status_code == 200
    handed = await emulation.post(f"{base}/targets", PROVINCE_OFFICER, {
        "unit": "24", "year": 2018, "indicator": "propaganda_sessions",
        "children": [{"unit": "213", "value": "8"}, {"unit": "215", "value": "2"}]})
    assert handed.status_code == 200
    activity = await emulation.post(f"{base}/activities", COMMUNE_OFFICER, {
        "unit": "07207", "kind": "conference", "held_on": "2018-04-02", "count": 4, "participants": 200})
    assert activity.status_code == 201
    held = await scores(emulation.db_url)
    assert Decimal(held[DISTRICT]["total"]) == 50  # 4 of 8 sessions
    assert Decimal(held["v2008.24.215"]["total"]) == 0
    removed = await emulation.delete(f"/emulation/activities/{activity.json()['id']}", COMMUNE_OFFICER)
    assert removed.status_code == 200
    assert Decimal((await scores(emulation.db_url))[DISTRICT]["total"]) == 0
    listed = await emulation.get(f"{base}/criteria-sets", COMMUNE_OFFICER)
    assert [s["level"] for s in listed.json()] == ["district"]
    assert (await emulation.get(f"{base}/criteria-sets", principal("province_officer", ["v2008.25"]))).status_code \
        == 404
