"""Periodic reports: a commune's annual draft filled from the read models, narratives and overrides,
versions, submission, return and acceptance by the district, the district's consolidated draft."""

from __future__ import annotations

from tests.reporting.conftest import Reporting
from tests.reporting.registry_events import COMMUNES_A, DISTRICT_A, expected
from tests.reporting.report_kit import (
    COMMUNE,
    DISTRICT,
    NARRATIVES,
    SISTER_COMMUNE,
    call,
    load_everything,
    ok,
    open_report,
    value,
    write_and_submit,
)


async def test_a_communes_annual_draft_is_filled_from_the_read_models(reporting: Reporting) -> None:
    data, _ = await load_everything(reporting)
    draft = await ok(await open_report(reporting, COMMUNE, COMMUNES_A[0]), 201)
    assert draft["state"] == "draft" and draft["version"] == 1 and draft["period_start"] == "2024-01-01"
    assert draft["due_on"] == "2024-11-20" and draft["frozen"] is False
    counts = expected(data, 2024, COMMUNES_A[0])[""]
    before = expected(data, 2023, COMMUNES_A[0])[""]
    assert value(draft, "poverty.end.households") == counts["households"]
    assert value(draft, "poverty.end.poor") == counts["poor"]
    assert value(draft, "poverty.start.poor") == before["poor"]
    assert value(draft, "poverty.end.poor_rate") == round(100 * counts["poor"] / counts["households"], 2)
    assert value(draft, "changes.newly_poor.households") == counts["t:newly_poor"]
    assert value(draft, "support.nhcsxh_credit.amount_vnd") == 4_000_000_000
    assert value(draft, "support.education_costs.turns") == 1326
    assert value(draft, "propaganda.propaganda:broadcast:broadcasts.count") == 57
    assert value(draft, "awards.awards.count") == 1  # the revoked award is not counted
    assert value(draft, "targets.poor_rate_reduction:2024.target") == "1.5"
    sections = {s["key"]: s for s in draft["sections"]}
    assert [r[1]["text"] for r in sections["I.1"]["tables"][0]["rows"]] == ["108/KH-UBND", "2222/QĐ-UBND"]
    assert sections["III.1"]["required"] and sections["III.1"]["narrative"] == ""
    assert {m["field"] for m in draft["missing_for_submission"]} == {
        "narratives.III.1", "narratives.III.2", "narratives.IV.1", "narratives.IV.2", "document.number",
        "document.signer_name"}
    assert draft["document"]["issuing_body"] == "ỦY BAN NHÂN DÂN\nPHƯỜNG NGÔ QUYỀN"
    assert draft["document"]["recipients"][0] == "UBND Thành phố Bắc Giang (để b/c)"


async def test_the_workflow_from_draft_to_acceptance_and_the_districts_consolidation(reporting: Reporting) -> None:
    await load_everything(reporting)
    opened = await open_report(reporting, COMMUNE, COMMUNES_A[0])
    draft = await ok(opened, 201)
    rid, path = draft["id"], f"/reporting/reports/{draft['id']}"

    # An override with its reason; the rate follows the overridden count.
    edited = await call(reporting, "PATCH", path, COMMUNE, opened.headers["etag"], json={
        "overrides": {"poverty.end.poor": {"value": 40, "reason": "Quyết định công nhận bổ sung ngày 10/11"}}})
    report = await ok(edited)
    figure = report["figures"]["poverty.end.poor"]
    assert figure["value"] == 40 and figure["overridden"] and figure["data"] != 40
    assert figure["reason"] == "Quyết định công nhận bổ sung ngày 10/11"
    assert report["overridden"] == ["poverty.end.poor"] and report["version"] == 2
    assert value(report, "poverty.end.poor_rate") == round(100 * 40 / value(report, "poverty.end.households"), 2)

    # Submitting with empty required sections is refused and changes nothing.
    refused = await call(reporting, "POST", f"{path}/submit", COMMUNE, edited.headers["etag"])
    assert refused.status_code == 422 and refused.json()["code"] == "incomplete_report"
    assert {e["field"] for e in refused.json()["errors"]} >= {"narratives.III.1", "document.number"}
    assert (await ok(await call(reporting, "GET", path, COMMUNE)))["state"] == "draft"

    submitted = await write_and_submit(reporting, COMMUNE, rid, edited.headers["etag"])
    assert submitted["state"] == "submitted" and submitted["frozen"] and submitted["version"] == 3
    assert submitted["narratives"] == NARRATIVES and submitted["document"]["signed_on"] == "2024-11-15"

    # A submitted version is locked.
    locked = await call(reporting, "PATCH", path, COMMUNE, "*", json={"narratives": {"III.1": "sửa"}})
    assert locked.status_code == 409 and locked.json()["code"] == "version_locked"

    # Figures are frozen as submitted: new data does not move them.
    from tests.reporting.support_events import delivery, delivery_event

    late = delivery(COMMUNES_A[0], "nhcsxh_credit", 1_000_000_000, body="nhcsxh", households=5,
                    funding=[("nhcsxh", 1_000_000_000)])
    await reporting.settled(await reporting.publish([delivery_event(late)]), consumer="reporting-support")
    frozen = await ok(await call(reporting, "GET", path, DISTRICT))
    assert value(frozen, "support.nhcsxh_credit.amount_vnd") == 4_000_000_000

    # The district returns it with comments; the commune edits (a new draft version) and resubmits.
    returned = await call(reporting, "POST", f"{path}/return", DISTRICT, "*",
                          json={"comment": "Bổ sung số liệu hộ thoát nghèo"})
    assert (await ok(returned))["state"] == "returned"
    fixed = await call(reporting, "PATCH", path, COMMUNE, returned.headers["etag"],
                       json={"narratives": {"III.2": NARRATIVES["III.2"] + "\n- Đã bổ sung."}})
    fixed_body = await ok(fixed)
    assert fixed_body["state"] == "draft" and fixed_body["version"] == 4 and not fixed_body["frozen"]
    assert value(fixed_body, "support.nhcsxh_credit.amount_vnd") == 5_000_000_000  # live again
    resubmitted = await call(reporting, "POST", f"{path}/submit", COMMUNE, fixed.headers["etag"])
    assert (await ok(resubmitted))["state"] == "submitted"
    accepted = await ok(await call(reporting, "POST", f"{path}/accept", DISTRICT, resubmitted.headers["etag"],
                                   json={"comment": "Đạt"}))
    assert accepted["state"] == "accepted"
    assert [a["action"] for a in accepted["actions"]] == ["submitted", "returned", "submitted", "accepted"]
    assert accepted["actions"][1]["comment"] == "Bổ sung số liệu hộ thoát nghèo"
    assert [v["number"] for v in accepted["versions"]] == [1, 2, 3, 4]
    first_submission = await ok(await call(reporting, "GET", path, COMMUNE, params={"version": 3}))
    assert first_submission["frozen"] and value(first_submission, "support.nhcsxh_credit.amount_vnd") == 4_000_000_000

    # The district's draft sums its children's accepted reports and says who is missing.
    district = await ok(await open_report(reporting, DISTRICT, DISTRICT_A), 201)
    consolidation = district["consolidation"]
    assert consolidation["expected"] == 3 and consolidation["summed"] == 1
    assert consolidation["missing"] == [COMMUNES_A[1], COMMUNES_A[2]]
    poor = district["figures"]["poverty.end.poor"]
    assert poor["consolidated"] == 40 and poor["value"] == 40  # the commune's override flows up
    credit = district["figures"]["support.nhcsxh_credit.amount_vnd"]
    assert credit["consolidated"] == 5_000_000_000 and credit["data"] == 5_000_000_000 + 2_896_000_000
    rice = district["figures"]["support.monthly_rice.amount_vnd"]
    assert rice["consolidated"] == 81_150_000  # recorded at the district itself: its own rows

    # A sister commune that has not reported appears in the consolidation once it submits.
    sister = await ok(await open_report(reporting, SISTER_COMMUNE, COMMUNES_A[1]), 201)
    sister_etag = f'"{sister["row_version"]}"'
    await write_and_submit(reporting, SISTER_COMMUNE, sister["id"], sister_etag)
    again = await ok(await call(reporting, "GET", f"/reporting/reports/{district['id']}", DISTRICT))
    assert again["consolidation"]["not_accepted"] == [COMMUNES_A[1]]
    assert again["consolidation"]["missing"] == [COMMUNES_A[2]]


