"""The annual review: opened → assessments recorded → village meetings → public posting → the chairman's
decision → approved and locked, with transitions, counts, certificates and events on approval."""

from __future__ import annotations

from typing import Any

import httpx

from tests.registry.households_helpers import (
    HOME,
    HOME_CODE,
    as_,
    commune_officer,
    events,
    register,
    table_counts,
)

OFFICER = commune_officer(principal_id="officer-quynh-son")
# Decree 07/2021, rural: poverty line 1,500,000; middle-income line 2,250,000; poor needs ≥ 3 deprivations.
POOR = {"income_per_capita": 1_200_000, "deprived_indicators": ["employment", "nutrition", "latrine"]}
NEAR_POOR = {"income_per_capita": 1_400_000, "deprived_indicators": ["latrine"]}
MIDDLE = {"income_per_capita": 2_000_000, "deprived_indicators": []}
NOT_POOR = {"income_per_capita": 4_000_000, "deprived_indicators": []}


async def assess(client: httpx.AsyncClient, household: dict[str, Any], year: int, data: dict[str, Any]) -> None:
    response = await client.post(f"/registry/households/{household['id']}/assessments",
                                 json={"review_year": year, **data}, headers=OFFICER)
    assert response.status_code in (200, 201), response.text


async def step(client: httpx.AsyncClient, review: dict[str, Any], name: str, body: dict[str, Any] | None = None,
               expect: int = 200) -> dict[str, Any]:
    response = await client.post(f"/registry/reviews/{review['id']}/{name}", json=body, headers=OFFICER)
    assert response.status_code == expect, response.text
    return response.json()


async def open_review(client: httpx.AsyncClient, year: int) -> dict[str, Any]:
    response = await client.post("/registry/reviews", json={"commune_code": HOME_CODE, "year": year}, headers=OFFICER)
    assert response.status_code == 201, response.text
    return response.json()


async def run_review(client: httpx.AsyncClient, year: int, assessments: list[tuple[dict[str, Any], dict[str, Any]]]
                     ) -> dict[str, Any]:
    review = await open_review(client, year)
    for household, data in assessments:
        await assess(client, household, year, data)
    await step(client, review, "assessments-recorded")
    await step(client, review, "meetings", {"village": "Thôn Đông", "held_on": f"{year}-10-05", "attendees": 40,
                                            "agreeing": 31, "minutes_ref": "BB-01"}, expect=201)
    await step(client, review, "posting", {"posted_from": f"{year}-10-10", "posted_to": f"{year}-10-17",
                                           "places": "nhà văn hoá thôn, UBND xã"})
    await step(client, review, "decision", {"decision_number": f"{year}/QĐ-UBND", "decision_date": f"{year}-11-20",
                                            "signer": "Chủ tịch UBND xã"})
    return await step(client, review, "approve")


