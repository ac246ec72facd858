"""Cross-unit refusals the gateway cannot see: a caller of another commune, district or province names
its OWN unit in the body (so the gateway's unit check passes) together with the id of a movement or
criteria set it cannot see. The service refuses on the id (404, as for any row out of scope) and
stores nothing; the same bodies under the caller's own movement are accepted (so the refusal is the
id's). Also the lists of quotas, certificates and targets read by other units' callers, and a
collective nominee named as a unit (`nominee.unit_code`)."""

from __future__ import annotations

from typing import Any

from shared.principal import Principal
from tests.emulation.conftest import (
    COMMUNE,
    COMMUNE_OFFICER,
    DISTRICT_OFFICER,
    FOREIGN,
    NEIGHBOUR_OFFICER,
    OTHER_DISTRICT_OFFICER,
    OTHER_PROVINCE_OFFICER,
    PROVINCE_BOARD,
    PROVINCE_OFFICER,
    Emulation,
    launched,
    movement_body,
    principal,
)
from tests.emulation.events_kit import outbox
from tests.kit import fetch, scalar

TABLES = ("em_movements", "em_documents", "em_activities", "em_targets", "em_registrations", "em_criteria_sets",
          "em_manual_scores", "em_nominations", "em_exemplars", "em_quotas", "em_awards", "outbox")
# Each foreign caller, the unit code of its own scope, and the launcher of the movement it cannot see.
CALLERS: list[tuple[Principal, str, Principal, str]] = [
    (NEIGHBOUR_OFFICER, "07222", COMMUNE_OFFICER, "07207"),  # another ward's, a ward's movement
    (OTHER_DISTRICT_OFFICER, "215", DISTRICT_OFFICER, "213"),  # another district's, a district's movement
    (OTHER_PROVINCE_OFFICER, "25", PROVINCE_OFFICER, "24"),  # another province's, a province's movement
]


async def stored(emulation: Emulation) -> dict[str, int]:
    return {t: int(await scalar(emulation.db_url, f"SELECT count(*) FROM {t}")) for t in TABLES}


def board(officer: Principal) -> Principal:
    return principal("emulation_board", officer.scope_paths)


def writes(own: str, movement_id: str) -> list[tuple[str, str, bool, dict[str, Any]]]:
    """(route, expected status when accepted, by the board?, body naming the caller's own unit)."""
    base = f"/emulation/movements/{movement_id}"
    return [
        (f"{base}/documents", "201", False, {"unit": own, "doc_type": "plan", "number": "108/KH-UBND",
                                            "issued_on": "2018-01-19", "issuing_body": "UBND",
                                            "summary": "Kế hoạch thực hiện phong trào"}),
        (f"{base}/activities", "201", False, {"unit": own, "kind": "broadcast", "held_on": "2018-03-01",
                                             "count": 3}),
        (f"{base}/targets", "200", False, {"unit": own, "year": 2018, "indicator": "fund_raised", "value": "5"}),
        (f"{base}/registrations", "201", False, {"unit": own, "year": 2018, "registrant_kind": "unit",
                                                "registrant_name": "Tổ dân phố số 3", "title_sought": "giay_khen",
                                                "commitment": "Không còn hộ nghèo"}),
        (f"{base}/criteria-sets", "200", True, {"unit": own, "year": 2018, "level": "commune", "criteria": [
            {"key": "lead", "name": "Lãnh đạo", "kind": "manual", "weight": 100}]}),
        ("/emulation/nominations", "201", False, {
            "unit": own, "year": 2018, "form": "bang_khen_tinh", "movement_id": movement_id,
            "nominee": {"kind": "individual", "name": "Nguyễn Thị Hoa"}, "achievements": "Vận động quỹ",
            "dossier": []}),
        ("/emulation/exemplars", "201", False, {
            "unit": own, "movement_id": movement_id, "kind": "model", "name": "Tổ thu gom phế liệu",
            "summary": "Giúp hộ nghèo", "recognised_by": "UBND", "recognised_on": "2018-08-01"}),
    ]


