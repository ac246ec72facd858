"""End to end through the gateway, with the real services behind it.

- Every route a service exposes declares its gateway rule (`require(...)`, published as `x-gateway`),
  the gateway's table holds exactly those rules, and every parameter that names a unit is one the
  declaration makes the gateway check (a new route or parameter fails here until it is declared).
- The scope-escape matrix: for every route naming a unit, every role, and units of another
  commune, another district and another province: every attempt is refused and nothing changes.
- Rows reached by id: officers of other communes, districts and provinces get nothing and change
  nothing; the owner's own officers still can.
- A service called directly, without the gateway's principal, answers 401.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from devstack.sample_households import import_file
from gateway.proxy.rules import UNIT_FIELDS, Rule
from services.support.imports.rules import COLUMNS as SUPPORT_IMPORT_COLUMNS
from shared import clock
from shared.route_rules import EXTENSION
from shared.scope import path_within
from tests.gateway.platform import Platform, settled_fingerprints, start_platform
from tests.kit import Stack, auth_headers, eventually, make_principal

# Who tries, with their scope path.
PRINCIPALS = {
    "commune.07207": "v2008.24.213.07207", "commune.07222": "v2008.24.213.07222",
    "surveyor.07207": "v2008.24.213.07207", "viewer.07207": "v2008.24.213.07207",
    "district.213": "v2008.24.213", "province.24": "v2008.24", "emulation.24": "v2008.24",
    "system.demo": "v2008.24", "commune.07243": "v2008.24.215.07243", "district.215": "v2008.24.215",
    "province.25": "v2008.25", "admin.25": "v2008.25",
}
# What they try to name: another commune of the district, a commune and a district elsewhere in the
# province, another province and a commune in it (all before-reform units).
TARGETS = {
    "07207": "v2008.24.213.07207", "07222": "v2008.24.213.07222", "07243": "v2008.24.215.07243",
    "215": "v2008.24.215", "213": "v2008.24.213", "24": "v2008.24", "25": "v2008.25",
    "07888": "v2008.25.227.07888",
}
NON_UNIT_CODES = frozenset({"household_code"})
ID_PARAMS = ("household_id", "member_id", "assessment_id", "review_id", "request_id", "job_id", "delivery_id",
             "fund_id", "entry_id", "sponsorship_id", "activity_id")


@pytest.fixture(scope="module")
async def platform(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    async for running in start_platform(stack, tmp_path_factory.mktemp("platform")):
        yield running


# ---- reading the services' own OpenAPI --------------------------------------------------------
async def _operations(platform: Platform) -> list[tuple[str, str, str, dict[str, Any], dict[str, Any]]]:
    found = []
    async with httpx.AsyncClient() as client:
        for service, url in platform.upstreams.items():
            spec = (await client.get(f"{url}/openapi.json")).json()
            for path, operations in spec["paths"].items():
                if not path.startswith(f"/{service}/"):
                    continue  # /health, /ready, /metrics: not behind the gateway
                for method, operation in operations.items():
                    found.append((service, method.upper(), path, operation, spec))
    return found


def _schema_properties(schema: dict[str, Any], spec: dict[str, Any], depth: int = 0) -> set[str]:
    if depth > 4:
        return set()
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    names: set[str] = set()
    for name, prop in schema.get("properties", {}).items():
        names.add(name)
        for sub in [prop, prop.get("items", {}), *prop.get("anyOf", []),
                    *(p.get("items", {}) for p in prop.get("anyOf", []))]:
            if "$ref" in sub or "properties" in sub:
                names |= _schema_properties(sub, spec, depth + 1)
    return names


def _params(operation: dict[str, Any], spec: dict[str, Any]) -> tuple[set[str], set[str], set[str], bool]:
    path = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
    query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
    content = operation.get("requestBody", {}).get("content", {})
    body: set[str] = set()
    for item in content.values():
        body |= _schema_properties(item.get("schema", {}), spec)
    return path, query, body, "application/json" in content


def _looks_like_unit(name: str) -> bool:
    return (name in UNIT_FIELDS or name in ("code", "parent")
            or (name.endswith(("_code", "_codes")) and name not in NON_UNIT_CODES))


def _rule(platform: Platform, method: str, path: str) -> Rule | None:
    """The gateway's rule for exactly this operation, from the table it built."""
    table = platform.front.app.state.documents.table(path.split("/")[1])
    return table.rule(method, path) if table is not None else None


