"""Nominations through the workflow, decided within each level's power or forwarded upward; quotas
under contention; the award book, certificates and revocations; refusals to other units' callers."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Any

import pytest

from services.emulation.catalogue import rules as catalogue
from shared import clock
from tests.emulation.conftest import (
    COMMUNE,
    COMMUNE_OFFICER,
    DISTRICT,
    DISTRICT_OFFICER,
    FOREIGN,
    PROVINCE,
    PROVINCE_BOARD,
    PROVINCE_OFFICER,
    Emulation,
    launched,
    principal,
)
from tests.emulation.events_kit import outbox, reporting_row
from tests.kit import fetch, scalar

COMMUNE_BOARD = principal("emulation_board", [COMMUNE])
DISTRICT_BOARD = principal("emulation_board", [DISTRICT])
DOSSIER = [{"kind": "submission", "number": "12/TTr-UBND", "issued_on": "2025-11-02", "title": "Tờ trình"},
           {"kind": "achievement_report", "title": "Báo cáo thành tích"},
           {"kind": "meeting_minutes", "title": "Biên bản họp Hội đồng TĐKT"}]


def nomination(form: str = "giay_khen", kind: str = "individual", **changes: Any) -> dict[str, Any]:
    return {"unit": "07207", "year": 2025, "form": form,
            "nominee": {"kind": kind, "name": "Nguyễn Thị Hoa", "role": "Cán bộ LĐTBXH phường"},
            "achievements": "Vận động 120 triệu đồng Quỹ Vì người nghèo", "dossier": DOSSIER} | changes


async def drafted(emulation: Emulation, body: dict[str, Any] | None = None) -> str:
    response = await emulation.post("/emulation/nominations", COMMUNE_OFFICER, body or nomination())
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def step(emulation: Emulation, nomination_id: str, action: str, who: Any, body: Any = None,
               status: int = 200) -> dict[str, Any]:
    response = await emulation.post(f"/emulation/nominations/{nomination_id}/{action}", who, body)
    assert response.status_code == status, response.text
    return dict(response.json())


def decision(number: str = "120/QĐ-UBND", on: date | None = None) -> dict[str, Any]:
    return {"decision_number": number, "decision_date": (on or clock.today()).isoformat(), "signer": "Trần Văn Bình"}


async def snapshot(emulation: Emulation, nomination_id: str) -> dict[str, Any]:
    """What a refused step must leave as it was: the nomination's row, the awards, the outbox."""
    [row] = await fetch(emulation.db_url, "SELECT state, version, handler_path, history::text, comment, votes_for "
                        "FROM em_nominations WHERE id = $1", uuid.UUID(nomination_id))
    return {"nomination": dict(row), "awards": await scalar(emulation.db_url, "SELECT count(*) FROM em_awards"),
            "outbox": [(e.type, e.subject_id, e.version) for e in await outbox(emulation.db_url)]}


async def handled_by(emulation: Emulation, who: Any) -> list[str]:
    listed = await emulation.get("/emulation/nominations", who, with_me="true")
    assert listed.status_code == 200, listed.text
    return [n["id"] for n in listed.json()["items"]]


async def test_a_commune_decides_what_is_within_its_power(emulation: Emulation) -> None:
    nid = await drafted(emulation)
    submitted = await step(emulation, nid, "submit", COMMUNE_OFFICER)
    assert submitted["state"] == "submitted" and submitted["awarding_path"] == COMMUNE
    await step(emulation, nid, "appraise", COMMUNE_BOARD)
    # Not forwarded: the commune awards a Giấy khen itself.
    assert (await step(emulation, nid, "forward", COMMUNE_BOARD, status=409))["code"] == "within_power"
    award = await step(emulation, nid, "decision", COMMUNE_BOARD, decision(), status=201)
    salary = catalogue.base_salary(clock.today())
    assert salary is not None
    assert (award["awarding_level"], award["awarding_authority"]) == ("commune", "Chủ tịch UBND cấp xã")
    assert (award["prize_multiplier"], award["base_salary"], award["prize_amount"]) == ("0.3", salary,
                                                                                        round(salary * 0.3))
    assert award["certificate_number"] == "07207/120/QĐ-UBND/1"
    [decided] = await outbox(emulation.db_url, "emulation.nomination.decided")
    row = reporting_row(decided)
    assert (row["award_id"], row["form_name"], row["prize_amount"]) == (award["id"], "Giấy khen", award["prize_amount"])
    read = (await emulation.get(f"/emulation/nominations/{nid}", COMMUNE_OFFICER)).json()
    assert read["state"] == "decided" and read["award_id"] == award["id"]
    assert [h["action"] for h in read["history"]] == ["create", "submit", "appraise", "decide"]


