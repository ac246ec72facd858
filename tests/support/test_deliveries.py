"""Household and aggregate deliveries through the service: eligibility from the registry's events,
Idempotency-Key, If-Match corrections, voids, history, and the events reporting reads."""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from services.registry import events as registry_events
from services.reporting.support.rules import delivery_row
from services.support.households.rebuild import rebuild
from shared.events import Event
from tests.kit import fetch
from tests.support.conftest import (
    A0,
    A1,
    DISTRICT_A_OFFICER,
    OFFICER_A0,
    PROVINCE_OFFICER,
    Support,
    assessed,
    household_event,
    housing_repair,
)


async def test_a_household_delivery_is_recorded_with_its_sources_and_reporting_can_read_its_event(
        support: Support) -> None:
    household = await support.household(A0, "poor")
    response = await support.call("POST", "/support/deliveries", OFFICER_A0, json=housing_repair(household))
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["ETag"] == '"1"' and response.headers["Location"] == f"/support/deliveries/{body['id']}"
    assert body["unit_path"] == A0 and body["unit_code"] == "07207" and body["household_status"] == "poor"
    assert body["amount_vnd"] == 20_000_000 and body["amount_million_vnd"] == "20.00"
    assert body["quantities"] == [{"measure": "house", "quantity": "1"}]
    assert not body["eligibility_exception"]
    [event] = await support.events("support.delivery.recorded")
    payload = event["payload"]
    assert payload["programme_category"] == "housing" and payload["body_kind"] == "mass_organisation"
    assert payload["funding"] == [
        {"source": "vnn_fund_district", "source_kind": "vnn_fund", "source_level": "district",
         "amount_vnd": 12_000_000},
        {"source": "hlhpn_mai_am", "source_kind": "organisation_fund", "source_level": None, "amount_vnd": 8_000_000}]
    # The contract: reporting's projection takes the payload as it is.
    row = delivery_row(payload, event["version"], Event.from_bytes(orjson.dumps(event)))
    assert row["unit_path"] == A0 and row["amount_vnd"] == 20_000_000 and row["households"] == 1
    history = (await support.call("GET", f"/support/deliveries/{body['id']}/history", OFFICER_A0)).json()
    assert [h["action"] for h in history["items"]] == ["recorded"]