async def test_a_figure_traces_to_the_rows_it_sums(reporting: Reporting) -> None:
    data, _ = await load_everything(reporting)
    draft = await ok(await open_report(reporting, COMMUNE, COMMUNES_A[0]), 201)
    base = f"/reporting/reports/{draft['id']}/figures"

    poor = await ok(await call(reporting, "GET", f"{base}/poverty.end.poor/trace", COMMUNE, params={"limit": 1000}))
    assert poor["total"] == value(draft, "poverty.end.poor") == len(poor["rows"])
    assert {r["status"] for r in poor["rows"]} == {"poor"} and {r["year"] for r in poor["rows"]} == {2024}
    wanted = {hid for (hid, year), a in data.final.items()
              if year == 2024 and a.status == "poor" and a.unit_path == COMMUNES_A[0] and hid not in data.removed}
    assert {r["household_id"] for r in poor["rows"]} == wanted

    page = await ok(await call(reporting, "GET", f"{base}/poverty.end.households/trace", COMMUNE,
                               params={"limit": 5, "offset": 5}))
    assert page["total"] == value(draft, "poverty.end.households") and len(page["rows"]) == 5 and page["offset"] == 5

    credit = await ok(await call(reporting, "GET", f"{base}/support.nhcsxh_credit.amount_vnd/trace", COMMUNE))
    assert sum(r["amount_vnd"] for r in credit["rows"]) == value(draft, "support.nhcsxh_credit.amount_vnd")
    talks = await ok(await call(reporting, "GET", f"{base}/propaganda.propaganda:broadcast:broadcasts.count/trace",
                                COMMUNE))
    assert [r["count"] for r in talks["rows"]] == [57]

    missing = await call(reporting, "GET", f"{base}/support.nothing.amount_vnd/trace", COMMUNE)
    assert missing.status_code == 404 and missing.json()["code"] == "figure_not_found"
    derived = await call(reporting, "GET", f"{base}/poverty.end.poor_rate/trace", COMMUNE)
    assert derived.status_code == 404

    # An upper level's consolidated figure names the children's reports it sums.
    await write_and_submit(reporting, COMMUNE, draft["id"], f'"{draft["row_version"]}"')
    accepted = await call(reporting, "POST", f"/reporting/reports/{draft['id']}/accept", DISTRICT, "*")
    assert accepted.status_code == 200, accepted.text
    district = await ok(await open_report(reporting, DISTRICT, DISTRICT_A), 201)
    traced = await ok(await call(reporting, "GET",
                                 f"/reporting/reports/{district['id']}/figures/support.nhcsxh_credit.amount_vnd/trace",
                                 DISTRICT))
    assert traced["children"] == [{"path": COMMUNES_A[0], "name": "Phường Ngô Quyền", "report_id": draft["id"],
                                   "version": 2, "value": 4_000_000_000}]
    assert sum(r["amount_vnd"] for r in traced["rows"]) == 4_000_000_000 + 2_896_000_000