async def test_own_unit_in_the_body_with_a_movement_id_from_elsewhere_is_refused(emulation: Emulation) -> None:
    theirs = {}
    for _, _, launcher, code in CALLERS:
        theirs[code] = str((await _launched_by(emulation, launcher, code))["id"])
    scoring = await emulation.post(f"/emulation/movements/{theirs['24']}/criteria-sets", PROVINCE_BOARD, {
        "unit": "24", "year": 2018, "level": "commune", "criteria": [
            {"key": "lead", "name": "Lãnh đạo", "kind": "manual", "weight": 100}]})
    assert scoring.status_code == 200, scoring.text
    before = await stored(emulation)
    tried = 0
    for caller, own, _, code in CALLERS:
        for url, _, by_board, body in writes(own, theirs[code]):
            response = await emulation.post(url, board(caller) if by_board else caller, body)
            assert (response.status_code, response.json()["code"]) == (404, "not_found"), (caller.role, url,
                                                                                           response.text)
            tried += 1
        # Reads of the movement they cannot see: 404 alike.
        for part in ("", "/documents", "/activities", "/targets", "/registrations", "/criteria-sets", "/scores"):
            response = await emulation.get(f"/emulation/movements/{theirs[code]}{part}", caller)
            assert response.status_code == 404, (caller.role, part, response.text)
    # The province's criteria set, by another province's board naming its own commune: 404, as is re-scoring it.
    set_id = scoring.json()["id"]
    foreign_board = board(OTHER_PROVINCE_OFFICER)
    points = await emulation.post(f"/emulation/criteria-sets/{set_id}/manual-scores", foreign_board, {
        "unit": "07888", "criterion": "lead", "points": "10", "evidence": "Biên bản"})
    assert (points.status_code, points.json()["code"]) == (404, "not_found"), points.text
    assert (await emulation.post(f"/emulation/criteria-sets/{set_id}/scores", foreign_board)).status_code == 404
    assert tried == 3 * 7
    assert await stored(emulation) == before
    # The same bodies under each caller's own movement are accepted: the refusal was the id's.
    for caller, own, _, _ in CALLERS:
        mine = str((await _launched_by(emulation, caller, own))["id"])
        for url, status, by_board, body in writes(own, mine):
            if by_board and caller is NEIGHBOUR_OFFICER:
                continue  # a ward scores no level below it
            response = await emulation.post(url, board(caller) if by_board else caller, body)
            assert str(response.status_code) == status, (caller.role, url, response.text)


async def _launched_by(emulation: Emulation, officer: Principal, code: str) -> dict[str, Any]:
    response = await emulation.post("/emulation/movements", officer, movement_body(unit=code, document=None))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_quotas_are_set_by_the_level_above_and_read_only_by_their_units(emulation: Emulation) -> None:
    district_board = principal("emulation_board", [DISTRICT_OFFICER.scope_paths[0]])
    quota = await emulation.post("/emulation/quotas", district_board,
                                 {"unit": "07207", "form": "giay_khen", "year": 2025, "quota": 10})
    assert quota.status_code == 200, quota.text
    # Boards of another district and another province: naming the ward is refused, nothing changes.
    for caller in (OTHER_DISTRICT_OFFICER, OTHER_PROVINCE_OFFICER):
        refused = await emulation.post("/emulation/quotas", board(caller),
                                       {"unit": "07207", "form": "giay_khen", "year": 2025, "quota": 99})
        assert refused.status_code == 403, refused.text
    # Another province's board, for a unit below it: its own quota, a row of its own.
    own = await emulation.post("/emulation/quotas", board(OTHER_PROVINCE_OFFICER),
                               {"unit": "227", "form": "giay_khen", "year": 2025, "quota": 3})
    assert own.status_code == 200 and own.json()["unit_path"] == "v2008.25.227", own.text
    rows = await fetch(emulation.db_url, "SELECT unit_path, quota FROM em_quotas ORDER BY unit_path")
    assert [(r["unit_path"], r["quota"]) for r in rows] == [(COMMUNE, 10), ("v2008.25.227", 3)]
    # Reads: the ward and its district see the ward's quota; another ward, district, province do not.
    for reader in (COMMUNE_OFFICER, DISTRICT_OFFICER, PROVINCE_OFFICER):
        listed = (await emulation.get("/emulation/quotas", reader, year=2025)).json()["items"]
        assert [(q["unit_path"], q["quota"], q["used"]) for q in listed] == [(COMMUNE, 10, 0)], reader.role
    for caller in FOREIGN:
        listed = (await emulation.get("/emulation/quotas", caller)).json()
        assert COMMUNE not in str(listed), caller.role
        assert (await emulation.get("/emulation/quotas", caller, unit="07207")).status_code == 403
    assert [q["unit_path"] for q in (await emulation.get("/emulation/quotas", OTHER_PROVINCE_OFFICER)).json()[
        "items"]] == ["v2008.25.227"]


