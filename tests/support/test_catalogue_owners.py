"""A unit's own catalogue entries (a province's programme, body, source, activity kind) are used only
within that unit: deliveries, sponsorships, activities and imports elsewhere are refused naming the
field and the owner; other provinces neither see them nor learn more than that the code is taken."""

from __future__ import annotations

import csv
import io
from typing import Any

from services.support import bootstrap
from tests.kit import fetch
from tests.reporting.registry_events import OTHER_COMMUNE
from tests.support.conftest import A0, OFFICER_A0, OTHER_PROVINCE, PROVINCE, PROVINCE_OFFICER, Support
from tests.support.test_imports import HEADERS, _household_code
from tests.support.test_scope import NATIONAL_ADMIN

SCHOOL_MEALS: dict[str, Any] = {
    "catalogue": "programme", "entry": "school_meals", "name": "Hỗ trợ bữa ăn bán trú",
    "fields": {"category": "education", "measures": ["portion"], "eligible": ["poor"], "owner_level": "province",
               "active_from": "2024-09-01"}}


def _meals(unit: str) -> dict[str, Any]:
    return {"unit": unit, "hierarchy": "v2008", "programme": "school_meals", "delivered_on": "2024-10-01",
            "households": 201, "quantities": [{"measure": "portion", "quantity": 4020}], "body": "hlhpn"}


async def _state(support: Support) -> tuple[int, ...]:
    return (await support.count("deliveries"), await support.count("sponsorships"), await support.count("activities"),
            await support.delivery_events())


async def test_a_province_s_own_programme_is_refused_in_another_province_and_used_in_its_own(
        support: Support) -> None:
    assert (await support.call("POST", "/support/catalogue", PROVINCE_OFFICER, json=SCHOOL_MEALS)).status_code == 201
    before = await _state(support)
    refused = await support.call("POST", "/support/deliveries/aggregate", OTHER_PROVINCE, json=_meals("09190"))
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert error["field"] == "programme" and PROVINCE in error["reason"]
    household = await support.household(OTHER_COMMUNE, "poor")
    single = {"household_id": household, "programme": "school_meals", "delivered_on": "2024-10-01",
              "quantities": [{"measure": "portion", "quantity": 20}], "body": "hlhpn"}
    refused = await support.call("POST", "/support/deliveries", OTHER_PROVINCE, json=single)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "programme"
    assert await _state(support) == before
    # Province 24's units use it.
    assert (await support.call("POST", "/support/deliveries/aggregate", OFFICER_A0,
                               json=_meals("07207"))).status_code == 201
    own = await support.household(A0, "poor")
    made = await support.call("POST", "/support/deliveries", OFFICER_A0, json={**single, "household_id": own})
    assert made.status_code == 201, made.text
    # A correction cannot move a delivery of province 27 onto it either.
    national = await support.call("POST", "/support/deliveries", OTHER_PROVINCE, json={
        **single, "programme": "tet_gifts"})
    assert national.status_code == 201, national.text
    moved = await support.call("PATCH", f"/support/deliveries/{national.json()['id']}", OTHER_PROVINCE,
                               json={"programme": "school_meals"}, headers={"If-Match": '"1"'})
    assert moved.status_code == 422 and moved.json()["errors"][0]["field"] == "programme"