async def test_three_years_of_reviews_give_transitions_counts_certificates_and_events(
        household_client: httpx.AsyncClient, registry_db: str) -> None:
    h1, h2, h3, h4 = [await register(household_client, code=f"H{i}") for i in range(1, 5)]
    first = await run_review(household_client, 2022, [(h1, POOR), (h2, NOT_POOR), (h3, NEAR_POOR)])
    assert first["state"] == "approved" and first["version"] == 6
    assert first["transitions"]["newly_poor"] == 1 and first["transitions"]["became_near_poor"] == 1

    second = await run_review(household_client, 2023, [(h1, NEAR_POOR), (h3, MIDDLE), (h4, POOR)])
    assert second["counts"] == {"poor": 1, "near_poor": 1, "middle_income": 1, "not_poor": 1}
    assert second["members"] == {"poor": 3, "near_poor": 3, "middle_income": 3, "not_poor": 3}
    assert second["transitions"] == {"newly_poor": 1, "re_poor": 0, "escaped_poverty": 1, "escaped_near_poverty": 1,
                                     "became_near_poor": 0, "stayed": 0}
    rows = (await household_client.get(f"/registry/reviews/{second['id']}/households", headers=OFFICER)).json()
    by_code = {r["household_code"]: r for r in rows["items"]}
    assert by_code["H1"]["transition"] == "escaped_poverty" and by_code["H1"]["previous_status"] == "poor"
    assert by_code["H3"]["transition"] == "escaped_near_poverty" and by_code["H3"]["certificate_number"] is None
    assert by_code["H4"]["transition"] == "newly_poor"
    assert by_code["H1"]["certificate_number"] == "GCN-2023-07702-00001"
    assert by_code["H4"]["certificate_number"] == "GCN-2023-07702-00002"

    third = await run_review(household_client, 2024, [(h1, POOR), (h4, POOR)])
    assert third["transitions"]["re_poor"] == 1 and third["transitions"]["stayed"] == 1
    record = (await household_client.get(f"/registry/households/{h1['id']}", headers=OFFICER)).json()
    assert record["status"] == "poor" and record["status_year"] == 2024 and record["version"] == 4

    assessed = await events(registry_db, "registry.household.assessed")
    h1_events = [e for e in assessed if e["subject_id"] == h1["id"]]
    assert [(e["version"], e["payload"]["status"], e["payload"]["previous_status"], e["payload"]["transition"])
            for e in h1_events] == [(2, "poor", None, "newly_poor"), (3, "near_poor", "poor", "escaped_poverty"),
                                    (4, "poor", "near_poor", "re_poor")]
    payload = h1_events[0]["payload"]
    assert payload["review_year"] == 2022 and payload["commune_code"] == HOME_CODE and payload["area"] == "rural"
    assert payload["member_count"] == 3 and payload["standard"] == "decree-07-2021"
    assert payload["deprived_indicators"] == ["employment", "nutrition", "latrine"]  # as classified (POOR)
    assert h1_events[0]["unit_path"] == HOME
    approved = await events(registry_db, "registry.review.approved")
    assert [e["payload"]["year"] for e in approved] == [2022, 2023, 2024]
    assert approved[1]["payload"]["counts"] == second["counts"] and approved[1]["subject_id"] == second["id"]
    certificates = (await household_client.get("/registry/certificates", params={"year": 2024},
                                               headers=OFFICER)).json()
    assert [c["number"] for c in certificates["items"]] == ["GCN-2024-07702-00001", "GCN-2024-07702-00002"]


async def test_an_approved_review_is_locked(household_client: httpx.AsyncClient, registry_db: str) -> None:
    household = await register(household_client)
    review = await run_review(household_client, 2024, [(household, POOR)])
    before = await table_counts(registry_db)
    again = await household_client.post(f"/registry/reviews/{review['id']}/approve", headers=OFFICER)
    assert again.status_code == 409 and again.json()["code"] == "review_state"
    late = await household_client.post(f"/registry/households/{household['id']}/assessments",
                                       json={"review_year": 2024, **NOT_POOR}, headers=OFFICER)
    assert late.status_code == 409 and late.json()["code"] == "review_locked"
    meeting = await household_client.post(f"/registry/reviews/{review['id']}/meetings", headers=OFFICER, json={
        "village": "Thôn Đông", "held_on": "2024-12-01", "attendees": 10, "agreeing": 10})
    assert meeting.status_code == 409
    assert await table_counts(registry_db) == before