async def test_beyond_its_power_a_level_forwards_upward_and_the_province_decides_after_a_vote(
        emulation: Emulation) -> None:
    nid = await drafted(emulation, nomination("bang_khen_tinh"))
    assert (await step(emulation, nid, "submit", COMMUNE_OFFICER))["awarding_path"] == PROVINCE
    await step(emulation, nid, "appraise", COMMUNE_BOARD)
    held = await snapshot(emulation, nid)
    refused = await step(emulation, nid, "decision", COMMUNE_BOARD, decision(), status=422)
    assert refused["code"] == "not_within_power"
    assert await snapshot(emulation, nid) == held  # no award, no event, the nomination as it was
    assert (await step(emulation, nid, "forward", COMMUNE_BOARD))["handler_path"] == DISTRICT
    # `with_me`: the nominations the caller's level handles now.
    assert await handled_by(emulation, DISTRICT_BOARD) == [nid]
    assert await handled_by(emulation, COMMUNE_OFFICER) == []
    assert [n["id"] for n in (await emulation.get("/emulation/nominations", COMMUNE_OFFICER)).json()["items"]] == [nid]
    await step(emulation, nid, "appraise", COMMUNE_BOARD, status=403)  # no longer the commune's
    await step(emulation, nid, "appraise", DISTRICT_BOARD)
    assert (await step(emulation, nid, "forward", DISTRICT_BOARD))["handler_path"] == PROVINCE
    assert (await handled_by(emulation, PROVINCE_BOARD), await handled_by(emulation, DISTRICT_BOARD)) == ([nid], [])
    await step(emulation, nid, "appraise", PROVINCE_BOARD)
    held = await snapshot(emulation, nid)
    no_vote = await step(emulation, nid, "decision", PROVINCE_BOARD, decision("45/QĐ-UBND"), status=422)
    assert no_vote["code"] == "council_vote_required"
    assert await snapshot(emulation, nid) == held
    await step(emulation, nid, "vote", PROVINCE_BOARD, {"votes_for": 9, "votes_against": 0,
                                                       "voted_on": clock.today().isoformat()})
    award = await step(emulation, nid, "decision", PROVINCE_BOARD, decision("45/QĐ-UBND"), status=201)
    assert (award["awarding_path"], award["awarding_authority"]) == (PROVINCE, "Chủ tịch UBND cấp tỉnh")
    assert award["unit_path"] == COMMUNE  # in the commune's award book
    assert len(await outbox(emulation.db_url, "emulation.nomination.forwarded")) == 2
    book = (await emulation.get("/emulation/awards", COMMUNE_OFFICER, year=2025)).json()
    assert [a["id"] for a in book["items"]] == [award["id"]]


async def test_returned_for_fixes_resubmitted_then_rejected_in_writing(emulation: Emulation) -> None:
    nid = await drafted(emulation, nomination(dossier=DOSSIER[:1]))
    incomplete = await step(emulation, nid, "submit", COMMUNE_OFFICER, status=422)
    assert incomplete["code"] == "incomplete_dossier" and len(incomplete["errors"]) == 2
    url = f"/emulation/nominations/{nid}"
    assert (await emulation.patch(url, COMMUNE_OFFICER, {"dossier": DOSSIER})).status_code == 428
    fixed = await emulation.patch(url, COMMUNE_OFFICER, {"dossier": DOSSIER}, **{"If-Match": '"1"'})
    assert fixed.status_code == 200, fixed.text
    await step(emulation, nid, "submit", COMMUNE_OFFICER)
    await step(emulation, nid, "appraise", COMMUNE_BOARD)
    returned = await step(emulation, nid, "return", COMMUNE_BOARD, {"comment": "Bổ sung số liệu vận động quỹ"})
    assert returned["state"] == "returned" and returned["comment"] == "Bổ sung số liệu vận động quỹ"
    fixed = await emulation.patch(url, COMMUNE_OFFICER, {"achievements": "Vận động 125 triệu đồng"},
                                  **{"If-Match": f'"{returned["version"]}"'})
    assert fixed.status_code == 200
    await step(emulation, nid, "submit", COMMUNE_OFFICER)
    rejected = await step(emulation, nid, "rejection", COMMUNE_BOARD, {"comment": "Không đủ tiêu chuẩn"})
    assert rejected["state"] == "rejected"
    await step(emulation, nid, "decision", COMMUNE_BOARD, decision(), status=409)
    assert [e.payload["state"] for e in await outbox(emulation.db_url)] == [
        "submitted", "returned", "submitted", "rejected"]
    assert await scalar(emulation.db_url, "SELECT count(*) FROM em_awards") == 0