async def test_a_province_s_own_body_source_and_activity_kind_are_refused_elsewhere(support: Support) -> None:
    own_entries = [
        {"catalogue": "body", "entry": "cty_bac_giang", "name": "Công ty Bắc Giang", "fields": {"kind": "enterprise"}},
        {"catalogue": "funding_source", "entry": "quy_bac_giang", "name": "Quỹ tỉnh Bắc Giang",
         "fields": {"kind": "other"}},
        {"catalogue": "activity_kind", "entry": "cho_phien", "name": "Chợ phiên", "fields": {"measures": ["session"]}}]
    for entry in own_entries:
        assert (await support.call("POST", "/support/catalogue", PROVINCE_OFFICER, json=entry)).status_code == 201
    household = await support.household(OTHER_COMMUNE, "poor")
    before = await _state(support)
    gifts = {"household_id": household, "programme": "tet_gifts", "delivered_on": "2024-02-01",
             "quantities": [{"measure": "portion", "quantity": 1}], "amount_vnd": 500_000,
             "funding": [{"source": "quy_bac_giang", "amount_vnd": 500_000}], "body": "cty_bac_giang"}
    refused = await support.call("POST", "/support/deliveries", OTHER_PROVINCE, json=gifts)
    assert refused.status_code == 422
    assert {e["field"] for e in refused.json()["errors"]} == {"body", "funding.0.source"}
    sponsorship = {"unit": "09190", "hierarchy": "v2008", "kind": "monthly_rice", "helper_kind": "enterprise",
                   "helper_name": "Công ty", "household_ids": [household], "started_on": "2024-01-01",
                   "body": "cty_bac_giang"}
    refused = await support.call("POST", "/support/sponsorships", OTHER_PROVINCE, json=sponsorship)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "body"
    activity = {"unit": "09190", "hierarchy": "v2008", "body": "cty_bac_giang", "kind": "cho_phien", "title": "Chợ",
                "period_from": "2024-01-01", "period_to": "2024-01-31",
                "measures": [{"measure": "session", "quantity": 2}]}
    refused = await support.call("POST", "/support/activities", OTHER_PROVINCE, json=activity)
    assert refused.status_code == 422
    assert {e["field"] for e in refused.json()["errors"]} == {"body", "kind"}
    assert await _state(support) == before
    # In province 24 they are used.
    ours = await support.household(A0, "poor")
    assert (await support.call("POST", "/support/deliveries", OFFICER_A0,
                               json={**gifts, "household_id": ours})).status_code == 201
    assert (await support.call("POST", "/support/activities", OFFICER_A0,
                               json={**activity, "unit": "07207"})).status_code == 201


async def test_another_province_neither_sees_a_province_s_entry_nor_learns_more_than_its_code_is_taken(
        support: Support) -> None:
    assert (await support.call("POST", "/support/catalogue", PROVINCE_OFFICER, json=SCHOOL_MEALS)).status_code == 201

    async def listed(officer: Any) -> set[str]:
        answer = await support.call("GET", "/support/catalogue", officer, params={"catalogue": "programme"})
        return {e["entry"] for e in answer.json()}

    assert "school_meals" in await listed(OFFICER_A0) and "school_meals" in await listed(PROVINCE_OFFICER)
    assert "school_meals" not in await listed(OTHER_PROVINCE) and "housing_new" in await listed(OTHER_PROVINCE)
    history = await support.call("GET", "/support/catalogue/history", OTHER_PROVINCE,
                                 params={"catalogue": "programme", "entry": "school_meals"})
    assert history.status_code == 404
    for headers in ({}, {"If-Match": '"1"'}):
        taken = await support.call("POST", "/support/catalogue", OTHER_PROVINCE, headers=headers,
                                   json={**SCHOOL_MEALS, "name": "Bữa ăn của tỉnh 27"})
        assert taken.status_code == 409 and taken.json()["code"] == "catalogue_code_taken"
        assert taken.json()["field"] == "entry" and "owner_path" not in taken.json()
        assert PROVINCE not in taken.text and "24" not in taken.json()["detail"]
    [entry] = [e for e in (await support.call("GET", "/support/catalogue", PROVINCE_OFFICER,
                                              params={"catalogue": "programme"})).json()
               if e["entry"] == "school_meals"]
    assert entry["name"] == SCHOOL_MEALS["name"] and entry["version"] == 1


