"""Completeness and timeliness: expected reports as the denominator, submitted, on time, accepted,
returned, missing, per level and per child rolled up, the overdue units; the caller's scope only."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.clock import today
from tests.reporting.conftest import Reporting
from tests.reporting.emulation_events import movement
from tests.reporting.registry_events import COMMUNES_A, COMMUNES_B, DISTRICT_A, NEW_COMMUNES, NEW_PROVINCE, PROVINCE
from tests.reporting.report_kit import (
    COMMUNE,
    DISTRICT,
    OTHER_DISTRICT,
    OTHER_PROVINCE,
    PROVINCE_OFFICER,
    SISTER_COMMUNE,
    call,
    load_everything,
    officer,
    ok,
    open_report,
    write_and_submit,
)


async def completeness(reporting: Reporting, principal: object, **params: object) -> dict[str, object]:
    return await ok(await call(reporting, "GET", "/reporting/completeness", principal, params=params))  # type: ignore[arg-type]


async def test_rates_per_level_and_child_and_the_overdue_units(reporting: Reporting) -> None:
    await load_everything(reporting, households=200)
    commune = await ok(await open_report(reporting, COMMUNE, COMMUNES_A[0]), 201)
    await write_and_submit(reporting, COMMUNE, commune["id"], f'"{commune["row_version"]}"')
    await ok(await call(reporting, "POST", f"/reporting/reports/{commune['id']}/accept", DISTRICT, "*"))
    await ok(await open_report(reporting, SISTER_COMMUNE, COMMUNES_A[1]), 201)  # a draft, never submitted
    district = await ok(await open_report(reporting, DISTRICT, DISTRICT_A), 201)
    await write_and_submit(reporting, DISTRICT, district["id"], f'"{district["row_version"]}"')
    returned = await call(reporting, "POST", f"/reporting/reports/{district['id']}/return", PROVINCE_OFFICER, "*",
                          json={"comment": "Thiếu số liệu xã Trần Phú"})
    assert returned.status_code == 200, returned.text

    answer = await completeness(reporting, PROVINCE_OFFICER, unit=PROVINCE, type="annual", period="2024")
    assert answer["due_on"] == "2024-11-20"
    totals = answer["totals"]
    # 2 districts and 6 communes must report; 2 submitted, both after 20/11/2024 (the tests run later).
    assert (totals["expected"], totals["submitted"], totals["on_time"], totals["late"]) == (8, 2, 0, 2)
    assert (totals["accepted"], totals["returned"], totals["drafts"], totals["missing"]) == (1, 1, 1, 6)
    assert totals["completeness_rate"] == 25.0 and totals["timeliness_rate"] == 0.0
    assert answer["by_level"]["district"]["expected"] == 2 and answer["by_level"]["commune"]["expected"] == 6
    children = {c["code"]: c for c in answer["children"]}
    assert children["213"]["expected"] == 4 and children["213"]["submitted"] == 2
    assert children["215"]["expected"] == 4 and children["215"]["submitted"] == 0
    assert answer["overdue"]["total"] == 6
    overdue = {o["path"]: o["state"] for o in answer["overdue"]["items"]}
    assert overdue[COMMUNES_A[1]] == "draft" and overdue[COMMUNES_B[0]] == "missing"
    assert COMMUNES_A[0] not in overdue and DISTRICT_A not in overdue

    paged = await completeness(reporting, PROVINCE_OFFICER, unit=PROVINCE, type="annual", period="2024", limit=2,
                               offset=4)
    assert paged["overdue"]["total"] == 6 and len(paged["overdue"]["items"]) == 2

    mine = await completeness(reporting, DISTRICT, type="annual", period="2024")
    assert mine["totals"]["expected"] == 3 and mine["totals"]["submitted"] == 1 and mine["totals"]["accepted"] == 1


async def test_a_report_submitted_before_its_due_date_is_on_time(reporting: Reporting) -> None:
    await load_everything(reporting, households=100)
    review = movement(NEW_PROVINCE, "mv-2025")
    review.payload["phases"][2]["held_on"] = (today() + timedelta(days=30)).isoformat()
    await reporting.settled(await reporting.publish([review]), consumer="reporting-emulation")
    new_commune = officer(NEW_COMMUNES[0])
    report = await ok(await open_report(reporting, new_commune, NEW_COMMUNES[0], "final", "mv-2025"), 201)
    await write_and_submit(reporting, new_commune, report["id"], f'"{report["row_version"]}"')
    answer = await completeness(reporting, officer(NEW_PROVINCE), type="final", period="mv-2025")
    assert (answer["totals"]["expected"], answer["totals"]["submitted"], answer["totals"]["on_time"]) == (4, 1, 1)
    assert answer["totals"]["timeliness_rate"] == 25.0 and answer["overdue"]["total"] == 0  # not due yet
    # The old hierarchy's units had ceased to exist by the due date: none of them is expected.
    old = await completeness(reporting, PROVINCE_OFFICER, unit=PROVINCE, type="final", period="mv-2025")
    assert old["totals"]["expected"] == 0 and old["totals"]["completeness_rate"] is None


@pytest.mark.parametrize(("principal", "unit"), [
    (COMMUNE, DISTRICT_A), (COMMUNE, COMMUNES_A[1]), (OTHER_DISTRICT, DISTRICT_A), (OTHER_PROVINCE, PROVINCE),
    (DISTRICT, PROVINCE),
])
async def test_completeness_of_units_outside_the_scope_is_refused(reporting: Reporting, principal: object,
                                                                    unit: str) -> None:
    await load_everything(reporting, households=50)
    response = await call(reporting, "GET", "/reporting/completeness", principal,  # type: ignore[arg-type]
                          params={"unit": unit, "type": "annual", "period": "2024"})
    assert response.status_code == 403 and "expected" not in response.text
