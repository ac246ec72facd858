"""Opening a report is a create: it takes an `Idempotency-Key` (shared/idempotency.py), so a retry on a
flaky network gets the first 201 instead of 409 `report_exists`; a malformed key is a 400 that creates
nothing, and the OpenAPI document says both."""

from __future__ import annotations

from tests.reporting.conftest import Reporting
from tests.reporting.registry_events import COMMUNES_A
from tests.reporting.report_kit import COMMUNE, call, load_everything

OPEN = {"unit": COMMUNES_A[0], "type": "annual", "period": "2024"}


async def test_a_retried_open_with_its_key_gets_the_first_answer(reporting: Reporting) -> None:
    await load_everything(reporting, households=50)
    bad = await call(reporting, "POST", "/reporting/reports", COMMUNE, json=OPEN,
                     headers={"Idempotency-Key": "x" * 300})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_idempotency_key"
    listed = await call(reporting, "GET", "/reporting/reports", COMMUNE)
    assert listed.json()["total"] == 0  # the refused request created nothing

    key = {"Idempotency-Key": "open-annual-2024-07207"}
    first = await call(reporting, "POST", "/reporting/reports", COMMUNE, json=OPEN, headers=key)
    assert first.status_code == 201, first.text
    again = await call(reporting, "POST", "/reporting/reports", COMMUNE, json=OPEN, headers=key)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert (again.headers["location"], again.headers["etag"]) == (first.headers["location"], first.headers["etag"])
    other = await call(reporting, "POST", "/reporting/reports", COMMUNE, json={**OPEN, "period": "2023"}, headers=key)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    without = await call(reporting, "POST", "/reporting/reports", COMMUNE, json=OPEN)
    assert without.status_code == 409 and without.json()["report_id"] == first.json()["id"]
    assert (await call(reporting, "GET", "/reporting/reports", COMMUNE)).json()["total"] == 1


async def test_the_openapi_document_lists_the_key_and_its_400(reporting: Reporting) -> None:
    paths = (await reporting.client.get("/openapi.json")).json()["paths"]
    opening = paths["/reporting/reports"]["post"]
    assert ("header", "Idempotency-Key") in [(p["in"], p["name"]) for p in opening["parameters"]]
    assert "400" in opening["responses"] and "Idempotency-Key" in opening["responses"]["400"]["description"]
    # Submitting, accepting and returning take If-Match (a repeat is a 409 or a 412), not a key.
    for action in ("submit", "accept", "return"):
        operation = paths[f"/reporting/reports/{{report_id}}/{action}"]["post"]
        assert "Idempotency-Key" not in [p["name"] for p in operation["parameters"]]
        assert "412" in operation["responses"]
