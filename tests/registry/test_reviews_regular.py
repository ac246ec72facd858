"""The monthly regular review: a household's request, the 15-day deadline, the overdue list, and the
decision that recognises the household and numbers its certificate after the annual ones."""

from __future__ import annotations

import httpx

from tests.registry.households_helpers import (
    HOME_CODE,
    as_,
    commune_officer,
    events,
    foreigners,
    register,
    table_counts,
)
from tests.registry.test_reviews import POOR, run_review

OFFICER = commune_officer(principal_id="officer-quynh-son")


async def request(client: httpx.AsyncClient, household: dict, requested_on: str, kind: str = "enter") -> dict:
    response = await client.post("/registry/regular-reviews", headers=OFFICER, json={
        "household_id": household["id"], "request": kind, "requested_on": requested_on,
        "reason": "chồng mất sức lao động"})
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_request_is_due_in_15_days_and_listed_overdue_after(household_client: httpx.AsyncClient) -> None:
    late = await request(household_client, await register(household_client), "2024-03-01")
    timely = await request(household_client, await register(household_client), "2024-03-10")
    assert late["deadline"] == "2024-03-16" and late["state"] == "pending"

    async def overdue(as_of: str) -> list[str]:
        response = await household_client.get("/registry/regular-reviews/overdue", params={"as_of": as_of},
                                              headers=OFFICER)
        return [r["id"] for r in response.json()["items"]]

    assert await overdue("2024-03-16") == []
    assert await overdue("2024-03-17") == [late["id"]]
    assert await overdue("2024-03-26") == [late["id"], timely["id"]]
    listed = await household_client.get("/registry/regular-reviews", params={"state": "pending", "as_of": "2024-03-20"},
                                        headers=OFFICER)
    assert [(r["id"], r["overdue"]) for r in listed.json()["items"]] == [(late["id"], True), (timely["id"], False)]


async def test_one_pending_request_per_household(household_client: httpx.AsyncClient, registry_db: str) -> None:
    household = await register(household_client)
    await request(household_client, household, "2024-03-01")
    before = await table_counts(registry_db)
    again = await household_client.post("/registry/regular-reviews", headers=OFFICER, json={
        "household_id": household["id"], "request": "enter", "requested_on": "2024-03-02"})
    assert again.status_code == 409 and again.json()["code"] == "request_pending"
    future = await household_client.post("/registry/regular-reviews", headers=OFFICER, json={
        "household_id": household["id"], "request": "enter", "requested_on": "2999-01-01"})
    assert future.status_code in (409, 422)
    assert await table_counts(registry_db) == before


async def test_the_decision_recognises_the_household_and_continues_the_certificate_numbers(
        household_client: httpx.AsyncClient, registry_db: str) -> None:
    annual = await register(household_client, code="A-1")
    await run_review(household_client, 2023, [(annual, POOR)])
    household = await register(household_client, code="R-1")
    item = await request(household_client, household, "2023-12-20")
    decided = await household_client.post(f"/registry/regular-reviews/{item['id']}/decision", headers=OFFICER, json={
        "decision_number": "45/QĐ-UBND", "decided_on": "2023-12-28", "income_per_capita": 1_100_000,
        "deprived_indicators": ["employment", "dependants", "housing_quality", "latrine"]})
    assert decided.status_code == 200, decided.text
    out = decided.json()
    assert out["state"] == "decided" and out["outcome_status"] == "poor" and not out["overdue"]
    assert out["certificate_number"] == "GCN-2023-07702-00002"  # after the annual review's 00001
    record = (await household_client.get(f"/registry/households/{household['id']}", headers=OFFICER)).json()
    assert record["status"] == "poor" and record["status_year"] == 2023 and record["version"] == 2
    assessments = (await household_client.get(f"/registry/households/{household['id']}/assessments",
                                              headers=OFFICER)).json()["items"]
    assert [(a["kind"], a["state"], a["transition"]) for a in assessments] == [("regular", "recognised", "newly_poor")]
    assessed = [e for e in await events(registry_db, "registry.household.assessed")
                if e["subject_id"] == household["id"]]
    assert len(assessed) == 1 and assessed[0]["payload"]["transition"] == "newly_poor"
    assert assessed[0]["payload"]["commune_code"] == HOME_CODE and assessed[0]["version"] == 2
    twice = await household_client.post(f"/registry/regular-reviews/{item['id']}/decision", headers=OFFICER, json={
        "decision_number": "46/QĐ-UBND", "decided_on": "2023-12-29", "income_per_capita": 1, "deprived_indicators": []})
    assert twice.status_code == 409


async def test_an_exit_decision_without_recognition_issues_no_certificate(household_client: httpx.AsyncClient) -> None:
    household = await register(household_client)
    await run_review(household_client, 2023, [(household, POOR)])
    item = await request(household_client, household, "2024-04-01", kind="exit")
    decided = await household_client.post(f"/registry/regular-reviews/{item['id']}/decision", headers=OFFICER, json={
        "decision_number": "7/QĐ-UBND", "decided_on": "2024-04-10", "income_per_capita": 3_000_000,
        "deprived_indicators": []})
    assert decided.json()["outcome_status"] == "not_poor" and decided.json()["certificate_number"] is None
    record = (await household_client.get(f"/registry/households/{household['id']}", headers=OFFICER)).json()
    assert record["status"] == "not_poor"


async def test_bad_decisions_change_nothing(household_client: httpx.AsyncClient, registry_db: str) -> None:
    item = await request(household_client, await register(household_client), "2024-03-01")
    before = await table_counts(registry_db)
    url = f"/registry/regular-reviews/{item['id']}/decision"
    base = {"decision_number": "1/QĐ", "decided_on": "2024-03-05", "income_per_capita": 1, "deprived_indicators": []}
    before_request = await household_client.post(url, headers=OFFICER, json=base | {"decided_on": "2024-02-01"})
    assert before_request.status_code == 422
    unknown = await household_client.post(url, headers=OFFICER, json=base | {"deprived_indicators": ["wifi"]})
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_indicator"
    surveyor = await household_client.post(url, headers=as_("surveyor", "v2008.24.213.07702"), json=base)
    assert surveyor.status_code == 403
    assert await table_counts(registry_db) == before


async def test_foreign_officers_can_neither_see_nor_decide_a_request(household_client: httpx.AsyncClient,
                                                                     registry_db: str) -> None:
    household = await register(household_client)
    item = await request(household_client, household, "2024-03-01")
    before = await table_counts(registry_db)
    for who, headers in foreigners():
        seen = await household_client.get(f"/registry/regular-reviews/{item['id']}", headers=headers)
        assert seen.status_code == 404, who
        decided = await household_client.post(f"/registry/regular-reviews/{item['id']}/decision", headers=headers,
                                              json={"decision_number": "X", "decided_on": "2024-03-05",
                                                    "income_per_capita": 1, "deprived_indicators": []})
        assert decided.status_code == 404, who
        created = await household_client.post("/registry/regular-reviews", headers=headers, json={
            "household_id": household["id"], "request": "exit", "requested_on": "2024-03-02"})
        assert created.status_code == 404, who
        for path in ("/registry/regular-reviews", "/registry/regular-reviews/overdue"):
            listed = await household_client.get(path, params={"as_of": "2025-01-01"}, headers=headers)
            assert listed.status_code == 200 and listed.json()["total"] == 0, (who, path)
    assert await table_counts(registry_db) == before
