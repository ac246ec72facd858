"""Targets handed down level by level (children must cover the parent's, refused with the numbers and
nothing stored otherwise), and registrations of commitments and titles sought."""

from __future__ import annotations

import uuid

import asyncpg

from shared.db import asyncpg_dsn
from tests.emulation.conftest import (
    COMMUNE,
    COMMUNE_OFFICER,
    DISTRICT,
    DISTRICT_OFFICER,
    FOREIGN,
    NEIGHBOUR_OFFICER,
    OTHER_DISTRICT_OFFICER,
    PROVINCE_OFFICER,
    Emulation,
    launched,
)
from tests.emulation.events_kit import household_event, known_households, outbox, reporting_row
from tests.kit import fetch, scalar


async def _targets(emulation: Emulation) -> int:
    return int(await scalar(emulation.db_url, "SELECT count(*) FROM em_targets"))


async def test_targets_handed_down_must_cover_the_parent(emulation: Emulation) -> None:
    movement = await launched(emulation)
    url = f"/emulation/movements/{movement['id']}/targets"
    own = await emulation.post(url, PROVINCE_OFFICER, {"unit": "24", "year": 2018, "indicator": "poor_rate_reduction",
                                                       "value": "2.0"})
    assert own.status_code == 200, own.text
    short = await emulation.post(url, PROVINCE_OFFICER, {
        "unit": "24", "year": 2018, "indicator": "poor_rate_reduction",
        "children": [{"unit": "213", "value": "2.5"}, {"unit": "215", "value": "1.0"}]})
    assert short.status_code == 422 and short.json()["code"] == "targets_do_not_cover"
    body = short.json()
    assert (body["parent_value"], body["covered"], body["shortfall"]) == ("2.0", "1.7500", "0.2500")
    assert body["children"] == {"v2008.24.213": "2.5", "v2008.24.215": "1.0"}
    assert await _targets(emulation) == 1
    ok = await emulation.post(url, PROVINCE_OFFICER, {
        "unit": "24", "year": 2018, "indicator": "poor_rate_reduction",
        "children": [{"unit": "213", "value": "2.5"}, {"unit": "215", "value": "2.0"}]})
    assert ok.status_code == 200, ok.text
    assert [(t["unit_path"], t["parent_value"]) for t in ok.json()["targets"]] == [
        ("v2008.24.213", "2.0"), ("v2008.24.215", "2.0")]
    # The district hands its 2.5 to its communes, weighted by their households at the last review:
    # 07207 has 3,000 households, 07222 1,000, 07231 1,000: 3.0·0.6 + 1.5·0.2 + 2.0·0.2 = 2.5.
    await _review_counts(emulation, {COMMUNE: 3000, "v2008.24.213.07222": 1000, "v2008.24.213.07231": 1000})
    communes = [{"unit": "07207", "value": "3.0"}, {"unit": "07222", "value": "1.5"}, {"unit": "07231", "value": "2.0"}]
    handed = await emulation.post(url, DISTRICT_OFFICER, {"unit": "213", "year": 2018,
                                                          "indicator": "poor_rate_reduction", "children": communes})
    assert handed.status_code == 200, handed.text
    assert handed.json()["covered"] == "2.5000"
    # Lowering one commune later is refused: the others' targets held count with it.
    lower = await emulation.post(url, DISTRICT_OFFICER, {"unit": "213", "year": 2018,
                                                         "indicator": "poor_rate_reduction",
                                                         "children": [{"unit": "07207", "value": "2.0"}]})
    assert lower.status_code == 422 and lower.json()["covered"] == "1.9000"
    events = await outbox(emulation.db_url, "emulation.target.set")
    assert len(events) == 6  # the province's own, two districts, three communes
    commune_row = next(reporting_row(e) for e in events if e.unit_path == COMMUNE)
    assert (commune_row["value"], commune_row["parent_path"], commune_row["parent_value"]) == ("3.0", DISTRICT, "2.5")
    # Each level reads its own subtree only.
    mine = (await emulation.get(url, COMMUNE_OFFICER)).json()["items"]
    assert [(t["unit_path"], t["value"]) for t in mine] == [(COMMUNE, "3.0")]
    assert (await emulation.get(url, NEIGHBOUR_OFFICER)).json()["total"] == 1
    assert (await emulation.get(url, OTHER_DISTRICT_OFFICER)).json()["total"] == 1  # its own district's


