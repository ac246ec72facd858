"""Who may do what with a report, on every route: a unit's report is written by its own officers, read
by them and the levels above, accepted or returned by the unit it reports to only; refusals change
nothing. And the errors a client can act on (RFC 9457): a period in the future, a stale or missing
ETag, a return without comments, a second report for the same period."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.clock import today
from tests.reporting.conftest import Reporting
from tests.reporting.registry_events import COMMUNES_A, DISTRICT_A, OTHER_COMMUNE
from tests.reporting.report_kit import (
    COMMUNE,
    DISTRICT,
    OTHER_DISTRICT,
    OTHER_DISTRICT_COMMUNE,
    OTHER_PROVINCE,
    PROVINCE_OFFICER,
    SISTER_COMMUNE,
    VIEWER,
    call,
    load_everything,
    ok,
    open_report,
    write_and_submit,
)

OUTSIDERS = [SISTER_COMMUNE, OTHER_DISTRICT, OTHER_DISTRICT_COMMUNE, OTHER_PROVINCE]


async def state_of(reporting: Reporting, report_id: str) -> tuple[str, int, int]:
    body = await ok(await call(reporting, "GET", f"/reporting/reports/{report_id}", COMMUNE))
    return body["state"], body["version"], body["row_version"]


@pytest.fixture
async def draft(reporting: Reporting) -> dict[str, Any]:
    await load_everything(reporting, households=60)
    return await ok(await open_report(reporting, COMMUNE, COMMUNES_A[0]), 201)


async def test_only_the_units_own_officers_open_its_report(reporting: Reporting, draft: dict[str, Any]) -> None:
    for principal, unit in ((SISTER_COMMUNE, COMMUNES_A[2]), (DISTRICT, COMMUNES_A[2]),
                            (PROVINCE_OFFICER, DISTRICT_A), (OTHER_PROVINCE, COMMUNES_A[2]),
                            (COMMUNE, DISTRICT_A), (COMMUNE, OTHER_COMMUNE), (VIEWER, COMMUNES_A[2])):
        response = await open_report(reporting, principal, unit)
        assert response.status_code == 403, (principal.role, unit, response.text)
    listed = await ok(await call(reporting, "GET", "/reporting/reports", PROVINCE_OFFICER))
    assert [r["unit_path"] for r in listed["items"]] == [COMMUNES_A[0]]


async def test_a_report_is_read_by_its_unit_and_the_levels_above_only(reporting: Reporting,
                                                                       draft: dict[str, Any]) -> None:
    rid = draft["id"]
    for reader in (COMMUNE, DISTRICT, PROVINCE_OFFICER, VIEWER):
        assert (await call(reporting, "GET", f"/reporting/reports/{rid}", reader)).status_code == 200
    for outsider in OUTSIDERS:
        for suffix in ("", "/figures/poverty.end.poor/trace"):
            response = await call(reporting, "GET", f"/reporting/reports/{rid}{suffix}", outsider)
            assert response.status_code == 404 and "Ngô Quyền" not in response.text, (outsider.role, suffix)
        listed = await call(reporting, "GET", "/reporting/reports", outsider)
        assert listed.status_code == 200 and listed.json()["total"] == 0
    by_unit = await call(reporting, "GET", "/reporting/reports", SISTER_COMMUNE, params={"unit": COMMUNES_A[0]})
    assert by_unit.status_code == 403


async def test_only_its_own_unit_edits_and_submits(reporting: Reporting, draft: dict[str, Any]) -> None:
    rid, before = draft["id"], await state_of(reporting, draft["id"])
    for principal, expected in ((DISTRICT, 403), (PROVINCE_OFFICER, 403), (SISTER_COMMUNE, 404),
                                (OTHER_PROVINCE, 404), (VIEWER, 403)):
        edit = await call(reporting, "PATCH", f"/reporting/reports/{rid}", principal, "*",
                          json={"narratives": {"III.1": "ghi đè"}})
        submit = await call(reporting, "POST", f"/reporting/reports/{rid}/submit", principal, "*")
        assert (edit.status_code, submit.status_code) == (expected, expected), principal.role
    assert await state_of(reporting, rid) == before


async def test_only_the_level_above_accepts_or_returns(reporting: Reporting, draft: dict[str, Any]) -> None:
    rid = draft["id"]
    await write_and_submit(reporting, COMMUNE, rid, f'"{draft["row_version"]}"')
    before = await state_of(reporting, rid)
    for principal, expected in ((COMMUNE, 403), (PROVINCE_OFFICER, 403), (SISTER_COMMUNE, 404),
                                (OTHER_DISTRICT, 404), (OTHER_PROVINCE, 404), (VIEWER, 403)):
        for action, body in (("accept", {}), ("return", {"comment": "Trả lại"})):
            response = await call(reporting, "POST", f"/reporting/reports/{rid}/{action}", principal, "*", json=body)
            assert response.status_code == expected, (principal.role, action, response.text)
            if expected == 403 and principal is not VIEWER:
                assert response.json()["code"] == "not_the_level_above"
    assert await state_of(reporting, rid) == before
    assert (await call(reporting, "POST", f"/reporting/reports/{rid}/accept", DISTRICT, "*")).status_code == 200


async def test_clear_errors_that_change_nothing(reporting: Reporting, draft: dict[str, Any]) -> None:
    rid, path = draft["id"], f"/reporting/reports/{draft['id']}"
    future = await open_report(reporting, COMMUNE, COMMUNES_A[0], "annual", str(today().year + 1))
    assert future.status_code == 422 and future.json()["code"] == "period_in_future"
    month = (today() + timedelta(days=40)).strftime("%Y-%m")
    assert (await open_report(reporting, COMMUNE, COMMUNES_A[0], "monthly", month)).json()["code"] == "period_in_future"
    bad = await open_report(reporting, COMMUNE, COMMUNES_A[0], "monthly", "2024-13")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "period"
    unknown = await open_report(reporting, COMMUNE, COMMUNES_A[0], "weekly", "2024")
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "type"
    movement = await open_report(reporting, COMMUNE, COMMUNES_A[0], "midterm", "no-such-movement")
    assert movement.status_code == 422 and movement.json()["code"] == "unknown_movement"
    twice = await open_report(reporting, COMMUNE, COMMUNES_A[0])
    assert twice.status_code == 409 and twice.json()["report_id"] == rid

    before = await state_of(reporting, rid)
    no_etag = await call(reporting, "PATCH", path, COMMUNE, json={"narratives": {"III.1": "x"}})
    assert no_etag.status_code == 428
    stale = await call(reporting, "PATCH", path, COMMUNE, '"999"', json={"narratives": {"III.1": "x"}})
    assert stale.status_code == 412 and stale.json()["current_etag"] == f'"{before[2]}"'
    formula = await call(reporting, "PATCH", path, COMMUNE, "*",
                         json={"document": {"signer_name": "=cmd|' /C calc'!A0"}})
    assert formula.status_code == 422 and formula.json()["errors"][0]["field"] == "document.signer_name"
    hidden = await call(reporting, "PATCH", path, COMMUNE, "*", json={"narratives": {"III.1": "ưu điểm\u202e"}})
    assert hidden.status_code == 422
    section = await call(reporting, "PATCH", path, COMMUNE, "*", json={"narratives": {"V.9": "x"}})
    assert section.status_code == 422 and section.json()["errors"][0]["field"] == "narratives.V.9"
    override = await call(reporting, "PATCH", path, COMMUNE, "*", json={
        "overrides": {"poverty.end.poor": {"value": -3, "reason": "x"},
                      "poverty.end.poor_rate": {"value": 1, "reason": "x"},
                      "support.bhyt_poor.households": {"value": "2.5", "reason": "x"}}})
    assert override.status_code == 422
    assert {e["field"] for e in override.json()["errors"]} == {
        "overrides.poverty.end.poor.value", "overrides.poverty.end.poor_rate",
        "overrides.support.bhyt_poor.households.value"}
    fraction = await call(reporting, "PATCH", path, COMMUNE, "*",
                          json={"overrides": {"poverty.end.poor": {"value": 2.5, "reason": "x"}}})
    assert fraction.status_code == 422
    no_reason = await call(reporting, "PATCH", path, COMMUNE, "*",
                           json={"overrides": {"poverty.end.poor": {"value": 3, "reason": " "}}})
    assert no_reason.status_code == 422
    assert await state_of(reporting, rid) == before

    await write_and_submit(reporting, COMMUNE, rid, f'"{before[2]}"')
    submitted = await state_of(reporting, rid)
    again = await call(reporting, "POST", f"{path}/submit", COMMUNE, "*")
    assert again.status_code == 409 and again.json()["code"] == "not_a_draft"
    silent = await call(reporting, "POST", f"{path}/return", DISTRICT, "*", json={"comment": "  "})
    assert silent.status_code == 422 and silent.json()["errors"][0]["field"] == "comment"
    assert await state_of(reporting, rid) == submitted
    await ok(await call(reporting, "POST", f"{path}/accept", DISTRICT, "*"))
    twice_accepted = await call(reporting, "POST", f"{path}/accept", DISTRICT, "*")
    assert twice_accepted.status_code == 409 and twice_accepted.json()["code"] == "not_submitted"