async def test_a_retried_create_with_the_same_idempotency_key_records_once(support: Support) -> None:
    household = await support.household(A0, "poor")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await support.call("POST", "/support/deliveries", OFFICER_A0, json=housing_repair(household), headers=key)
    again = await support.call("POST", "/support/deliveries", OFFICER_A0, json=housing_repair(household), headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"] and again.headers.get("Idempotent-Replayed") == "true"
    assert await support.count("deliveries") == 1
    assert len(await support.events("support.delivery.recorded")) == 1


async def test_a_household_the_programme_does_not_serve_is_refused_with_the_rule_unless_overridden(
        support: Support) -> None:
    near_poor = await support.household(A0, "near_poor")
    card = {"household_id": near_poor, "programme": "bhyt_poor", "delivered_on": "2024-01-15",
            "quantities": [{"measure": "card", "quantity": 4}], "body": "bhxh"}
    refused = await support.call("POST", "/support/deliveries", OFFICER_A0, json=card)
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["code"] == "not_eligible" and problem["household_status"] == "near_poor"
    assert problem["eligible"] == ["poor"] and "bhyt_poor" in problem["detail"]
    # A commune officer does not hold the override.
    commune = await support.call("POST", "/support/deliveries", OFFICER_A0,
                                 json={**card, "override_reason": "Hộ vừa bị thiên tai"})
    assert commune.status_code == 403
    assert await support.count("deliveries") == 0 and await support.delivery_events() == 0
    district = await support.call("POST", "/support/deliveries", DISTRICT_A_OFFICER,
                                  json={**card, "override_reason": "Hộ vừa bị thiên tai"})
    assert district.status_code == 201, district.text
    assert district.json()["eligibility_exception"] is True
    assert "serves households that are poor" in district.json()["eligibility_rule"]
    [event] = await support.events("support.delivery.recorded")
    assert event["payload"]["eligibility_exception"] is True


async def test_a_correction_the_eligibility_rule_refuses_is_kept_only_with_an_override(support: Support) -> None:
    near_poor = await support.household(A0, "near_poor")
    card = {"household_id": near_poor, "programme": "bhyt_near_poor", "delivered_on": "2024-01-15",
            "quantities": [{"measure": "card", "quantity": 4}], "body": "bhxh"}
    created = await support.call("POST", "/support/deliveries", OFFICER_A0, json=card)
    assert created.status_code == 201 and created.json()["eligibility_exception"] is False
    url = f"/support/deliveries/{created.json()['id']}"
    wrong = {"programme": "bhyt_poor", "reason": "Nhầm loại thẻ"}
    refused = await support.call("PATCH", url, DISTRICT_A_OFFICER, json=wrong, headers={"If-Match": '"1"'})
    assert refused.status_code == 422 and refused.json()["code"] == "not_eligible"
    # A commune officer does not hold the override.
    commune = await support.call("PATCH", url, OFFICER_A0, json={**wrong, "override_reason": "Theo QĐ của huyện"},
                                 headers={"If-Match": '"1"'})
    assert commune.status_code == 403
    assert (await support.call("GET", url, OFFICER_A0)).json()["version"] == 1
    assert len(await support.events("support.delivery.corrected")) == 0
    kept = await support.call("PATCH", url, DISTRICT_A_OFFICER, json={**wrong, "override_reason": "Theo QĐ của huyện"},
                              headers={"If-Match": '"1"'})
    assert kept.status_code == 200, kept.text
    body = kept.json()
    assert body["programme"] == "bhyt_poor" and body["eligibility_exception"] is True
    assert body["override_reason"] == "Theo QĐ của huyện" and "serves households that are poor" in body[
        "eligibility_rule"]
    history = (await support.call("GET", f"{url}/history", OFFICER_A0)).json()["items"]
    assert history[-1]["after"]["eligibility_exception"] is True
    assert history[-1]["after"]["override_reason"] == "Theo QĐ của huyện"
    [event] = await support.events("support.delivery.corrected")
    assert event["payload"]["eligibility_exception"] is True
    # Corrected back to a programme the household qualifies for: no longer an exception.
    back = await support.call("PATCH", url, OFFICER_A0, json={"programme": "bhyt_near_poor", "reason": "Sửa lại"},
                              headers={"If-Match": '"2"'})
    assert back.status_code == 200 and back.json()["eligibility_exception"] is False
    assert back.json()["override_reason"] is None


async def test_a_household_that_escaped_poverty_keeps_the_credit_for_the_programme_s_years(support: Support) -> None:
    household = str(uuid.uuid4())
    await support.publish([household_event(household, A0, "poor"),
                           assessed(household, A0, 2023, "middle_income", "poor", "escaped_poverty", 2)])
    await support.wait_version(household, 2)
    loan = {"household_id": household, "programme": "nhcsxh_credit", "delivered_on": "2025-03-01",
            "amount_vnd": 50_000_000, "funding": [{"source": "nhcsxh", "amount_vnd": 50_000_000}], "body": "nhcsxh"}
    assert (await support.call("POST", "/support/deliveries", OFFICER_A0, json=loan)).status_code == 201
    # Electricity support serves poor households only.
    power = {"household_id": household, "programme": "electricity", "delivered_on": "2025-03-01",
             "amount_vnd": 150_000, "funding": [{"source": "state_central", "amount_vnd": 150_000}], "body": "dien_luc"}
    refused = await support.call("POST", "/support/deliveries", OFFICER_A0, json=power)
    assert refused.status_code == 422 and refused.json()["household_status"] == "middle_income"


async def test_the_read_model_follows_the_registry_and_ignores_older_versions(support: Support) -> None:
    household = await support.household(A0, "near_poor")
    await support.publish([assessed(household, A0, 2024, "poor", "near_poor", "newly_poor", 3),
                           household_event(household, A0, "near_poor", 2, "registry.household.updated")])
    await support.wait_version(household, 3)
    card = {"household_id": household, "programme": "bhyt_poor", "delivered_on": "2024-12-01",
            "quantities": [{"measure": "card", "quantity": 4}], "body": "bhxh"}
    accepted = await support.call("POST", "/support/deliveries", OFFICER_A0, json=card)
    assert accepted.status_code == 201 and accepted.json()["household_status"] == "poor"
    await support.publish([Event(type="registry.household.removed", producer="registry", subject_id=household,
                                 unit_code="07207", unit_path=A0, version=4, payload={"household_code": "x",
                                                                                      "reason": "moved"})])
    await support.wait_version(household, 4)
    removed = await support.call("POST", "/support/deliveries", OFFICER_A0, json=card)
    assert removed.status_code == 422 and removed.json()["code"] == "household_removed"


async def test_bad_lines_are_refused_naming_each_field_and_nothing_is_stored(support: Support) -> None:
    household = await support.household(A0, "poor")
    cases = {
        "funding": housing_repair(household, amount_vnd=21_000_000),
        "quantities.0.measure": housing_repair(household, quantities=[{"measure": "kg", "quantity": 10}]),
        "delivered_on": housing_repair(household, delivered_on="2099-01-01"),
        "funding.1.source": housing_repair(household, funding=[
            {"source": "vnn_fund_district", "amount_vnd": 12_000_000}, {"source": "lottery", "amount_vnd": 8_000_000}]),
        "body": housing_repair(household, body="nobody"),
        "programme": housing_repair(household, programme="moon_trip"),
    }
    for field, payload in cases.items():
        response = await support.call("POST", "/support/deliveries", OFFICER_A0, json=payload)
        assert response.status_code == 422, (field, response.text)
        assert field in [e["field"] for e in response.json()["errors"]], (field, response.json())
    outside = {"household_id": household, "programme": "information", "delivered_on": "2020-06-01",
               "quantities": [{"measure": "set", "quantity": 1}], "body": "ubnd"}
    response = await support.call("POST", "/support/deliveries", OFFICER_A0, json=outside)
    assert response.status_code == 422 and "outside programme information's period" in response.text
    formula = await support.call("POST", "/support/deliveries", OFFICER_A0,
                                 json=housing_repair(household, note="ok", document_ref="=HYPERLINK(1)"))
    assert formula.status_code == 422 and formula.json()["errors"][0]["field"] == "document_ref"
    assert await support.count("deliveries") == 0 and await support.delivery_events() == 0


async def test_a_correction_needs_if_match_is_checked_again_and_kept_in_the_history(support: Support) -> None:
    household = await support.household(A0, "poor")
    created = (await support.call("POST", "/support/deliveries", OFFICER_A0, json=housing_repair(household))).json()
    url = f"/support/deliveries/{created['id']}"
    change = {"amount_vnd": 30_000_000, "funding": [{"source": "state_central", "amount_vnd": 30_000_000}],
              "reason": "Sai số tiền"}
    assert (await support.call("PATCH", url, OFFICER_A0, json=change)).status_code == 428
    assert (await support.call("PATCH", url, OFFICER_A0, json=change, headers={"If-Match": '"7"'})).status_code == 412
    blind = await support.call("PATCH", url, OFFICER_A0, json=change, headers={"If-Match": "*"})
    assert blind.status_code == 428 and blind.json()["current_etag"] == '"1"'  # never a blind overwrite
    assert (await support.call("GET", url, OFFICER_A0)).json()["version"] == 1
    bad = await support.call("PATCH", url, OFFICER_A0, json={"amount_vnd": 1}, headers={"If-Match": '"1"'})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "funding"
    corrected = await support.call("PATCH", url, OFFICER_A0, json=change, headers={"If-Match": '"1"'})
    assert corrected.status_code == 200, corrected.text
    assert corrected.headers["ETag"] == '"2"' and corrected.json()["amount_vnd"] == 30_000_000
    history = (await support.call("GET", f"{url}/history", OFFICER_A0)).json()["items"]
    assert [h["action"] for h in history] == ["recorded", "corrected"]
    assert history[1]["before"]["amount_vnd"] == 20_000_000 and history[1]["after"]["amount_vnd"] == 30_000_000
    assert history[1]["reason"] == "Sai số tiền"
    [event] = await support.events("support.delivery.corrected")
    assert event["version"] == 2 and event["payload"]["funding"][0]["source"] == "state_central"


async def test_a_void_keeps_the_delivery_with_its_reason_and_a_voided_delivery_cannot_change(
        support: Support) -> None:
    household = await support.household(A0, "poor")
    created = (await support.call("POST", "/support/deliveries", OFFICER_A0, json=housing_repair(household))).json()
    url = f"/support/deliveries/{created['id']}"
    voided = await support.call("POST", f"{url}/void", OFFICER_A0, json={"reason": "Ghi trùng"},
                                headers={"If-Match": '"1"'})
    assert voided.status_code == 200 and voided.json()["status"] == "voided"
    again = await support.call("POST", f"{url}/void", OFFICER_A0, json={"reason": "Ghi trùng"},
                               headers={"If-Match": "*"})
    assert again.status_code == 409 and again.json()["code"] == "delivery_voided"
    assert again.json()["field"] == "delivery_id" and again.json()["delivery_id"] == created["id"]
    assert created["id"] in again.json()["detail"]
    patch = await support.call("PATCH", url, OFFICER_A0, json={"note": "x"}, headers={"If-Match": '"2"'})
    assert patch.status_code == 409 and patch.json()["delivery_id"] == created["id"]
    [event] = await support.events("support.delivery.voided")
    assert event["payload"]["status"] == "voided" and event["payload"]["void_reason"] == "Ghi trùng"
    history = (await support.call("GET", f"/support/households/{household}/deliveries", OFFICER_A0)).json()
    assert history["total"] == 0  # voided deliveries count nowhere...
    shown = await support.call("GET", f"/support/households/{household}/deliveries", OFFICER_A0,
                               params={"include_voided": "true"})
    assert shown.json()["total"] == 1  # ...but are kept


async def test_an_aggregate_delivery_and_the_totals_per_programme_source_and_body(support: Support) -> None:
    cards = {"unit": "07207", "hierarchy": "v2008", "programme": "bhyt_poor", "delivered_on": "2024-02-01",
             "households": 800, "persons": 2100, "quantities": [{"measure": "card", "quantity": 2100}], "body": "bhxh"}
    gifts = {"unit": "213", "programme": "tet_gifts", "delivered_on": "2024-02-05", "households": 356,
             "turns": 571, "quantities": [{"measure": "portion", "quantity": 571}], "amount_vnd": 192_750_000,
             "funding": [{"source": "vnn_fund_district", "amount_vnd": 150_000_000},
                         {"source": "enterprise", "amount_vnd": 42_750_000}], "body": "mttq"}
    assert (await support.call("POST", "/support/deliveries/aggregate", OFFICER_A0, json=cards)).status_code == 201
    # A commune officer cannot record at the district.
    assert (await support.call("POST", "/support/deliveries/aggregate", OFFICER_A0, json=gifts)).status_code == 403
    made = await support.call("POST", "/support/deliveries/aggregate", DISTRICT_A_OFFICER, json=gifts)
    assert made.status_code == 201 and made.json()["kind"] == "aggregate" and made.json()["households"] == 356
    totals = (await support.call("GET", "/support/deliveries/totals", PROVINCE_OFFICER,
                                 params={"unit": "24", "year": 2024})).json()
    by_code = {p["programme"]: p for p in totals["programmes"]}
    assert by_code["bhyt_poor"]["households"] == 800 and by_code["bhyt_poor"]["quantities"] == [
        {"measure": "card", "body": "bhxh", "quantity": "2100"}]
    assert by_code["tet_gifts"]["amount_million_vnd"] == "192.75"
    assert {(f["source"], f["body"], f["amount_vnd"]) for f in by_code["tet_gifts"]["funding"]} == {
        ("vnn_fund_district", "mttq", 150_000_000), ("enterprise", "mttq", 42_750_000)}
    # The commune's own totals hold only its cards.
    commune = (await support.call("GET", "/support/deliveries/totals", OFFICER_A0, params={"year": 2024})).json()
    assert [p["programme"] for p in commune["programmes"]] == ["bhyt_poor"]
    listed = (await support.call("GET", "/support/deliveries", PROVINCE_OFFICER,
                                 params={"source": "enterprise"})).json()
    assert listed["total"] == 1 and listed["items"][0]["programme"] == "tet_gifts"
    # Unknown unit: 404 naming it.
    unknown = await support.call("POST", "/support/deliveries/aggregate", PROVINCE_OFFICER,
                                 json={**cards, "unit": "99999"})
    assert unknown.status_code == 404


async def test_the_delivery_list_filters_by_programme_body_kind_status_and_period(support: Support) -> None:
    household = await support.household(A0, "poor")
    repair = (await support.call("POST", "/support/deliveries", OFFICER_A0, json=housing_repair(household))).json()
    card = (await support.call("POST", "/support/deliveries", OFFICER_A0, json={
        "household_id": household, "programme": "bhyt_poor", "delivered_on": "2024-02-01",
        "quantities": [{"measure": "card", "quantity": 4}], "body": "bhxh"})).json()
    gifts = (await support.call("POST", "/support/deliveries/aggregate", OFFICER_A0, json={
        "unit": "07207", "hierarchy": "v2008", "programme": "tet_gifts", "delivered_on": "2024-02-05",
        "households": 30, "quantities": [{"measure": "portion", "quantity": 30}], "body": "mttq"})).json()
    duplicate = (await support.call("POST", "/support/deliveries", OFFICER_A0, json={
        "household_id": household, "programme": "bhyt_poor", "delivered_on": "2024-03-01",
        "quantities": [{"measure": "card", "quantity": 4}], "body": "bhxh"})).json()
    voided = await support.call("POST", f"/support/deliveries/{duplicate['id']}/void", OFFICER_A0,
                                json={"reason": "Ghi trùng"}, headers={"If-Match": '"1"'})
    assert voided.status_code == 200

    async def listed(**params: str) -> list[str]:
        answer = await support.call("GET", "/support/deliveries", OFFICER_A0, params=params)
        assert answer.status_code == 200, answer.text
        return [i["id"] for i in answer.json()["items"]]

    assert await listed() == [repair["id"], duplicate["id"], gifts["id"], card["id"]]  # newest first
    assert await listed(programme="bhyt_poor") == [duplicate["id"], card["id"]]
    assert await listed(programme="bhyt_poor", status="recorded") == [card["id"]]
    assert await listed(status="voided") == [duplicate["id"]]
    assert await listed(body="hlhpn") == [repair["id"]]
    assert await listed(body="mttq", kind="aggregate") == [gifts["id"]]
    assert await listed(kind="household", status="recorded") == [repair["id"], card["id"]]
    assert await listed(**{"from": "2024-02-02", "to": "2024-03-31"}) == [duplicate["id"], gifts["id"]]
    assert await listed(**{"from": "2024-05-10"}) == [repair["id"]]
    assert await listed(**{"to": "2024-02-01"}) == [card["id"]]
    assert await listed(programme="moon_trip") == []
    bad = await support.call("GET", "/support/deliveries", OFFICER_A0, params={"kind": "batch"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "kind"


async def test_a_retried_aggregate_delivery_is_recorded_once(support: Support) -> None:
    batch = {"unit": "07207", "hierarchy": "v2008", "programme": "bhyt_poor", "delivered_on": "2024-02-01",
             "households": 800, "persons": 2100, "quantities": [{"measure": "card", "quantity": 2100}], "body": "bhxh"}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await support.call("POST", "/support/deliveries/aggregate", OFFICER_A0, json=batch, headers=key)
    again = await support.call("POST", "/support/deliveries/aggregate", OFFICER_A0, json=batch, headers=key)
    assert first.status_code == again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert await support.count("deliveries") == 1 and await support.delivery_events() == 1
    # The same key with another body is refused; a new key records a second batch.
    other = await support.call("POST", "/support/deliveries/aggregate", OFFICER_A0,
                               json={**batch, "households": 801}, headers=key)
    assert other.status_code == 422 and await support.count("deliveries") == 1
    fresh = await support.call("POST", "/support/deliveries/aggregate", OFFICER_A0, json=batch,
                               headers={"Idempotency-Key": str(uuid.uuid4())})
    assert fresh.status_code == 201 and await support.count("deliveries") == 2


async def test_the_read_model_is_rebuilt_from_the_registry_stream(support: Support) -> None:
    poor = await support.household(A0, "poor")
    changed = str(uuid.uuid4())
    await support.publish([household_event(changed, A1, "near_poor"),
                           assessed(changed, A1, 2024, "poor", "near_poor", "newly_poor", 2)])
    await support.wait_version(changed, 2)
    before = await fetch(support.db_url, "SELECT id, status, version FROM sp_households ORDER BY id")
    units = await support.count("sp_units")
    await fetch(support.db_url, "DELETE FROM sp_households")  # a projection gone wrong
    stats = await rebuild(support.db_url, support.app.state.settings.nats_url)
    assert stats["applied"] == stats["messages"] >= units + 3
    assert await fetch(support.db_url, "SELECT id, status, version FROM sp_households ORDER BY id") == before
    assert await support.count("sp_household_transitions") == 1 and await support.count("sp_units") == units
    # The live consumer goes on after the rebuild: a later change applies once.
    await support.publish([assessed(poor, A0, 2025, "near_poor", "poor", "escaped_poverty", 2)])
    await support.wait_version(poor, 2)


def _registry_household(household_id: str, head: str, version: int, status: str | None) -> dict[str, Any]:
    """A household row as the registry's event builders read it (an import's: code, commune, one head)."""
    return {"id": household_id, "unit_path": A0, "commune_code": "07207", "household_code": f"NQ-{head[:6]}",
            "village": "Tổ 3", "member_count": 3, "ethnic_minority": False, "policy_family": False,
            "social_protection": False, "area": "urban", "status": status, "version": version}


async def test_an_imported_household_is_eligible_once_the_registry_recognises_it(support: Support) -> None:
    """The registry's import records an assessment and leaves the household's status null until a review
    recognises it: the read model follows the household's status, not the import item's assessment."""
    household, head = str(uuid.uuid4()), str(uuid.uuid4())
    assessment = {"id": str(uuid.uuid4()), "review_year": 2024, "status": "poor", "standard": "decree-07-2021",
                  "deprived_indicators": ["housing_quality", "latrine"]}
    item = {**registry_events.assessed_payload(_registry_household(household, head, 1, None), assessment, None,
                                               "newly_poor"),
            "version": 1, "unit_path": A0, "household_code": f"NQ-{head[:6]}", "member_ids": [head]}
    await support.publish([registry_events.assessed_batch(str(uuid.uuid4()), A0, "07207", [item])])
    await support.wait_version(household, 1)
    rows = "SELECT status, status_year, household_code, member_ids, deprived_indicators, version FROM sp_households"
    assert [dict(r) for r in await fetch(support.db_url, rows)] == [{
        "status": None, "status_year": None, "household_code": f"NQ-{head[:6]}", "member_ids": [head],
        "deprived_indicators": ["housing_quality", "latrine"], "version": 1}]
    assert await support.count("sp_household_transitions") == 0  # recorded, not recognised

    power = {"household_id": household, "programme": "electricity", "delivered_on": "2024-06-01",
             "member_ids": [head], "amount_vnd": 150_000,
             "funding": [{"source": "state_central", "amount_vnd": 150_000}], "body": "dien_luc"}
    refused = await support.call("POST", "/support/deliveries", OFFICER_A0, json=power)
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["code"] == "not_eligible" and problem["household_status"] is None
    assert problem["eligible"] == ["poor"] and "electricity" in problem["detail"]
    assert "none (never recognised)" in problem["detail"]
    assert await support.count("deliveries") == 0
    # An officer holding the override records it as an exception.
    excepted = await support.call("POST", "/support/deliveries", DISTRICT_A_OFFICER,
                                  json={**power, "override_reason": "Hộ mới nhập, chờ bình xét"})
    assert excepted.status_code == 201, excepted.text
    assert excepted.json()["eligibility_exception"] is True and excepted.json()["household_status"] is None
    assert "none (never recognised)" in excepted.json()["eligibility_rule"]

    # The commune's review recognises it (the household's version 2), then a member joins (an update
    # carrying the recognised status, version 3).
    recognised = _registry_household(household, head, 2, "poor")
    await support.publish([registry_events.household_assessed(recognised, assessment, None, "newly_poor")])
    await support.wait_version(household, 2)
    accepted = await support.call("POST", "/support/deliveries", OFFICER_A0, json=power)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["household_status"] == "poor" and accepted.json()["eligibility_exception"] is False
    transitions = "SELECT review_year, status, previous_status, transition FROM sp_household_transitions"
    assert [tuple(r) for r in await fetch(support.db_url, transitions)] == [(2024, "poor", None, "newly_poor")]
    spouse = str(uuid.uuid4())
    await support.publish([registry_events.household_updated(
        {**_registry_household(household, head, 3, "poor"), "member_count": 4}, [head, spouse])])
    await support.wait_version(household, 3)
    [row] = await fetch(support.db_url, rows)
    assert (row["status"], row["status_year"], row["member_ids"]) == ("poor", 2024, [head, spouse])
    again = await support.call("POST", "/support/deliveries", OFFICER_A0, json={**power, "member_ids": [spouse]})
    assert again.status_code == 201 and again.json()["household_status"] == "poor", again.text

    # Replaying the stream gives the same read model.
    everything = ("SELECT h.*, t.review_year, t.status AS t_status, t.transition, t.recognised_at FROM sp_households h "
                  "LEFT JOIN sp_household_transitions t ON t.household_id = h.id")
    before = [{k: v for k, v in r.items() if k != "applied_at"} for r in await fetch(support.db_url, everything)]
    await fetch(support.db_url, "DELETE FROM sp_households")
    await fetch(support.db_url, "DELETE FROM sp_household_transitions")
    await rebuild(support.db_url, support.app.state.settings.nats_url)
    after = [{k: v for k, v in r.items() if k != "applied_at"} for r in await fetch(support.db_url, everything)]
    assert after == before


async def test_money_is_amount_vnd_only_never_a_quantity(support: Support) -> None:
    household = await support.household(A0, "poor")
    for measure, quantity in (("vnd", "0.5"), ("vnd", 20_000_000), ("vnd_given", 1)):
        sent = housing_repair(household, quantities=[{"measure": "house", "quantity": 1},
                                                     {"measure": measure, "quantity": quantity}])
        refused = await support.call("POST", "/support/deliveries", OFFICER_A0, json=sent)
        assert refused.status_code == 422, refused.text
        [error] = refused.json()["errors"]
        assert error["field"] == "quantities.1.measure" and "amount_vnd" in error["reason"]
    aggregate = {"unit": "07207", "hierarchy": "v2008", "programme": "tet_gifts", "delivered_on": "2024-02-01",
                 "households": 10, "quantities": [{"measure": "vnd", "quantity": 5_000_000}], "body": "mttq"}
    refused = await support.call("POST", "/support/deliveries/aggregate", OFFICER_A0, json=aggregate)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "quantities.0.measure"
    assert await support.count("deliveries") == 0 and await support.delivery_events() == 0
    # No programme lists a money measure: the catalogue refuses one, and the seeded ones have none.
    programmes = (await support.call("GET", "/support/catalogue", OFFICER_A0, params={"catalogue": "programme"})).json()
    assert all(not {"vnd", "vnd_given"} & set(p["fields"]["measures"]) for p in programmes)
    listed = await support.call("POST", "/support/catalogue", PROVINCE_OFFICER, json={
        "catalogue": "programme", "entry": "school_fees", "name": "Học phí",
        "fields": {"category": "education", "measures": ["student_turn", "vnd"], "eligible": ["poor"],
                   "owner_level": "province", "active_from": "2024-09-01"}})
    assert listed.status_code == 422 and listed.json()["errors"][0]["field"] == "fields.measures"
    # An activity counts money as a named measure (seed 003: "income 250.4 million"), in whole VND.
    activity = {"unit": "213", "hierarchy": "v2008", "period_from": "2018-01-01", "period_to": "2018-06-30",
                "body": "hlhpn", "kind": "scrap_collection", "title": "Thu gom phế liệu",
                "measures": [{"measure": "group", "quantity": 251}, {"measure": "vnd", "quantity": "250.4"}]}
    refused = await support.call("POST", "/support/activities", DISTRICT_A_OFFICER, json=activity)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "measures.1.quantity"
    activity["measures"][1]["quantity"] = 250_400_000
    assert (await support.call("POST", "/support/activities", DISTRICT_A_OFFICER, json=activity)).status_code == 201