def _rules(platform: Platform) -> list[Rule]:
    documents = platform.front.app.state.documents
    return [rule for service in platform.upstreams for rule in documents.table(service).rules]


async def test_every_service_route_declares_a_gateway_rule_that_sees_its_units(platform: Platform) -> None:
    operations = await _operations(platform)
    assert len(operations) > 40  # the registry's and reporting's routes are there
    problems = []
    for _, method, path, operation, spec in operations:
        declared = operation.get(EXTENSION)
        if declared is None:
            problems.append(f"{method} {path}: no require(...) on the route (the gateway refuses it)")
            continue
        rule = _rule(platform, method, path)
        if rule is None or (rule.permission, list(rule.unit_params), list(rule.query_units)) != (
                declared["permission"], declared["unit_params"], declared["query_units"]):
            problems.append(f"{method} {path}: the gateway's rule {rule} is not the declared {declared}")
            continue
        path_params, query, body, _ = _params(operation, spec)
        assert set(declared["unit_params"]) | set(declared["id_params"]) == path_params, (method, path)
        unchecked = {q for q in query if _looks_like_unit(q)} - UNIT_FIELDS - set(declared["query_units"])
        unchecked |= {b for b in body if _looks_like_unit(b)} - UNIT_FIELDS
        unchecked |= {p for p in path_params if _looks_like_unit(p)} - set(declared["unit_params"])
        if unchecked:
            problems.append(f"{method} {path}: unit-like parameters the gateway does not check: {sorted(unchecked)}")
    published = {(m, p) for _, m, p, _, _ in operations}
    unknown = [f"{r.method} {r.template}" for r in _rules(platform) if (r.method, r.template) not in published]
    assert not problems, "\n".join(problems)
    assert not unknown, f"rules for routes no service has: {unknown}"


# ---- the scope-escape matrix ---------------------------------------------------------------------
def _foreign(principal: str, target: str, ancestors_ok: bool) -> bool:
    scope, path = PRINCIPALS[principal], TARGETS[target]
    if path_within(path, scope):
        return False
    return not (ancestors_ok and path_within(scope, path))


def _request(method: str, path: str, rule: Rule, path_params: set[str], place: tuple[str, str],
             target: str) -> dict[str, Any]:
    kind, name = place
    url = path
    for param in path_params:
        url = url.replace("{" + param + "}", target if (kind, name) == ("path", param) else str(uuid.uuid4()))
    request: dict[str, Any] = {"method": method, "url": url, "headers": {"If-Match": "*"}}
    if kind == "query":
        request["params"] = {name: target}
    if kind == "body":
        request["json"] = {name: target}
    elif method in ("POST", "PATCH", "PUT"):
        request["json"] = {}
    return request