async def test_refusals_store_nothing(emulation: Emulation) -> None:
    misfit = await emulation.post("/emulation/nominations", COMMUNE_OFFICER,
                                  nomination("chien_si_thi_dua_co_so", "household"))
    assert misfit.status_code == 422 and misfit.json()["code"] == "form_does_not_fit"
    province_only = nomination("lao_dong_tien_tien") | {"unit": "24"}
    nowhere = await emulation.post("/emulation/nominations", principal("province_officer", [PROVINCE]),
                                   province_only)
    assert nowhere.status_code == 422 and nowhere.json()["code"] == "form_not_awardable"
    for foreign in FOREIGN:
        assert (await emulation.post("/emulation/nominations", foreign, nomination())).status_code == 403
    district_movement = await launched(emulation, unit="213")  # commune 07243, of another district, is not in it
    outside = await emulation.post("/emulation/nominations", PROVINCE_OFFICER,
                                   nomination(unit="07243", movement_id=district_movement["id"]))
    assert outside.status_code == 422 and outside.json()["code"] == "unit_outside_movement", outside.text
    assert outside.json()["errors"][0]["field"] == "movement_id"
    assert await scalar(emulation.db_url, "SELECT count(*) FROM em_nominations") == 0
    nid = await drafted(emulation)
    await step(emulation, nid, "submit", COMMUNE_OFFICER)
    for foreign in FOREIGN:
        assert (await emulation.get(f"/emulation/nominations/{nid}", foreign)).status_code == 404
        board = principal("emulation_board", foreign.scope_paths)
        for action in ("appraise", "forward"):
            assert (await emulation.post(f"/emulation/nominations/{nid}/{action}", board)).status_code == 404
        assert (await emulation.get("/emulation/nominations", foreign)).json()["total"] == 0
        assert (await emulation.get("/emulation/awards", foreign)).json()["total"] == 0
    # The district's board does not act on the commune's nomination (the commune's board does).
    assert (await emulation.post(f"/emulation/nominations/{nid}/appraise", DISTRICT_BOARD)).status_code == 403
    assert await scalar(emulation.db_url, "SELECT state FROM em_nominations") == "submitted"


async def test_quota_under_contention_accepts_exactly_the_quota(emulation: Emulation) -> None:
    quota = await emulation.post("/emulation/quotas", DISTRICT_BOARD,
                                 {"unit": "07207", "form": "giay_khen", "year": 2025, "quota": 10})
    assert quota.status_code == 200, quota.text
    own = await emulation.post("/emulation/quotas", COMMUNE_BOARD,
                               {"unit": "07207", "form": "giay_khen", "year": 2025, "quota": 99})
    assert own.status_code == 403  # a quota comes from the level above
    ids = [await drafted(emulation) for _ in range(50)]
    answers = await asyncio.gather(*(emulation.post(f"/emulation/nominations/{i}/submit", COMMUNE_OFFICER)
                                     for i in ids))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * 10 + [409] * 40
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"quota_exceeded"}
    assert await scalar(emulation.db_url, "SELECT count(*) FROM em_nominations WHERE state = 'submitted'") == 10
    listed = (await emulation.get("/emulation/quotas", COMMUNE_OFFICER, year=2025)).json()["items"]
    assert [(q["quota"], q["used"]) for q in listed] == [(10, 10)]
    assert (await emulation.get("/emulation/quotas", FOREIGN[0])).json()["total"] == 0