async def test_an_import_reads_only_the_entries_its_caller_s_whole_scope_may_use(support: Support) -> None:
    other_programme = {**SCHOOL_MEALS, "entry": "bac_ninh_meals"}
    assert (await support.call("POST", "/support/catalogue", OTHER_PROVINCE, json=other_programme)).status_code == 201
    assert (await support.call("POST", "/support/catalogue", PROVINCE_OFFICER, json=SCHOOL_MEALS)).status_code == 201
    household = _household_code(await support.household(A0, "poor"))

    def csv_of(rows: list[list[str]]) -> bytes:
        out = io.StringIO()
        csv.writer(out).writerows([HEADERS, *rows])
        return out.getvalue().encode("utf-8-sig")

    rows = [["07207", household, "bac_ninh_meals", "2024-10-01", "portion", "20", "", "", "hlhpn"]]
    refused = await support.call("POST", "/support/imports", OFFICER_A0,
                                 files={"file": ("x.csv", csv_of(rows), "text/csv")})
    assert refused.status_code == 422
    [error] = refused.json()["errors"]
    assert error["column"] == "Mã chương trình" and "v2008.27" not in error["reason"]  # not its to see
    # An admin above province 24 sees school_meals but imports for the whole country: the catalogue is read
    # once per import for the caller's whole scope, so a province's entry is left out, with why.
    rows[0][2] = "school_meals"
    refused = await support.call("POST", "/support/imports", NATIONAL_ADMIN,
                                 files={"file": ("x.csv", csv_of(rows), "text/csv")})
    assert refused.status_code == 422
    [error] = refused.json()["errors"]
    assert error["column"] == "Mã chương trình" and PROVINCE in error["reason"]
    assert await support.count("deliveries") == 0
    money = [["07207", household, "school_meals", "2024-10-01", "vnd", "500000", "", "", "hlhpn"]]
    refused = await support.call("POST", "/support/imports", OFFICER_A0,
                                 files={"file": ("x.csv", csv_of(money), "text/csv")})
    assert refused.status_code == 422  # money goes in the amount column, never as a quantity
    assert [e["column"] for e in refused.json()["errors"]] == ["Đơn vị tính"]
    accepted = await support.call("POST", "/support/imports", OFFICER_A0,
                                  files={"file": ("x.csv", csv_of(rows), "text/csv")})
    assert accepted.status_code == 201, accepted.text
    assert await support.count("deliveries") == 1


async def test_standards_of_one_key_may_not_overlap_in_dates(support: Support) -> None:
    def standard(start: str, end: str | None, value: int) -> dict[str, Any]:
        return {"key": "per_meal", "value": value, "measure": "portion", "valid_from": start, "valid_to": end}

    overlapping = {**SCHOOL_MEALS, "fields": {**SCHOOL_MEALS["fields"], "standards": [
        standard("2024-09-01", "2025-06-30", 15_000), standard("2025-01-01", None, 20_000)]}}
    refused = await support.call("POST", "/support/catalogue", PROVINCE_OFFICER, json=overlapping)
    assert refused.status_code == 422
    [error] = refused.json()["errors"]
    assert error["field"] == "fields.standards" and "overlap" in error["reason"]
    nothing = await support.call("GET", "/support/catalogue/history", PROVINCE_OFFICER, params={
        "catalogue": "programme", "entry": "school_meals"})
    assert nothing.status_code == 404  # nothing stored
    following = {**SCHOOL_MEALS, "fields": {**SCHOOL_MEALS["fields"], "standards": [
        standard("2024-09-01", "2024-12-31", 15_000), standard("2025-01-01", None, 20_000),
        {**standard("2024-09-01", None, 2), "key": "meals_per_day"}]}}
    made = await support.call("POST", "/support/catalogue", PROVINCE_OFFICER, json=following)
    assert made.status_code == 201, made.text


async def test_the_bootstrap_takes_the_money_measure_out_of_a_programme_an_older_file_loaded(
        support: Support) -> None:
    """A database loaded from the older data file (programmes listing `vnd`): `make run`'s bootstrap
    brings the entries nobody edited up to date, the removed measure included, and says so in an event."""
    await fetch(support.db_url, "UPDATE catalogue SET fields = jsonb_set(fields, '{measures}', '[\"vnd\", \"house\"]') "
                                "WHERE catalogue = 'programme' AND code = 'housing_repair'")
    events = len(await support.events("support.catalogue.changed"))
    await bootstrap.run(support.db_url)
    [entry] = [e for e in (await support.call("GET", "/support/catalogue", OFFICER_A0,
                                              params={"catalogue": "programme"})).json()
               if e["entry"] == "housing_repair"]
    assert entry["fields"]["measures"] == ["house"] and entry["version"] == 2
    changed = await support.events("support.catalogue.changed")
    assert len(changed) == events + 1 and changed[-1]["payload"]["measures"] == ["house"]