async def test_no_role_can_name_a_unit_outside_its_scope_on_any_route(platform: Platform) -> None:
    before = await settled_fingerprints(platform.databases)
    attempts = 0
    refused_for_scope: dict[str, int] = {}
    for _, method, path, operation, spec in await _operations(platform):
        rule = _rule(platform, method, path)
        assert rule is not None
        path_params, query, body, json_body = _params(operation, spec)
        places = [("path", p) for p in rule.unit_params]
        places += [("query", q) for q in sorted(query) if q in UNIT_FIELDS or q in rule.query_units]
        places += [("body", b) for b in sorted(body) if b in UNIT_FIELDS and json_body]
        for place in places:
            key = f"{method} {path} {place[0]}:{place[1]}"
            refused_for_scope[key] = 0
            for principal in PRINCIPALS:
                for target in TARGETS:
                    if not _foreign(principal, target, rule.ancestors_ok):
                        continue
                    request = _request(method, path, rule, path_params, place, target)
                    request["headers"] |= platform.bearer(principal)
                    response = await platform.client.request(**request)
                    attempts += 1
                    assert response.status_code == 403, (principal, target, request, response.text)
                    if response.json()["code"] == "unit_out_of_scope":
                        refused_for_scope[key] += 1
    assert attempts > 500
    # Every route naming a unit was refused for the unit itself by someone holding its permission
    # (not only by missing permissions).
    assert refused_for_scope and all(refused_for_scope.values()), refused_for_scope
    assert await settled_fingerprints(platform.databases) == before


# ---- rows reached by id ------------------------------------------------------------------------------
async def _owned_rows(platform: Platform) -> dict[str, str]:
    """A household (with a member and an assessment), an annual review, a regular-review request and an
    annual report of Ngô Quyền ward, made by its own officer through the gateway."""
    owner = platform.bearer("commune.07207")
    client = platform.client
    household = await client.post("/registry/households", headers=owner, json={
        "household_code": f"NQ-{uuid.uuid4().hex[:6]}", "commune_code": "07207", "village": "Tổ 3",
        "members": [{"full_name": "Nguyễn Văn An", "citizen_id": "024088001234", "relation": "head",
                     "sex": "male", "birth_date": "1975-04-02"},
                    {"full_name": "Trần Thị Bình", "relation": "spouse", "sex": "female"}]})
    assert household.status_code == 201, household.text
    ids = {"household_id": household.json()["id"], "member_id": household.json()["members"][1]["id"]}
    assessment = await client.post(f"/registry/households/{ids['household_id']}/assessments", headers=owner,
                                   json={"review_year": 2024, "income_per_capita": 900_000,
                                         "deprived_indicators": ["health_insurance", "latrine", "telecom"]})
    assert assessment.status_code == 201, assessment.text
    ids["assessment_id"] = assessment.json()["id"]
    review = await client.post("/registry/reviews", headers=owner, json={"commune_code": "07207", "year": 2025})
    assert review.status_code == 201, review.text
    ids["review_id"] = review.json()["id"]
    regular = await client.post("/registry/regular-reviews", headers=owner,
                                json={"household_id": ids["household_id"], "request": "exit"})
    assert regular.status_code == 201, regular.text
    ids["request_id"] = regular.json()["id"]
    # A real import job of each service (a random id could only ever be 404): the registry's, waited for
    # so that nothing changes under the fingerprints, and support's below once it knows the household.
    uploaded = await client.post("/registry/imports", headers=owner,
                                 files={"file": ("households.csv", import_file("07207", 1, 90_000))})
    assert uploaded.status_code == 202, uploaded.text

    async def imported() -> bool:
        job = await client.get(f"/registry/imports/{uploaded.json()['id']}", headers=owner)
        return job.json()["status"] in ("completed", "failed")

    await eventually(imported, timeout=120)
    ids["registry.job_id"] = uploaded.json()["id"]

    async def opened() -> httpx.Response | None:  # once reporting has projected the ward's unit
        report = await client.post("/reporting/reports", headers=owner,
                                   json={"unit": "07207", "hierarchy": "v2008", "type": "annual", "period": "2024"})
        return report if report.status_code == 201 else None

    report = await eventually(opened, timeout=60)
    ids["report_id"], ids["key"] = report.json()["id"], "poverty.end.poor"

    async def delivered() -> httpx.Response | None:  # once support's read model holds the household
        delivery = await client.post("/support/deliveries", headers=owner, json={
            "household_id": ids["household_id"], "programme": "tet_gifts", "delivered_on": "2024-02-01",
            "quantities": [{"measure": "portion", "quantity": 1}], "amount_vnd": 500_000,
            "funding": [{"source": "community", "amount_vnd": 500_000}], "body": "mttq"})
        return delivery if delivery.status_code == 201 else None

    ids["delivery_id"] = (await eventually(delivered, timeout=60)).json()["id"]
    fund = await client.post("/support/funds", headers=owner, json={"unit": "07207", "hierarchy": "v2008"})
    assert fund.status_code == 201, fund.text
    ids["fund_id"] = fund.json()["id"]
    donation = await client.post(f"/support/funds/{ids['fund_id']}/donations", headers=owner, json={
        "amount_vnd": 1_000_000, "occurred_on": "2024-10-17", "donor_name": "Công ty May Bắc Giang"})
    assert donation.status_code == 201, donation.text
    ids["entry_id"] = donation.json()["id"]  # the reversal foreign callers try
    pairing = await client.post("/support/sponsorships", headers=owner, json={
        "unit": "07207", "hierarchy": "v2008", "kind": "monthly_rice", "helper_kind": "enterprise",
        "helper_name": "Công ty CP Lương thực Bắc Giang", "household_ids": [ids["household_id"]],
        "started_on": "2024-01-01", "commitment": [{"measure": "kg", "quantity": 10, "per": "month"}]})
    assert pairing.status_code == 201, pairing.text
    ids["sponsorship_id"] = pairing.json()["id"]
    activity = await client.post("/support/activities", headers=owner, json={
        "unit": "07207", "hierarchy": "v2008", "body": "hlhpn", "kind": "training", "title": "Tập huấn",
        "period_from": "2024-01-01", "period_to": "2024-06-30", "measures": [{"measure": "session", "quantity": 3}]})
    assert activity.status_code == 201, activity.text
    ids["support.activity_id"] = activity.json()["id"]
    support_import = await client.post("/support/imports", headers=owner, files={"file": (
        "ho-tro.csv", _support_import(household.json()["household_code"]), "text/csv")})
    assert support_import.status_code == 201, support_import.text
    ids["support.job_id"] = support_import.json()["id"]
    # Emulation's activities are another table with the same path parameter name: their own key.
    ids.update({f"emulation.{k}" if k == "activity_id" else k: v for k, v in (await _emulation_rows(platform)).items()})
    return ids


