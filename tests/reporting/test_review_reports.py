"""What issue 13 asks that the other report tests did not show: a movement's mid-term review (sơ kết)
covering its phase — figures from what happened between the movement's start and the review's day —,
submitted, returned and accepted with each step published through the outbox, counted by completeness;
a province's report built from its districts' accepted reports, themselves built from their communes';
and the PDF route's clear answer where LibreOffice is not installed."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson
import pytest

from tests.reporting.conftest import Reporting
from tests.reporting.emulation_events import MOVEMENT
from tests.reporting.registry_events import COMMUNES_A, DISTRICT_A, DISTRICT_B, PROVINCE
from tests.reporting.report_kit import (
    COMMUNE,
    DISTRICT,
    PROVINCE_OFFICER,
    call,
    load_everything,
    ok,
    open_report,
    value,
    write_and_submit,
)
from tests.reporting.support_events import delivery, delivery_event


async def outbox(reporting: Reporting, type_: str) -> list[dict[str, Any]]:
    connection = await asyncpg.connect(reporting.db_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await connection.fetch("SELECT body FROM outbox WHERE subject = $1 ORDER BY seq", type_)
    finally:
        await connection.close()
    return [orjson.loads(r["body"]) for r in rows]


async def test_a_midterm_review_covers_the_movements_first_phase_and_goes_up(reporting: Reporting) -> None:
    await load_everything(reporting)
    # After the mid-term review's day (30/06/2024): in the annual report, not in the mid-term one.
    after = delivery(COMMUNES_A[0], "nhcsxh_credit", 700_000_000, body="nhcsxh", households=9,
                     funding=[("nhcsxh", 700_000_000)], delivered_on="2024-09-02")
    await reporting.settled(await reporting.publish([delivery_event(after)]), consumer="reporting-support")

    opened = await open_report(reporting, COMMUNE, COMMUNES_A[0], "midterm", MOVEMENT)
    midterm = await ok(opened, 201)
    assert (midterm["type"], midterm["period"]) == ("midterm", MOVEMENT)
    assert (midterm["period_start"], midterm["period_end"], midterm["due_on"]) == (
        "2023-01-01", "2024-06-30", "2024-06-30")
    assert "Sơ kết" in midterm["document"]["title"]
    assert value(midterm, "support.nhcsxh_credit.amount_vnd") == 4_000_000_000
    assert value(midterm, "support.nhcsxh_credit.households") == 110
    assert value(midterm, "propaganda.propaganda:broadcast:broadcasts.count") == 57
    annual = await ok(await open_report(reporting, COMMUNE, COMMUNES_A[0]), 201)
    assert value(annual, "support.nhcsxh_credit.amount_vnd") == 4_700_000_000

    rid = midterm["id"]
    await write_and_submit(reporting, COMMUNE, rid, opened.headers["etag"])
    await ok(await call(reporting, "POST", f"/reporting/reports/{rid}/return", DISTRICT, "*",
                        json={"comment": "Bổ sung mô hình"}))
    edited = await call(reporting, "PATCH", f"/reporting/reports/{rid}", COMMUNE, "*",
                        json={"narratives": {"II.5": "Tổ thu gom phế liệu"}})
    resubmitted = await call(reporting, "POST", f"/reporting/reports/{rid}/submit", COMMUNE, edited.headers["etag"])
    await ok(resubmitted)
    await ok(await call(reporting, "POST", f"/reporting/reports/{rid}/accept", DISTRICT, "*"))

    # Each step published (docs/events.md "reporting"), late: first submitted after 30/06/2024.
    submitted, returned, accepted = [await outbox(reporting, f"reporting.report.{a}")
                                     for a in ("submitted", "returned", "accepted")]
    assert [e["payload"]["report_id"] for e in submitted] == [rid, rid]
    assert [e["payload"]["comment"] for e in returned] == ["Bổ sung mô hình"]
    done = accepted[0]["payload"]
    assert (done["report_type"], done["period"], done["state"], done["due_on"]) == (
        "midterm", MOVEMENT, "accepted", "2024-06-30")
    assert done["on_time"] is False and accepted[0]["unit_path"] == COMMUNES_A[0]

    # The district's completeness of the mid-term review: one of three wards, late, accepted.
    answer = await ok(await call(reporting, "GET", "/reporting/completeness", DISTRICT,
                                 params={"unit": DISTRICT_A, "type": "midterm", "period": MOVEMENT}))
    totals = answer["totals"]
    assert answer["due_on"] == "2024-06-30"
    assert (totals["expected"], totals["submitted"], totals["late"], totals["accepted"], totals["overdue"]) == (
        3, 1, 1, 1, 2)


async def test_a_provinces_report_sums_its_districts_accepted_reports_built_from_their_communes(
        reporting: Reporting) -> None:
    await load_everything(reporting, households=200)
    opened = await open_report(reporting, COMMUNE, COMMUNES_A[0])
    commune = await ok(opened, 201)
    edited = await call(reporting, "PATCH", f"/reporting/reports/{commune['id']}", COMMUNE, opened.headers["etag"],
                        json={"overrides": {"poverty.end.poor": {"value": 40, "reason": "Quyết định bổ sung"}}})
    await write_and_submit(reporting, COMMUNE, commune["id"], edited.headers["etag"])
    await ok(await call(reporting, "POST", f"/reporting/reports/{commune['id']}/accept", DISTRICT, "*"))

    district = await ok(await open_report(reporting, DISTRICT, DISTRICT_A), 201)
    assert district["figures"]["poverty.end.poor"]["value"] == 40  # the ward's accepted report, override included
    await write_and_submit(reporting, DISTRICT, district["id"], f'"{district["row_version"]}"')
    # The province may not act on the ward's report; it accepts the city's.
    ward = await call(reporting, "POST", f"/reporting/reports/{commune['id']}/return", PROVINCE_OFFICER, "*",
                      json={"comment": "x"})
    assert ward.status_code == 403 and ward.json()["code"] == "not_the_level_above"
    await ok(await call(reporting, "POST", f"/reporting/reports/{district['id']}/accept", PROVINCE_OFFICER, "*"))

    province = await ok(await open_report(reporting, PROVINCE_OFFICER, PROVINCE), 201)
    consolidation = province["consolidation"]
    assert (consolidation["expected"], consolidation["summed"], consolidation["missing"]) == (2, 1, [DISTRICT_B])
    figures = province["figures"]
    assert figures["poverty.end.poor"]["consolidated"] == 40 and figures["poverty.end.poor"]["value"] == 40
    assert figures["poverty.end.poor"]["data"] != 40  # what the read models say stays beside it
    # The ward's credit through the city's report, and the rice the city recorded itself.
    assert figures["support.nhcsxh_credit.amount_vnd"]["consolidated"] == 4_000_000_000
    assert figures["support.monthly_rice.amount_vnd"]["consolidated"] == 81_150_000
    traced = await ok(await call(reporting, "GET", f"/reporting/reports/{province['id']}/figures/"
                                 "support.nhcsxh_credit.amount_vnd/trace", PROVINCE_OFFICER))
    assert [(c["path"], c["value"]) for c in traced["children"]] == [(DISTRICT_A, 4_000_000_000)]


async def test_the_pdf_is_refused_clearly_where_libreoffice_is_not_installed(
        reporting: Reporting, monkeypatch: pytest.MonkeyPatch) -> None:
    await load_everything(reporting, households=50)
    report = await ok(await open_report(reporting, COMMUNE, COMMUNES_A[0]), 201)
    monkeypatch.setenv("PATH", "/nonexistent")  # a server without LibreOffice: no soffice on its PATH
    pdf = await call(reporting, "GET", f"/reporting/reports/{report['id']}/document.pdf", COMMUNE)
    assert pdf.status_code == 503 and pdf.json()["code"] == "pdf_unavailable"
    assert "libreoffice-writer-nogui" in pdf.json()["detail"]
    docx = await call(reporting, "GET", f"/reporting/reports/{report['id']}/document.docx", COMMUNE)
    assert docx.status_code == 200  # the DOCX remains
