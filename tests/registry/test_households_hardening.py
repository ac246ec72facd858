"""What a probe of the running platform found in households and reviews (issue 16): no unlogged full
read through a no-op PATCH or an idempotent replay, the same text checks as the imports, no NUL byte
reaching the database, no implausible date, and an OpenAPI that documents the problem answers."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from services.registry.main import create_app
from services.registry.settings import RegistrySettings
from tests.kit import PUBLIC_KEY
from tests.registry.households_helpers import (
    HOME,
    HOME_CODE,
    OTHER_COMMUNE,
    as_,
    commune_officer,
    fetch,
    household_body,
    register,
    table_counts,
)


async def access_log(url: str, household_id: str) -> list[tuple[str, str, bool]]:
    rows = await fetch(url, "SELECT principal_id, action, unmasked FROM personal_data_access_log "
                            "WHERE household_id = $1 ORDER BY at, id", uuid.UUID(household_id))
    return [(r["principal_id"], r["action"], r["unmasked"]) for r in rows]


# ---- 1: a write that changes nothing is not an unlogged full read --------------------------------------------
async def test_an_empty_patch_is_refused_and_a_same_value_patch_is_a_logged_read(
        household_client: httpx.AsyncClient, registry_db: str) -> None:
    created = await register(household_client)
    url = f"/registry/households/{created['id']}"
    member = created["members"][1]["id"]
    before = await table_counts(registry_db)
    for path in (url, f"{url}/members/{member}"):
        empty = await household_client.patch(path, json={}, headers=commune_officer() | {"If-Match": "*"})
        assert empty.status_code == 422, empty.text
        assert "citizen_id" not in empty.text and created["members"][0]["citizen_id"] not in empty.text
    assert await table_counts(registry_db) == before

    reader = "officer-same-value"
    same = await household_client.patch(url, json={"village": "Thôn Đông"},
                                        headers=commune_officer(principal_id=reader) | {"If-Match": "*"})
    assert same.status_code == 200 and same.headers["etag"] == '"1"' and same.json()["version"] == 1
    # Nothing written but the read: no history, no event, and the answer's personal data is logged.
    after = await table_counts(registry_db)
    assert after["household_history"] == before["household_history"] and after["outbox"] == before["outbox"]
    assert after["personal_data_access_log"] == before["personal_data_access_log"] + 1
    assert await access_log(registry_db, created["id"]) == [(reader, "read", True)]

    changed = await household_client.patch(url, json={"village": "Thôn Tây"},
                                           headers=commune_officer(principal_id=reader) | {"If-Match": '"1"'})
    assert changed.status_code == 200 and changed.headers["etag"] == '"2"'
    renamed = await household_client.patch(f"{url}/members/{member}", json={"full_name": "Nguyễn Thị Mai"},
                                           headers=commune_officer(principal_id=reader) | {"If-Match": '"2"'})
    assert renamed.status_code == 200
    assert await access_log(registry_db, created["id"]) == [
        (reader, "read", True), (reader, "update", True), (reader, "update", True)]


# ---- 3: an idempotent replay is a read like any other ------------------------------------------------------------
async def test_an_idempotent_replay_is_logged_and_masked_per_the_callers_permission_now(
        household_client: httpx.AsyncClient, registry_db: str) -> None:
    body = household_body()
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    first = await household_client.post("/registry/households", json=body,
                                        headers=as_("commune_officer", HOME, principal_id="p-replay") | key)
    assert first.status_code == 201
    assert first.json()["members"][0]["citizen_id"] == body["members"][0]["citizen_id"]  # the officer may see it
    assert await access_log(registry_db, first.json()["id"]) == []  # the creator sent these data itself

    again = await household_client.post("/registry/households", json=body,
                                        headers=as_("commune_officer", HOME, principal_id="p-replay") | key)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert await access_log(registry_db, first.json()["id"]) == [("p-replay", "replay", True)]

    # The same principal, its role since changed to one without registry.personal_data.read.
    demoted = await household_client.post("/registry/households", json=body,
                                          headers=as_("surveyor", HOME, principal_id="p-replay") | key)
    assert demoted.status_code == 201 and demoted.headers["idempotent-replayed"] == "true"
    head = demoted.json()["members"][0]
    assert head["citizen_id_masked"] is True and head["birth_date"] is None and head["birth_year"] == 1975
    assert head["citizen_id"] != body["members"][0]["citizen_id"] and head["citizen_id"].count("*") == 6
    assert await access_log(registry_db, first.json()["id"]) == [("p-replay", "replay", True),
                                                                 ("p-replay", "replay", False)]
    # The same principal moved to another commune: the stored record is not answered at all.
    moved = await household_client.post("/registry/households", json=body,
                                        headers=as_("commune_officer", OTHER_COMMUNE, principal_id="p-replay") | key)
    assert moved.status_code == 404 and body["members"][0]["full_name"] not in moved.text
    assert len(await access_log(registry_db, first.json()["id"])) == 2

    # A member added with a key: its replay is logged too.
    household = first.json()
    member_key = {"Idempotency-Key": f"m-{uuid.uuid4()}", "If-Match": '"1"'}
    person = {"full_name": "Nguyễn Văn Bé", "citizen_id": "024099000111", "relation": "grandchild"}
    for _ in range(2):
        added = await household_client.post(f"/registry/households/{household['id']}/members", json=person,
                                            headers=as_("commune_officer", HOME, principal_id="p-replay") | member_key)
        assert added.status_code == 201, added.text
    assert (await access_log(registry_db, household["id"]))[-1] == ("p-replay", "replay", True)


# ---- 6: the API refuses what the import refuses ------------------------------------------------------------------
UNSAFE_TEXT = [
    ("name", "=cmd|' /C calc'!A0"),
    ("name", "Nguyễn\u202eVăn"),
    ("name", "Lê\x07Văn"),
    ("village", "Thôn\u202eĐông"),
    ("village", "@SUM(A1)"),
    ("address", "Số 1\x00"),
    ("ethnicity", "+Kinh"),
]


async def test_personal_text_with_formulas_controls_or_direction_marks_is_refused(
        household_client: httpx.AsyncClient, registry_db: str) -> None:
    before = await table_counts(registry_db)
    for place, value in UNSAFE_TEXT:
        body = household_body()
        if place in ("name", "ethnicity"):
            body["members"][0]["full_name" if place == "name" else "ethnicity"] = value
        else:
            body[place] = value
        response = await household_client.post("/registry/households", json=body, headers=commune_officer())
        assert response.status_code == 422, (place, value, response.text)
        assert response.json()["errors"][0]["field"].endswith("full_name" if place == "name" else place)
    assert await table_counts(registry_db) == before


async def test_text_of_changes_meetings_requests_and_reasons_is_checked_too(
        household_client: httpx.AsyncClient, registry_db: str) -> None:
    created = await register(household_client)
    url = f"/registry/households/{created['id']}"
    review = await household_client.post("/registry/reviews", json={"commune_code": HOME_CODE, "year": 2024},
                                         headers=commune_officer())
    assert review.status_code == 201
    before = await table_counts(registry_db)
    attempts = [
        ("PATCH", url, {"json": {"village": "=HYPERLINK(\"x\")"}}, "village"),
        ("PATCH", f"{url}/members/{created['members'][1]['id']}", {"json": {"full_name": "An\u202e"}}, "full_name"),
        ("DELETE", url, {"params": {"reason": "moved\u202eaway"}}, "reason"),
        ("GET", url, {"params": {"purpose": "audit\x1b[2J"}}, "purpose"),
        ("POST", "/registry/regular-reviews",
         {"json": {"household_id": created["id"], "request": "enter", "reason": "xin\x00vào"}}, "reason"),
        ("POST", f"/registry/reviews/{review.json()['id']}/meetings",
         {"json": {"village": "-Thôn", "held_on": "2024-10-01", "attendees": 10, "agreeing": 9}}, "village"),
    ]
    for method, path, kwargs, field in attempts:
        response = await household_client.request(method, path, headers=commune_officer() | {"If-Match": "*"},
                                                   **kwargs)
        assert response.status_code == 422, (path, response.text)
        assert [e["field"] for e in response.json()["errors"]][-1].endswith(field), response.text
    assert await table_counts(registry_db) == before


# ---- 8: NUL bytes never reach PostgreSQL -------------------------------------------------------------------------
NUL_PARAMS = [
    ("/registry/households", "village"), ("/registry/households", "name"), ("/registry/households", "status"),
    ("/registry/reviews", "state"), ("/registry/regular-reviews", "state"), ("/registry/certificates", "unit"),
    ("/registry/audit/access-log", "principal_id"),
]


async def test_a_nul_byte_in_a_query_parameter_is_a_validation_error_naming_it(
        household_client: httpx.AsyncClient) -> None:
    for path, param in NUL_PARAMS:
        response = await household_client.get(path, params={param: "a\x00b"}, headers=as_("province_officer", HOME))
        assert response.status_code == 422, (path, response.text)
        assert [e["field"] for e in response.json()["errors"]] == [param]
        assert "PostgreSQL" not in response.text and "0x00" not in response.text


async def test_an_unknown_review_state_is_refused_rather_than_matching_nothing(
        household_client: httpx.AsyncClient) -> None:
    assert (await household_client.get("/registry/reviews", params={"state": "posted"},
                                       headers=commune_officer())).status_code == 200
    unknown = await household_client.get("/registry/reviews", params={"state": "bogus"}, headers=commune_officer())
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "state"


# ---- 10: implausible dates ---------------------------------------------------------------------------------------
async def test_dates_before_2000_or_in_the_future_are_refused(household_client: httpx.AsyncClient,
                                                               registry_db: str) -> None:
    created = await register(household_client)
    review = (await household_client.post("/registry/reviews", json={"commune_code": HOME_CODE, "year": 2024},
                                          headers=commune_officer())).json()
    steps = f"/registry/reviews/{review['id']}"
    before = await table_counts(registry_db)
    attempts: list[tuple[str, dict[str, Any], str]] = [
        ("/registry/regular-reviews", {"household_id": created["id"], "request": "enter",
                                       "requested_on": "0001-01-01"}, "requested_on"),
        ("/registry/regular-reviews", {"household_id": created["id"], "request": "enter",
                                       "requested_on": "1999-12-31"}, "requested_on"),
        (f"{steps}/meetings", {"village": "Thôn Đông", "held_on": "0001-01-01", "attendees": 10, "agreeing": 9},
         "held_on"),
        (f"{steps}/meetings", {"village": "Thôn Đông", "held_on": "2999-01-01", "attendees": 10, "agreeing": 9},
         "held_on"),
        (f"{steps}/posting", {"posted_from": "0001-01-01", "posted_to": "2024-10-10"}, "posted_from"),
        (f"{steps}/posting", {"posted_from": "2024-10-01", "posted_to": "9999-12-31"}, "posted_to"),
        (f"{steps}/decision", {"decision_number": "1/QĐ-UBND", "decision_date": "0001-01-01"}, "decision_date"),
        (f"{steps}/decision", {"decision_number": "1/QĐ-UBND", "decision_date": "2999-01-01"}, "decision_date"),
    ]
    for path, body, field in attempts:
        response = await household_client.post(path, json=body, headers=commune_officer())
        assert response.status_code == 422, (body, response.text)
        assert [e["field"] for e in response.json()["errors"]] == [field], response.text
    assert await table_counts(registry_db) == before
    fine = await household_client.post("/registry/regular-reviews", headers=commune_officer(), json={
        "household_id": created["id"], "request": "enter", "requested_on": "2000-01-01"})
    assert fine.status_code == 201, fine.text


# ---- 11: the OpenAPI tells the truth -----------------------------------------------------------------------------
def test_the_openapi_documents_each_routes_problem_answers_and_its_rules() -> None:
    document = create_app(RegistrySettings(principal_public_key=PUBLIC_KEY)).openapi()
    paths = document["paths"]
    expected = {
        ("post", "/registry/households"): {"400", "404", "409", "422"},
        ("patch", "/registry/households/{household_id}"): {"404", "409", "412", "428"},
        ("delete", "/registry/households/{household_id}/members/{member_id}"): {"404", "409", "412", "428"},
        ("post", "/registry/households/{household_id}/assessments"): {"400", "404", "409"},
        ("post", "/registry/reviews/{review_id}/approve"): {"404", "409", "412"},
        ("post", "/registry/regular-reviews/{request_id}/decision"): {"404", "409"},
        ("get", "/registry/certificates"): {"404"},
    }
    for (method, path), statuses in expected.items():
        responses = paths[path][method]["responses"]
        assert statuses <= set(responses), (method, path, sorted(responses))
        for status in statuses:
            assert "application/problem+json" in responses[status]["content"], (method, path, status)
    every_route = [(path, method, op) for path, item in paths.items() if path.startswith("/registry/")
                   and ("households" in path or "reviews" in path or "certificates" in path or "audit" in path)
                   for method, op in item.items()]
    assert len(every_route) >= 25
    for path, method, operation in every_route:
        declared = {s for s in operation["responses"] if s.startswith(("4", "5"))}
        assert {"401", "403", "422", "500", "503"} <= declared, (method, path)
        if "{" in path or method != "get":
            assert "404" in declared, (method, path)
    schemas = document["components"]["schemas"]
    assert schemas["HouseholdPatch"]["minProperties"] == 1 and schemas["MemberPatch"]["minProperties"] == 1
    assert "agreeing ≤ attendees" in schemas["MeetingIn"]["description"]
    assert "2000-01-01" in schemas["MeetingIn"]["properties"]["held_on"]["description"]
    assert "1900-01-01" in str(schemas["MemberIn"]["properties"]["birth_date"])
    states = next(p for p in paths["/registry/reviews"]["get"]["parameters"] if p["name"] == "state")
    assert "approved" in str(states["schema"])