def _support_import(household_code: str) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([[title for _, title in SUPPORT_IMPORT_COLUMNS],
                               ["07207", household_code, "tet_gifts", "2024-02-02", "portion", "1", "300000",
                                "community=300000", "mttq", "", "", ""]])
    return out.getvalue().encode("utf-8-sig")


def _id(ids: dict[str, str], template: str, param: str) -> str:
    """The row a path parameter names: the service's own (`support.job_id`) before a shared one."""
    service = template.split("/")[1]
    return ids.get(f"{service}.{param}") or ids[param]


async def _emulation_rows(platform: Platform) -> dict[str, str]:
    """The ward's own movement, an activity and a registration under it."""
    owner, client = platform.bearer("commune.07207"), platform.client

    async def launched() -> httpx.Response | None:  # once emulation has projected the ward's unit
        movement = await client.post("/emulation/movements", headers=owner, json={
            "unit": "07207", "hierarchy": "v2008", "name": "Ngô Quyền chung tay vì người nghèo",
            "issuing_body": "UBND phường Ngô Quyền", "starts_on": "2025-01-01", "ends_on": "2026-12-31"})
        return movement if movement.status_code == 201 else None

    movement_id = (await eventually(launched, timeout=60)).json()["id"]
    activity = await client.post(f"/emulation/movements/{movement_id}/activities", headers=owner, json={
        "unit": "07207", "kind": "news", "held_on": "2025-03-01", "count": 12})
    assert activity.status_code == 201, activity.text
    registration = await client.post(f"/emulation/movements/{movement_id}/registrations", headers=owner, json={
        "unit": "07207", "year": 2025, "registrant_kind": "unit", "registrant_name": "Tổ dân phố số 3",
        "title_sought": "giay_khen", "commitment": "Không còn hộ nghèo"})
    assert registration.status_code == 201, registration.text
    nomination = await client.post("/emulation/nominations", headers=owner, json={
        "unit": "07207", "hierarchy": "v2008", "year": 2025, "form": "giay_khen",
        "nominee": {"kind": "individual", "name": "Nguyễn Thị Hoa"}, "achievements": "Vận động quỹ",
        "dossier": [{"kind": k, "title": k} for k in ("submission", "achievement_report", "meeting_minutes")]})
    assert nomination.status_code == 201, nomination.text
    nomination_id = nomination.json()["id"]
    # The ward's nomination decided (by the national administrator, who acts at any level), so an award exists.
    assert (await client.post(f"/emulation/nominations/{nomination_id}/submit", headers=owner)).status_code == 200
    admin = platform.bearer("admin")
    assert (await client.post(f"/emulation/nominations/{nomination_id}/appraise", headers=admin)).status_code == 200
    award = await client.post(f"/emulation/nominations/{nomination_id}/decision", headers=admin,
                              json=_EMULATION_DECISION)
    assert award.status_code == 201, award.text
    second = await client.post("/emulation/nominations", headers=owner, json=nomination_body(nomination.json()))
    exemplar = await client.post("/emulation/exemplars", headers=owner, json={
        "unit": "07207", "hierarchy": "v2008", "kind": "model", "name": "Tổ thu gom phế liệu",
        "summary": "Giúp hộ nghèo", "recognised_by": "UBND phường", "recognised_on": "2025-08-01"})
    assert exemplar.status_code == 201, exemplar.text
    province = await client.post("/emulation/movements", headers=admin, json={
        "unit": "24", "hierarchy": "v2008", "name": "Bắc Giang chung tay vì người nghèo", "issuing_body": "UBND tỉnh",
        "starts_on": "2025-01-01", "ends_on": "2026-12-31"})
    assert province.status_code == 201, province.text
    criteria = await client.post(f"/emulation/movements/{province.json()['id']}/criteria-sets", headers=admin, json={
        "unit": "24", "hierarchy": "v2008", "year": 2025, "level": "commune", "criteria": [
            {"key": "poor", "name": "Giảm nghèo", "kind": "auto", "source": "poor_rate_reduction", "weight": 80},
            {"key": "lead", "name": "Lãnh đạo", "kind": "manual", "weight": 20}]})
    assert criteria.status_code == 200, criteria.text
    return {"movement_id": movement_id, "activity_id": activity.json()["id"],
            "criteria_set_id": criteria.json()["id"],
            "registration_id": registration.json()["id"], "nomination_id": second.json()["id"],
            "award_id": award.json()["id"], "exemplar_id": exemplar.json()["id"]}