async def _review_counts(emulation: Emulation, households: dict[str, int]) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(emulation.db_url))
    try:
        await conn.executemany("INSERT INTO em_review_counts VALUES ($1, 2017, $2, $3, 0, 1)",
                               [(p, h, h // 10) for p, h in households.items()])
    finally:
        await conn.close()


async def test_sums_who_may_hand_down_and_to_whom(emulation: Emulation) -> None:
    movement = await launched(emulation)
    url = f"/emulation/movements/{movement['id']}/targets"
    fund = {"year": 2019, "indicator": "fund_raised"}
    own_target = await emulation.post(url, PROVINCE_OFFICER, fund | {"unit": "24", "value": "1000000000"})
    assert own_target.status_code == 200
    # Only the movement's unit sets its own; a district's comes from above.
    own = await emulation.post(url, DISTRICT_OFFICER, fund | {"unit": "213", "value": "5"})
    assert own.status_code == 422 and own.json()["code"] == "target_handed_down"
    # Nothing to hand down yet at the district.
    early = await emulation.post(url, DISTRICT_OFFICER, fund | {"unit": "213", "children": [{"unit": "07207",
                                                                                            "value": "1"}]})
    assert early.status_code == 422 and early.json()["code"] == "no_parent_target"
    # Sums: 600 M + 300 M < 1,000 M.
    short = await emulation.post(url, PROVINCE_OFFICER, fund | {"unit": "24", "children": [
        {"unit": "213", "value": "600000000"}, {"unit": "215", "value": "300000000"}]})
    assert short.status_code == 422 and short.json()["shortfall"] == "100000000"
    # A commune is not directly below the province; another district's commune is not the district's.
    skip = await emulation.post(url, PROVINCE_OFFICER, fund | {"unit": "24", "children": [{"unit": "07207",
                                                                                         "value": "1"}]})
    assert skip.status_code == 422 and skip.json()["errors"][0]["field"] == "children[0].unit"
    theirs = await emulation.post(url, OTHER_DISTRICT_OFFICER, fund | {"unit": "215", "children": [
        {"unit": "07207", "value": "1"}]})
    assert theirs.status_code == 403
    outside = await emulation.post(url, PROVINCE_OFFICER, fund | {"year": 2025, "unit": "24", "value": "1"})
    assert outside.status_code == 422 and outside.json()["errors"][0]["field"] == "year"
    assert await _targets(emulation) == 1


async def test_registrations_and_their_status(emulation: Emulation) -> None:
    movement = await launched(emulation)
    url = f"/emulation/movements/{movement['id']}/registrations"
    household_id = str(uuid.uuid4())
    await known_households(emulation.js, emulation.db_url, [household_event(household_id, COMMUNE)])
    household = {"unit": "07207", "year": 2018, "registrant_kind": "household",
                 "registrant_name": "Hộ ông Nguyễn Văn An", "household_id": household_id,
                 "title_sought": "gia_dinh_van_hoa",
                 "commitment": "Thoát nghèo bền vững trong năm 2018"}
    made = await emulation.post(url, COMMUNE_OFFICER, household)
    assert made.status_code == 201, made.text
    unit = {"unit": "07207", "year": 2018, "registrant_kind": "unit", "registrant_name": "UBND phường Ngô Quyền",
            "title_sought": "tap_the_lao_dong_tien_tien", "commitment": "Giảm 2% hộ nghèo"}
    assert (await emulation.post(url, COMMUNE_OFFICER, unit)).status_code == 201
    misfit = await emulation.post(url, COMMUNE_OFFICER, household | {"title_sought": "chien_si_thi_dua_co_so"})
    assert misfit.status_code == 422 and misfit.json()["code"] == "form_does_not_fit"
    unknown = await emulation.post(url, COMMUNE_OFFICER, household | {"title_sought": "huan_chuong"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "title_sought"
    no_id = await emulation.post(url, COMMUNE_OFFICER, household | {"household_id": None})
    assert no_id.status_code == 422 and no_id.json()["errors"][0]["field"] == "household_id"
    for foreign in FOREIGN:
        assert (await emulation.post(url, foreign, unit)).status_code in (403, 404)
        listed = await emulation.get(url, foreign)
        assert listed.status_code == 404 or listed.json()["total"] == 0
    registration = made.json()["id"]
    status_url = f"/emulation/registrations/{registration}/status"
    for foreign in FOREIGN:
        assert (await emulation.post(status_url, foreign, {"status": "withdrawn"})).status_code == 404
    assert (await emulation.post(status_url, COMMUNE_OFFICER, {"status": "achieved"})).status_code == 200
    again = await emulation.post(status_url, COMMUNE_OFFICER, {"status": "withdrawn"})
    assert again.status_code == 409
    listed = (await emulation.get(url, DISTRICT_OFFICER, unit="07207", year=2018)).json()
    assert sorted(r["status"] for r in listed["items"]) == ["achieved", "registered"]
    rows = await fetch(emulation.db_url, "SELECT status FROM em_registrations ORDER BY created_at")
    assert [r["status"] for r in rows] == ["achieved", "registered"]
    assert len(await outbox(emulation.db_url, "emulation.registration.made")) == 2