async def test_award_book_certificates_and_revocation(emulation: Emulation) -> None:
    awards = []
    for name in ("Nguyễn Thị Hoa", "Trần Văn Nam"):
        body = nomination()
        body["nominee"] = body["nominee"] | {"name": name}
        nid = await drafted(emulation, body)
        await step(emulation, nid, "submit", COMMUNE_OFFICER)
        await step(emulation, nid, "appraise", COMMUNE_BOARD)
        awards.append(await step(emulation, nid, "decision", COMMUNE_BOARD, decision(), status=201))
    assert [a["certificate_number"] for a in awards] == ["07207/120/QĐ-UBND/1", "07207/120/QĐ-UBND/2"]
    revoke = {"reason": "Khai man thành tích", "decision_number": "130/QĐ-UBND",
              "decision_date": clock.today().isoformat(), "recovered_amount": awards[1]["prize_amount"]}
    url = f"/emulation/awards/{awards[1]['id']}/revocation"
    for foreign in FOREIGN:
        assert (await emulation.post(url, principal("emulation_board", foreign.scope_paths),
                                     revoke)).status_code == 404
    too_much = await emulation.post(url, COMMUNE_BOARD, revoke | {"recovered_amount": 10**9})
    assert too_much.status_code == 422 and too_much.json()["errors"][0]["field"] == "recovered_amount"
    revoked = await emulation.post(url, COMMUNE_BOARD, revoke)
    assert revoked.status_code == 200 and revoked.json()["revoked_on"] == clock.today().isoformat()
    assert (await emulation.post(url, COMMUNE_BOARD, revoke)).status_code == 409
    certificates = (await emulation.get("/emulation/certificates", DISTRICT_OFFICER, unit="07207")).json()["items"]
    assert {(c["nominee_name"], c["valid"]) for c in certificates} == {("Nguyễn Thị Hoa", True),
                                                                       ("Trần Văn Nam", False)}
    assert (await emulation.get("/emulation/certificates", COMMUNE_OFFICER)).json()["total"] == 2
    for foreign in FOREIGN:  # another ward, district, province: no certificate of the ward, by list or by unit
        listed = await emulation.get("/emulation/certificates", foreign)
        assert listed.status_code == 200 and listed.json()["total"] == 0, listed.text
        assert (await emulation.get("/emulation/certificates", foreign, unit="07207")).status_code == 403
    [event] = await outbox(emulation.db_url, "emulation.award.revoked")
    row = reporting_row(event)
    assert (row["award_id"], row["decision_number"]) == (awards[1]["id"], "130/QĐ-UBND")


async def _at_the_district(emulation: Emulation, name: str) -> str:
    """A ward's Tập thể lao động tiên tiến, forwarded to its district (which awarded it before 1/7/2025)
    and appraised there."""
    body = nomination("tap_the_lao_dong_tien_tien", "collective", nominee={"kind": "collective", "name": name})
    nid = await drafted(emulation, body)
    assert (await step(emulation, nid, "submit", COMMUNE_OFFICER))["awarding_path"] == DISTRICT
    await step(emulation, nid, "appraise", COMMUNE_BOARD)
    assert (await step(emulation, nid, "forward", COMMUNE_BOARD))["handler_path"] == DISTRICT
    await step(emulation, nid, "appraise", DISTRICT_BOARD)
    return nid


async def test_a_district_decides_within_its_former_power_only_before_1_july_2025(
        emulation: Emulation, monkeypatch: pytest.MonkeyPatch) -> None:
    """The service reads the date from shared.clock (in process here): June 2025, then today."""
    monkeypatch.setattr(clock, "today", lambda: date(2025, 6, 26))
    before, after = (await _at_the_district(emulation, "Tổ dân phố số 3"),
                     await _at_the_district(emulation, "Tổ dân phố số 5"))
    award = await step(emulation, before, "decision", DISTRICT_BOARD,
                       decision("88/QĐ-UBND", on=date(2025, 6, 26)), status=201)
    assert (award["awarding_path"], award["awarding_level"], award["awarding_authority"]) == (
        DISTRICT, "district", "Chủ tịch UBND cấp huyện")
    assert (award["prize_multiplier"], award["base_salary"], award["prize_amount"]) == ("0.8", 2_340_000, 1_872_000)
    assert award["certificate_number"] == "213/88/QĐ-UBND/1"
    # The powers passed to the commune on 1 July 2025: the district's decision dated after it is refused.
    monkeypatch.undo()
    held = await snapshot(emulation, after)
    refused = await step(emulation, after, "decision", DISTRICT_BOARD, decision("95/QĐ-UBND", on=date(2025, 7, 2)),
                         status=422)
    assert refused["code"] == "not_within_power" and refused["errors"][0]["field"] == "decision_date"
    assert await snapshot(emulation, after) == held
    [decided] = await outbox(emulation.db_url, "emulation.nomination.decided")
    assert reporting_row(decided)["award_id"] == award["id"]
    book = (await emulation.get("/emulation/awards", DISTRICT_BOARD, year=2025)).json()["items"]
    assert [(a["nominee_name"], a["awarding_level"]) for a in book] == [("Tổ dân phố số 3", "district")]