def nomination_body(read: dict[str, Any]) -> dict[str, Any]:
    """A second draft like the first (the one foreign callers try to move)."""
    return {"unit": "07207", "hierarchy": "v2008", "year": read["year"], "form": read["form"],
            "nominee": {"kind": read["nominee_kind"], "name": read["nominee_name"]},
            "achievements": read["achievements"], "dossier": read["dossier"]}


VALID_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PATCH", "/registry/households/{household_id}"): {"village": "Tổ 9"},
    ("POST", "/registry/households/{household_id}/members"): {"full_name": "Kẻ Lạ", "relation": "other"},
    ("PATCH", "/registry/households/{household_id}/members/{member_id}"): {"full_name": "Đổi Tên"},
    ("POST", "/registry/households/{household_id}/assessments"): {
        "review_year": 2025, "income_per_capita": 5_000_000, "deprived_indicators": []},
    ("POST", "/registry/reviews/{review_id}/meetings"): {
        "village": "Tổ 3", "held_on": "2025-10-01", "attendees": 40, "agreeing": 39, "minutes_ref": "BB-1"},
    ("POST", "/registry/reviews/{review_id}/posting"): {"posted_from": "2025-10-02", "posted_to": "2025-10-09",
                                                       "places": "Nhà văn hoá tổ 3"},
    ("POST", "/registry/reviews/{review_id}/decision"): {"decision_number": "12/QĐ-UBND",
                                                        "decision_date": "2025-10-20", "signer": "X"},
    ("PATCH", "/support/deliveries/{delivery_id}"): {"note": "Đã sửa"},
    ("POST", "/support/deliveries/{delivery_id}/void"): {"reason": "Ghi nhầm"},
    ("POST", "/support/funds/{fund_id}/donations"): {"amount_vnd": 1_000, "occurred_on": "2024-11-01",
                                                     "donor_name": "Người lạ"},
    ("POST", "/support/funds/{fund_id}/spends"): {"amount_vnd": 1_000, "occurred_on": "2024-11-01",
                                                  "purpose": "Chi thử"},
    ("POST", "/support/sponsorships/{sponsorship_id}/end"): {"ended_on": "2024-06-01", "reason": "Kết thúc"},
    ("POST", "/support/activities/{activity_id}/void"): {"reason": "Ghi nhầm"},
    ("POST", "/support/funds/{fund_id}/transfers"): {"amount_vnd": 1_000, "occurred_on": "2024-11-01",
                                                     "to_fund_id": str(uuid.uuid4())},
    ("POST", "/support/funds/{fund_id}/entries/{entry_id}/reversal"): {"reason": "Ghi nhầm"},
    ("POST", "/support/funds/{fund_id}/refunds"): {"spend_entry_id": str(uuid.uuid4()), "amount_vnd": 1_000,
                                                   "occurred_on": "2024-11-01", "reason": "Hoàn lại"},
    ("POST", "/registry/regular-reviews/{request_id}/decision"): {
        "decision_number": "13/QĐ-UBND", "decided_on": "2025-10-21", "income_per_capita": 9_000_000,
        "deprived_indicators": []},
}
_EMULATION_UNIT = {"unit": "07207", "hierarchy": "v2008"}
_EMULATION_DECISION = {"decision_number": "120/QĐ-UBND", "decision_date": clock.today().isoformat(), "signer": "X"}
VALID_BODIES.update({
    ("PATCH", "/emulation/movements/{movement_id}"): {"name": "Đổi tên"},
    ("POST", "/emulation/movements/{movement_id}/documents"): _EMULATION_UNIT | {
        "doc_type": "plan", "number": "1/KH-UBND", "issued_on": "2025-01-02", "issuing_body": "UBND", "summary": "x"},
    ("POST", "/emulation/movements/{movement_id}/activities"): _EMULATION_UNIT | {
        "kind": "news", "held_on": "2025-03-01", "count": 1},
    ("POST", "/emulation/movements/{movement_id}/targets"): _EMULATION_UNIT | {
        "year": 2025, "indicator": "fund_raised", "value": "5"},
    ("POST", "/emulation/movements/{movement_id}/registrations"): _EMULATION_UNIT | {
        "year": 2025, "registrant_kind": "unit", "registrant_name": "X", "title_sought": "giay_khen",
        "commitment": "y"},
    ("POST", "/emulation/registrations/{registration_id}/status"): {"status": "withdrawn"},
    ("PATCH", "/emulation/nominations/{nomination_id}"): {"achievements": "Sửa"},
    ("POST", "/emulation/nominations/{nomination_id}/return"): {"comment": "Bổ sung"},
    ("POST", "/emulation/nominations/{nomination_id}/rejection"): {"comment": "Không đạt"},
    ("POST", "/emulation/nominations/{nomination_id}/vote"): {"votes_for": 5, "votes_against": 0,
                                                             "voted_on": "2026-01-05"},
    ("POST", "/emulation/nominations/{nomination_id}/decision"): _EMULATION_DECISION,
    ("POST", "/emulation/criteria-sets/{criteria_set_id}/manual-scores"): _EMULATION_UNIT | {
        "criterion": "lead", "points": "1", "evidence": "x"},
    ("POST", "/emulation/movements/{movement_id}/criteria-sets"): _EMULATION_UNIT | {
        "year": 2025, "level": "commune", "criteria": [{"key": "lead", "name": "L", "kind": "manual", "weight": 100}]},
    ("POST", "/emulation/exemplars/{exemplar_id}/withdrawal"): {"reason": "Ngừng hoạt động"},
    ("POST", "/emulation/awards/{award_id}/revocation"): {"reason": "Khai man", "decision_number": "9/QĐ-UBND",
                                                         "decision_date": "2026-01-05"},
})
FOREIGN = ("commune.07222", "commune.07243", "district.215", "province.25", "admin.25")


