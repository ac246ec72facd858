"""DCI sync search: citizen IDs (through the keyed hash), household codes, expression and predicate
queries, the Group / Member / SRPerson records, data profiles, the access log, per-item errors, and a
client's scope: another commune's, district's or province's households are never returned."""

from __future__ import annotations

from typing import Any

import httpx

from tests.dci.conftest import by_citizen, new_key, register_client, search_body, search_item, system
from tests.dci.spec.schemas import GROUP, HTTP_ERROR, MEMBER, ON_SEARCH, validate
from tests.kit import fetch, scalar
from tests.registry.households_helpers import (
    HOME,
    HOME_CODE,
    OTHER_COMMUNE,
    OTHER_COMMUNE_CODE,
    OTHER_DISTRICT,
    OTHER_PROVINCE,
    PROVINCE,
    commune_officer,
    register,
)

URL = "/registry/sync/search"


async def _search(client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(URL, json=body, headers=headers)
    assert response.status_code == 200, response.text
    answer = response.json()
    validate(answer, ON_SEARCH)
    for item in answer.get("message", {}).get("search_response", []):  # each record: a Group or a Member
        data = item.get("data", {})
        for record in data.get("reg_records", []):
            validate(record, GROUP if data["reg_record_type"] == "spdci:Group" else MEMBER)
    return answer


def _items(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return answer["message"]["search_response"]


def _attr(record: dict[str, Any], name: str) -> Any:
    return next(a["value"] for a in record["additional_attributes"] if a["name"] == name)


async def _set_status(url: str, household_id: str, status: str, year: int) -> None:
    await fetch(url, "UPDATE households SET status = $2, status_year = $3 WHERE id = $1::uuid", household_id, status,
                year)


async def test_a_citizen_id_finds_the_household_with_its_members(dci_client: httpx.AsyncClient,
                                                                 registry_db: str) -> None:
    await register_client(dci_client, "bhxh")
    household = await register(dci_client, members=3)
    head = household["members"][0]
    cid = await _citizen_id_of(dci_client, household["id"], head["id"])
    answer = await _search(dci_client, system("bhxh", HOME), search_body("bhxh", [by_citizen(cid)]))
    assert answer["header"]["status"] == "succ" and answer["header"]["action"] == "on-search"
    item = _items(answer)[0]
    assert item["status"] == "succ" and item["pagination"]["total_count"] == 1
    assert item["data"]["reg_record_type"] == "spdci:Group"
    [group] = item["data"]["reg_records"]
    code = {"identifier_type": "HouseholdCode", "identifier_value": household["household_code"], "@type": "Identifier"}
    assert code in group["group_identifier"]
    assert group["group_size"] == 3 and len(group["member_list"]) == 3
    person = group["group_head_info"]["demographic_info"]
    assert person["identifier"][0]["identifier_value"] == cid  # the full profile gets the number
    assert person["name"] == {"@type": "Name", "surname": "Nguyễn", "second_name": "Văn", "given_name": "Hùng"}
    assert _attr(group, "commune_code") == HOME_CODE
    assert group["group_type"] == "2"  # AssistanceUnitEnum: household
    assert group["address"] == [{"@type": "Address", "locality": "Thôn Đông", "sub_region_code": HOME_CODE,
                                 "region_code": "24", "country_code": "VN"}]
    # The access log names the client, the transaction and the household, never the number in clear.
    [log] = await fetch(registry_db, "SELECT client_id, transaction_id, household_ids::text[] AS ids, query::text AS q "
                                     "FROM dci_access_log")
    assert log["client_id"] == "bhxh" and log["ids"] == [household["id"]]
    assert log["transaction_id"] == answer["message"]["transaction_id"] and cid not in log["q"]


async def _citizen_id_of(client: httpx.AsyncClient, household_id: str, member_id: str) -> str:
    record = await client.get(f"/registry/households/{household_id}", params={"unmasked": "true",
                                                                             "purpose": "DCI test"},
                              headers=commune_officer())
    assert record.status_code == 200, record.text
    return next(m["citizen_id"] for m in record.json()["members"] if m["id"] == member_id)


async def test_member_entity_and_household_code(dci_client: httpx.AsyncClient) -> None:
    await register_client(dci_client, "bhxh")
    household = await register(dci_client, members=2)
    second = household["members"][1]
    cid = await _citizen_id_of(dci_client, household["id"], second["id"])
    answer = await _search(dci_client, system("bhxh", HOME), search_body("bhxh", [
        by_citizen(cid, response_entity="Member"),
        search_item("idtype-value", {"type": "HouseholdCode", "value": household["household_code"]}),
        search_item("idtype-value", {"type": "HouseholdCode", "value": "NO-SUCH"})]))
    member, by_code, nothing = _items(answer)
    assert member["data"]["reg_record_type"] == "spdci:Member"
    [record] = member["data"]["reg_records"]
    assert record["member_identifier"][0]["identifier_value"] == second["id"]
    assert [g["group_identifier"][0]["identifier_value"] for g in by_code["data"]["reg_records"]] == [household["id"]]
    assert nothing["status"] == "succ" and nothing["data"]["reg_records"] == [] \
        and nothing["pagination"]["total_count"] == 0


async def test_expression_and_predicate_queries(dci_client: httpx.AsyncClient, registry_db: str) -> None:
    await register_client(dci_client, "moh")
    poor = [await register(dci_client) for _ in range(3)]
    near = await register(dci_client)
    for h in poor:
        await _set_status(registry_db, h["id"], "poor", 2024)
    await _set_status(registry_db, near["id"], "near_poor", 2023)
    expression = {"type": "ns:chungtay:QueryType:expression", "value": {"expression": {
        "collection": "Group", "query": {"$and": [{"poverty_status": {"$eq": "poor"}},
                                                  {"commune_code": {"$eq": HOME_CODE}},
                                                  {"review_year": {"$gte": 2024}}]}}}}
    predicate = [{"seq_num": 1, "expression1": {"attribute_name": "poverty_status", "operator": "in",
                                                "attribute_value": ["VN-NEAR-POOR"]},
                  "condition": "and",
                  "expression2": {"attribute_name": "review_year", "operator": "eq", "attribute_value": 2023}}]
    answer = await _search(dci_client, system("moh", PROVINCE), search_body("moh", [
        search_item("expression", expression, pagination={"page_size": 2, "page_number": 2},
                    sort=[{"attribute_name": "household_code", "sort_order": "asc"}]),
        search_item("predicate", predicate)]))
    paged, near_poor = _items(answer)
    assert paged["pagination"] == {"page_size": 2, "page_number": 2, "total_count": 3}
    codes = sorted(h["household_code"] for h in poor)
    [last] = paged["data"]["reg_records"]
    assert next(i["identifier_value"] for i in last["group_identifier"]
                if i["identifier_type"] == "HouseholdCode") == codes[2]
    assert _attr(last, "poverty_status") == "poor" and _attr(last, "poverty_status_code") == "VN-POOR"
    assert [g["group_identifier"][0]["identifier_value"] for g in near_poor["data"]["reg_records"]] == [near["id"]]


async def test_a_client_never_receives_households_outside_its_scope(dci_client: httpx.AsyncClient,
                                                                    registry_db: str) -> None:
    for name in ("commune", "district", "province", "national"):
        await register_client(dci_client, name)
    foreign = await register(dci_client, commune_code=OTHER_COMMUNE_CODE,
                             headers=commune_officer(OTHER_COMMUNE))
    await _set_status(registry_db, foreign["id"], "poor", 2024)
    cid = await _citizen_id_of_other(dci_client, foreign)
    in_other = {"commune_code": {"$eq": OTHER_COMMUNE_CODE}}
    items = [by_citizen(cid),
             search_item("idtype-value", {"type": "HouseholdCode", "value": foreign["household_code"]}),
             search_item("expression", {"value": {"expression": {"query": in_other}}}),
             search_item("predicate", [{"expression1": {"attribute_name": "poverty_status", "operator": "eq",
                                                        "attribute_value": "poor"}}])]
    # Identifiers only (the raw-SQL hot path) and with queries (the ORM path): both hold the scope.
    for batch in (items[:2], items):
        for name, scope in (("commune", HOME), ("district", OTHER_DISTRICT), ("province", OTHER_PROVINCE)):
            answer = await _search(dci_client, system(name, scope), search_body(name, batch))
            assert [(i["status"], i["pagination"]["total_count"], i["data"]["reg_records"])
                    for i in _items(answer)] == [("succ", 0, [])] * len(batch), name
        # The same queries from a client whose scope holds the household find it (the queries are right).
        answer = await _search(dci_client, system("national", "v2008"), search_body("national", batch))
        assert [i["pagination"]["total_count"] for i in _items(answer)] == [1] * len(batch)
    logged = await scalar(registry_db, "SELECT array_agg(DISTINCT client_id) FROM dci_access_log")
    assert logged == ["national"]  # refused searches returned nothing, so logged nothing


async def _citizen_id_of_other(client: httpx.AsyncClient, household: dict[str, Any]) -> str:
    record = await client.get(f"/registry/households/{household['id']}", params={"unmasked": "true",
                                                                                "purpose": "DCI test"},
                              headers=commune_officer(OTHER_COMMUNE))
    return str(record.json()["members"][0]["citizen_id"])


async def test_data_profiles_minimise_what_a_client_receives(dci_client: httpx.AsyncClient) -> None:
    await register_client(dci_client, "stats", data_profile="statistics")
    await register_client(dci_client, "bank", data_profile="masked")
    household = await register(dci_client)
    cid = await _citizen_id_of(dci_client, household["id"], household["members"][0]["id"])
    stats = _items(await _search(dci_client, system("stats", HOME), search_body("stats", [by_citizen(cid)])))[0]
    [group] = stats["data"]["reg_records"]
    assert "member_list" not in group and "group_head_info" not in group and "address" not in group
    assert [i["identifier_type"] for i in group["group_identifier"]] == ["RegistryId"]
    assert group["group_size"] == 3
    bank = _items(await _search(dci_client, system("bank", HOME), search_body("bank", [by_citizen(cid)])))[0]
    person = bank["data"]["reg_records"][0]["group_head_info"]["demographic_info"]
    assert person["identifier"][0]["identifier_value"] == cid[:4] + "******" + cid[-2:]
    assert person["birth_date"] == "1975"


async def test_one_bad_item_does_not_fail_the_others(dci_client: httpx.AsyncClient, registry_db: str) -> None:
    await register_client(dci_client, "bhxh")
    household = await register(dci_client)
    cid = await _citizen_id_of(dci_client, household["id"], household["members"][0]["id"])
    good = by_citizen(cid, reference_id="good")
    bad = [search_item("expression", {"value": {"expression": {"query": {"salary": {"$gt": 1}}}}}, "unknown-attr"),
           search_item("predicate", [{"expression1": {"attribute_name": "review_year", "operator": "like",
                                                      "attribute_value": 1}}], "bad-operator"),
           by_citizen("12345", reference_id="short-id"),
           search_item("telepathy", {}, "bad-type"),
           search_item("expression", {"value": {"poverty_status": "poor"}}, "bad-page",
                       pagination={"page_size": 0}),
           by_citizen(cid, reference_id="good"),  # the same reference twice
           {"reference_id": "no-time", "search_criteria": {"query_type": "idtype-value", "query": {}}}]
    answer = await _search(dci_client, system("bhxh", HOME), search_body("bhxh", [good, *bad]))
    got = [(i["reference_id"], i["status"], i.get("status_reason_code")) for i in _items(answer)]
    assert got == [("good", "succ", None), ("unknown-attr", "rjct", "rjct.filter.invalid"),
                   ("bad-operator", "rjct", "rjct.filter.invalid"), ("short-id", "rjct", "rjct.filter.invalid"),
                   ("bad-type", "rjct", "rjct.search_criteria.invalid"),
                   ("bad-page", "rjct", "rjct.pagination.invalid"),
                   ("good", "rjct", "rjct.reference_id.duplicate"), ("no-time", "rjct", "rjct.timestamp.invalid")]
    assert answer["header"]["status"] == "succ" and answer["header"]["total_count"] == 8


async def test_bad_envelopes_are_rejected_in_the_header_and_change_nothing(dci_client: httpx.AsyncClient,
                                                                           registry_db: str) -> None:
    await register_client(dci_client, "bhxh")
    headers = system("bhxh", HOME)
    body = search_body("bhxh", [by_citizen("024000000001")])
    cases = [({**body, "header": {**body["header"], "action": "notify"}}, "rjct.action.invalid"),
             ({**body, "header": {**body["header"], "total_count": 5}}, "rjct.total_count.invalid"),
             ({**body, "header": {**body["header"], "message_ts": "yesterday"}}, "rjct.message_ts.invalid"),
             ({**body, "header": {**body["header"], "version": "0.9"}}, "rjct.version.invalid"),
             ({"header": body["header"]}, "rjct.action.invalid")]
    for bad, code in cases:
        answer = await _search(dci_client, headers, bad)
        assert (answer["header"]["status"], answer["header"]["status_reason_code"]) == ("rjct", code), bad
    first = await _search(dci_client, headers, body)
    again = await _search(dci_client, headers, body)
    assert first["header"]["status"] == "succ"
    assert again["header"]["status_reason_code"] == "rjct.message_id.duplicate"
    assert await scalar(registry_db, "SELECT count(*) FROM dci_transactions") == 1


async def test_who_may_call(dci_client: httpx.AsyncClient, registry_db: str) -> None:
    body = search_body("bhxh", [by_citizen("024000000001")])
    anonymous = await dci_client.post(URL, json=body)
    assert anonymous.status_code == 401
    unknown = await dci_client.post(URL, json=body, headers=system("bhxh", HOME))
    assert unknown.status_code == 403 and unknown.json()["errors"][0]["code"] == "err.sender_id.invalid"
    validate(unknown.json(), HTTP_ERROR)
    await register_client(dci_client, "bhxh", allow_unsigned=False)
    unsigned = await dci_client.post(URL, json=body, headers=system("bhxh", HOME))
    assert unsigned.status_code == 401 and unsigned.json()["errors"][0]["code"] == "err.signature.missing"
    other = await dci_client.post(URL, json=search_body("someone-else", [by_citizen("024000000001")]),
                                  headers=system("bhxh", HOME))
    assert other.status_code == 403 and other.json()["errors"][0]["code"] == "err.sender_id.invalid"
    not_json = await dci_client.post(URL, content=b"{nope", headers=system("bhxh", HOME) | {
        "content-type": "application/json"})
    assert not_json.status_code == 400 and not_json.json()["errors"][0]["code"] == "err.request.bad"
    officer = await dci_client.post(URL, json=body, headers=commune_officer())
    assert officer.status_code == 403  # officers hold no DCI permission
    assert await scalar(registry_db, "SELECT count(*) FROM dci_transactions") == 0


async def test_a_client_with_a_key_must_sign_and_a_bad_signature_is_refused(dci_client: httpx.AsyncClient,
                                                                             registry_db: str) -> None:
    private, public = new_key("bhxh-2026")
    await register_client(dci_client, "bhxh", public_keys=[public], allow_unsigned=True)
    headers = system("bhxh", HOME)
    items = [by_citizen("024000000001")]
    signed = await dci_client.post(URL, json=search_body("bhxh", items, key=private), headers=headers)
    assert signed.status_code == 200 and signed.json()["header"]["status"] == "succ"
    tampered = search_body("bhxh", items, key=private)
    tampered["message"]["search_request"][0]["search_criteria"]["query"]["value"] = "024000000002"
    refused = await dci_client.post(URL, json=tampered, headers=headers)
    assert refused.status_code == 401 and refused.json()["errors"][0]["code"] == "err.signature.invalid"
    stranger, _ = new_key("bhxh-2026")
    forged = await dci_client.post(URL, json=search_body("bhxh", items, key=stranger), headers=headers)
    assert forged.status_code == 401 and forged.json()["errors"][0]["code"] == "err.signature.invalid"
    # A key on file means signing is required, whatever allow_unsigned says.
    unsigned = await dci_client.post(URL, json=search_body("bhxh", items), headers=headers)
    assert unsigned.status_code == 401 and unsigned.json()["errors"][0]["code"] == "err.signature.missing"
    assert await scalar(registry_db, "SELECT count(*) FROM dci_transactions") == 1