async def test_targets_of_a_movement_are_not_shown_to_another_province(emulation: Emulation) -> None:
    movement = await launched(emulation)
    url = f"/emulation/movements/{movement['id']}/targets"
    set_ = await emulation.post(url, PROVINCE_OFFICER, {"unit": "24", "year": 2018, "indicator": "fund_raised",
                                                        "value": "1000000"})
    assert set_.status_code == 200, set_.text
    assert (await emulation.get(url, COMMUNE_OFFICER)).json()["total"] == 0  # the province's own, not the ward's
    assert (await emulation.get(url, PROVINCE_OFFICER)).json()["total"] == 1
    refused = await emulation.get(url, OTHER_PROVINCE_OFFICER)
    assert refused.status_code == 404 and "1000000" not in refused.text
    assert (await emulation.get(url, COMMUNE_OFFICER, unit="07888")).status_code == 403


def _collective(unit: str, nominee_unit: str) -> dict[str, Any]:
    return {"unit": unit, "year": 2025, "form": "bang_khen_tinh",
            "nominee": {"kind": "collective", "name": "Tập thể UBND phường", "unit_code": nominee_unit},
            "achievements": "Không còn hộ nghèo", "dossier": []}


async def test_a_collective_nominee_named_as_a_unit(emulation: Emulation) -> None:
    # A district nominates one of its wards as a collective; a ward nominates itself.
    by_district = await emulation.post("/emulation/nominations", DISTRICT_OFFICER, _collective("213", "07207"))
    assert by_district.status_code == 201, by_district.text
    assert by_district.json()["nominee_unit_path"] == COMMUNE
    itself = await emulation.post("/emulation/nominations", COMMUNE_OFFICER, _collective("07207", "07207"))
    assert itself.status_code == 201 and itself.json()["nominee_unit_path"] == COMMUNE, itself.text
    rows = await fetch(emulation.db_url, "SELECT unit_path, nominee_unit_path FROM em_nominations ORDER BY unit_path")
    assert [(r["unit_path"], r["nominee_unit_path"]) for r in rows] == [("v2008.24.213", COMMUNE), (COMMUNE, COMMUNE)]
    before = await stored(emulation)
    # A unit in the caller's scope but not below the nominating unit: the district above, a sibling ward.
    for unit, nominee in (("07207", "213"), ("07207", "07222")):
        refused = await emulation.post("/emulation/nominations", DISTRICT_OFFICER, _collective(unit, nominee))
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "nominee.unit_code", \
            refused.text
    # A unit outside the caller's scope (another ward, district, province): refused as any unit out of scope.
    for nominee in ("07222", "07243", "215", "07888"):
        refused = await emulation.post("/emulation/nominations", COMMUNE_OFFICER, _collective("07207", nominee))
        assert refused.status_code == 403, (nominee, refused.text)
    # Only a collective is a unit.
    individual = _collective("07207", "07207")
    individual["nominee"] |= {"kind": "individual"}
    wrong_kind = await emulation.post("/emulation/nominations", COMMUNE_OFFICER, individual)
    assert wrong_kind.status_code == 422 and wrong_kind.json()["errors"][0]["field"] == "nominee.unit_code"
    unknown = await emulation.post("/emulation/nominations", COMMUNE_OFFICER, _collective("07207", "99999"))
    assert unknown.status_code == 404 and unknown.json()["code"] == "unit_not_found"
    assert await stored(emulation) == before
    assert await outbox(emulation.db_url) == []  # drafts are not announced