async def test_rows_of_another_unit_cannot_be_reached_by_id(platform: Platform) -> None:
    ids = await _owned_rows(platform)
    client = platform.client
    before = await settled_fingerprints(platform.databases)
    tried = 0
    for rule in _rules(platform):
        if not rule.id_params:
            continue
        url = rule.template
        for param in rule.id_params:
            url = url.replace("{" + param + "}", _id(ids, rule.template, param))
        for principal in FOREIGN:
            request: dict[str, Any] = {"method": rule.method, "url": url,
                                       "headers": platform.bearer(principal) | {"If-Match": "*"}}
            if rule.method in ("POST", "PATCH", "PUT"):
                request["json"] = VALID_BODIES.get((rule.method, rule.template), {})
            if rule.method == "DELETE":
                request["params"] = {"reason": "moved away"}
            response = await client.request(**request)
            tried += 1
            assert response.status_code in (403, 404), (principal, rule.method, url, response.text)
            if rule.method == "GET":
                assert response.status_code == 404 or response.json()["code"] == "forbidden"
    # Lists and filters by id of foreign rows show nothing of them.
    for principal in FOREIGN:
        for path, params in (("/registry/households", {}), ("/registry/reviews", {}),
                             ("/registry/regular-reviews", {"household_id": ids["household_id"]}),
                             ("/registry/certificates", {"household_id": ids["household_id"]}),
                             ("/support/deliveries", {"household_id": ids["household_id"]})):
            response = await client.get(path, params=params, headers=platform.bearer(principal))
            assert response.status_code == 200, response.text
            assert ids["household_id"] not in response.text and ids["review_id"] not in response.text
            assert ids["delivery_id"] not in response.text
        foreign_request = await client.post("/registry/regular-reviews", headers=platform.bearer(principal),
                                            json={"household_id": ids["household_id"], "request": "enter"})
        assert foreign_request.status_code in (403, 404), foreign_request.text
    assert tried >= 5 * 20
    assert await settled_fingerprints(platform.databases) == before
    # The owner's own officers, up the hierarchy, still reach the household.
    for principal in ("commune.07207", "district.213", "province.24"):
        response = await client.get(f"/registry/households/{ids['household_id']}", headers=platform.bearer(principal))
        assert response.status_code == 200, (principal, response.text)
        response = await client.get(f"/support/deliveries/{ids['delivery_id']}", headers=platform.bearer(principal))
        assert response.status_code == 200, (principal, response.text)
        # The ids the foreign callers were refused are real rows their owners reach.
        for path in (f"/support/activities/{ids['support.activity_id']}", f"/support/imports/{ids['support.job_id']}",
                     f"/registry/imports/{ids['registry.job_id']}"):
            response = await client.get(path, headers=platform.bearer(principal))
            assert response.status_code == 200, (principal, path, response.text)