async def test_steps_run_in_order_and_each_checks_its_facts(household_client: httpx.AsyncClient,
                                                            registry_db: str) -> None:
    poor = await register(household_client)
    await run_review(household_client, 2023, [(poor, POOR)])
    review = await open_review(household_client, 2024)
    duplicate = await household_client.post("/registry/reviews", json={"commune_code": HOME_CODE, "year": 2024},
                                            headers=OFFICER)
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "review_exists"
    no_standard = await household_client.post("/registry/reviews", json={"commune_code": HOME_CODE, "year": 2015},
                                              headers=OFFICER)
    assert no_standard.status_code == 422
    early = await household_client.post(f"/registry/reviews/{review['id']}/posting", headers=OFFICER,
                                        json={"posted_from": "2024-10-10", "posted_to": "2024-10-17"})
    assert early.status_code == 409 and early.json()["allowed"] == ["meetings_held"]
    # A household poor last year must be re-assessed before the assessment step closes.
    missing = await household_client.post(f"/registry/reviews/{review['id']}/assessments-recorded", headers=OFFICER)
    assert missing.status_code == 409 and missing.json()["household_ids"] == [poor["id"]]
    await assess(household_client, poor, 2024, NEAR_POOR)
    await step(household_client, review, "assessments-recorded")
    frozen = await household_client.post(f"/registry/households/{poor['id']}/assessments",
                                         json={"review_year": 2024, **POOR}, headers=OFFICER)
    assert frozen.status_code == 409 and frozen.json()["code"] == "review_step_passed"

    before = await table_counts(registry_db)
    split = await household_client.post(f"/registry/reviews/{review['id']}/meetings", headers=OFFICER, json={
        "village": "Thôn Đông", "held_on": "2024-10-05", "attendees": 41, "agreeing": 20})
    assert split.status_code == 409 and split.json()["code"] == "insufficient_agreement"
    impossible = await household_client.post(f"/registry/reviews/{review['id']}/meetings", headers=OFFICER, json={
        "village": "Thôn Đông", "held_on": "2024-10-05", "attendees": 10, "agreeing": 11})
    assert impossible.status_code == 422
    assert await table_counts(registry_db) == before
    half = await step(household_client, review, "meetings", {"village": "Thôn Đông", "held_on": "2024-10-05",
                                                             "attendees": 40, "agreeing": 20}, expect=201)
    assert half["state"] == "meetings_held" and len(half["meetings"]) == 1
    await step(household_client, review, "meetings", {"village": "Thôn Tây", "held_on": "2024-10-06",
                                                      "attendees": 30, "agreeing": 29}, expect=201)
    posted = await step(household_client, review, "posting", {"posted_from": "2024-10-10", "posted_to": "2024-10-17"})
    assert posted["state"] == "posted"
    too_soon = await household_client.post(f"/registry/reviews/{review['id']}/decision", headers=OFFICER,
                                           json={"decision_number": "1/QĐ", "decision_date": "2024-10-15"})
    assert too_soon.status_code == 422 and too_soon.json()["field"] == "decision_date"
    not_approver = await household_client.post(f"/registry/reviews/{review['id']}/decision",
                                               headers=as_("surveyor", HOME),
                                               json={"decision_number": "1/QĐ", "decision_date": "2024-11-15"})
    assert not_approver.status_code == 403
    decided = await step(household_client, review, "decision", {"decision_number": "1/QĐ-UBND",
                                                                "decision_date": "2024-11-15"})
    assert decided["state"] == "decided" and decided["decision_number"] == "1/QĐ-UBND"
    stale = await household_client.post(f"/registry/reviews/{review['id']}/approve",
                                        headers=OFFICER | {"If-Match": '"1"'})
    assert stale.status_code == 412
    approved = await step(household_client, review, "approve")
    assert approved["transitions"]["escaped_poverty"] == 1 and approved["counts"]["near_poor"] == 1


async def test_reviews_list_and_detail(household_client: httpx.AsyncClient) -> None:
    review = await open_review(household_client, 2024)
    listed = await household_client.get("/registry/reviews", params={"year": 2024, "unit": HOME_CODE},
                                        headers=as_("district_officer", "v2008.24.213"))
    assert [r["id"] for r in listed.json()["items"]] == [review["id"]]
    detail = await household_client.get(f"/registry/reviews/{review['id']}", headers=OFFICER)
    assert detail.headers["etag"] == '"1"' and detail.json()["state"] == "opened" and detail.json()["assessed"] == 0


async def test_foreign_officers_can_neither_see_nor_move_a_review(household_client: httpx.AsyncClient,
                                                                  registry_db: str) -> None:
    from tests.registry.households_helpers import foreigners

    household = await register(household_client)
    done = await run_review(household_client, 2023, [(household, POOR)])
    review = await open_review(household_client, 2024)
    before = await table_counts(registry_db)
    for who, headers in foreigners():
        for method, path, body in [
            ("GET", f"/registry/reviews/{review['id']}", None),
            ("GET", f"/registry/reviews/{done['id']}/households", None),
            ("POST", f"/registry/reviews/{review['id']}/assessments-recorded", None),
            ("POST", f"/registry/reviews/{review['id']}/meetings",
             {"village": "X", "held_on": "2024-10-01", "attendees": 2, "agreeing": 2}),
            ("POST", f"/registry/reviews/{review['id']}/posting", {"posted_from": "2024-10-01",
                                                                   "posted_to": "2024-10-02"}),
            ("POST", f"/registry/reviews/{review['id']}/decision", {"decision_number": "X",
                                                                    "decision_date": "2024-11-01"}),
            ("POST", f"/registry/reviews/{review['id']}/approve", None),
        ]:
            response = await household_client.request(method, path, json=body, headers=headers)
            assert response.status_code == 404, (who, method, path, response.text)
        assert (await household_client.get("/registry/reviews", headers=headers)).json()["total"] == 0, who
        assert (await household_client.get("/registry/certificates", headers=headers)).json()["total"] == 0, who
        opened = await household_client.post("/registry/reviews", json={"commune_code": HOME_CODE, "year": 2025},
                                             headers=headers)
        assert opened.status_code == 403, who
    assert await table_counts(registry_db) == before