async def test_services_refuse_calls_that_do_not_come_through_the_gateway(platform: Platform) -> None:
    stranger_signed = {"x-chungtay-principal": _foreign_key_principal()}
    async with httpx.AsyncClient() as client:
        for service, url in platform.upstreams.items():
            missing = await client.get(f"{url}/{service}/principal")
            assert missing.status_code == 401 and missing.json()["code"] == "unauthorized"
            forged = await client.get(f"{url}/{service}/principal", headers=stranger_signed)
            assert forged.status_code == 401
        direct = await client.get(f"{platform.upstreams['registry']}/registry/households",
                                  headers={"Authorization": f"Bearer {platform.tokens['admin']}"})
        assert direct.status_code == 401  # an access token is not a principal
    # Through the gateway the same call works.
    ok = await platform.client.get("/registry/households", headers=platform.bearer("province.24"))
    assert ok.status_code == 200


def _foreign_key_principal() -> str:
    from shared.principal import PrincipalSigner, generate_keypair

    private, _ = generate_keypair()
    return PrincipalSigner(private).sign(make_principal("admin", ["v2008", "v2025"]))


async def test_one_openapi_document_for_the_whole_platform(platform: Platform) -> None:
    spec = (await platform.client.get("/openapi.json")).json()
    paths = spec["paths"]
    for path in ("/auth/token", "/admin/users", "/registry/households", "/registry/households/{household_id}",
                 "/registry/units/{code}", "/reporting/indicators/poverty", "/.well-known/jwks.json"):
        assert path in paths, path
    assert "/health" in paths and "/ready" in paths  # the gateway's own
    assert "/metrics" not in paths
    operation = paths["/registry/households"]["post"]
    assert operation["x-permission"] == "registry.households.write" and operation["security"] == [{"bearer": []}]
    assert EXTENSION not in operation  # the gateway's input, not the public contract
    # The answers the gateway itself may give are documented, as problem+json.
    for status in ("400", "401", "403", "413", "415", "429", "502", "503", "504"):
        assert "application/problem+json" in operation["responses"][status]["content"], status
    assert "413" not in paths["/registry/households"]["get"]["responses"]  # no body, no 413
    assert "Problem" in spec["components"]["schemas"] and "registry__Problem" not in spec["components"]["schemas"]
    assert "bearer" in spec["components"]["securitySchemes"]
    # The gateway's own routes document their problem answers too (issue 16: the fuzzer found them missing).
    for path, method, statuses in (("/admin/users/{user_id}", "patch", ("400", "401", "403", "404", "409", "422")),
                                   ("/admin/roles", "get", ("401", "403", "422")),
                                   ("/auth/me", "get", ("401",)), ("/auth/logout", "post", ("401",)),
                                   ("/auth/token", "post", ("400", "401", "422", "429"))):
        responses = paths[path][method]["responses"]
        for status in statuses:
            assert set(responses[status]["content"]) == {"application/problem+json"}, (path, status)
    assert "404" not in paths["/admin/roles"]["get"]["responses"]  # no path parameter, nothing to find
    assert "404" in paths["/admin/audit"]["get"]["responses"]  # target_id of an account you cannot see
    assert "content" not in paths["/auth/revoke"]["post"]["responses"]["200"]  # it answers an empty body
    # An answer in another media type is documented with it (the fuzzer found the CSV of the gaps missing).
    assert {"application/json", "text/csv"} <= set(paths["/support/gaps/health-insurance"]["get"]["responses"]
                                                   ["200"]["content"])
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    refs = [v for v in _walk(spec) if isinstance(v, str) and v.startswith("#/components/schemas/")]
    assert refs and all(r.rsplit("/", 1)[-1] in spec["components"]["schemas"] for r in refs)
    docs = await platform.client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    # The proxied principal check of the test kit's key still works: the kit signs like the gateway.
    assert auth_headers(make_principal("viewer", ["v2008.24"]))


def _walk(node: Any) -> Any:
    if isinstance(node, dict):
        for value in node.values():
            yield value
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield value
            yield from _walk(value)
