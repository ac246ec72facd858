"""Officers of another commune, district or province can neither read nor change a commune's
deliveries: by id, by query, by body; and nothing changes after the refusals."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from services.support import bootstrap
from services.support.imports.rules import COLUMNS as IMPORT_COLUMNS
from tests.kit import fetch, make_principal
from tests.reporting.registry_events import PROVINCE
from tests.support.conftest import (
    A0,
    DISTRICT_A_OFFICER,
    FOREIGN,
    OFFICER_A0,
    OTHER_PROVINCE,
    PROVINCE_OFFICER,
    Support,
    assessed,
    household_event,
    housing_repair,
)

NATIONAL_ADMIN = make_principal("admin", ["v2008", "v2025"])


async def _state(support: Support) -> list[Any]:
    return [tuple(r) for r in await fetch(support.db_url, "SELECT id, version, status, amount_vnd FROM deliveries "
                                                          "ORDER BY id")] + [await support.delivery_events()]


async def test_foreign_officers_cannot_reach_a_commune_s_delivery(support: Support) -> None:
    household = await support.household(A0, "poor")
    created = (await support.call("POST", "/support/deliveries", OFFICER_A0, json=housing_repair(household))).json()
    url = f"/support/deliveries/{created['id']}"
    before = await _state(support)
    for officer in FOREIGN:
        assert (await support.call("GET", url, officer)).status_code == 404
        assert (await support.call("GET", f"{url}/history", officer)).status_code == 404
        patch = await support.call("PATCH", url, officer, json={"note": "x"}, headers={"If-Match": "*"})
        assert patch.status_code == 404
        void = await support.call("POST", f"{url}/void", officer, json={"reason": "xyz"}, headers={"If-Match": "*"})
        assert void.status_code == 404
        assert (await support.call("GET", f"/support/households/{household}/deliveries", officer)).status_code == 404
        # A delivery to the foreign household by body.
        foreign = await support.call("POST", "/support/deliveries", officer, json=housing_repair(household))
        assert foreign.status_code == 404
        # Lists and filters.
        listed = (await support.call("GET", "/support/deliveries", officer)).json()
        assert created["id"] not in str(listed) and listed["total"] == 0
        by_household = (await support.call("GET", "/support/deliveries", officer,
                                           params={"household_id": household})).json()
        assert by_household["total"] == 0
        named = await support.call("GET", "/support/deliveries", officer, params={"unit": "07207"})
        assert named.status_code == 404
        totals = await support.call("GET", "/support/deliveries/totals", officer, params={"unit": "07207"})
        assert totals.status_code == 404
        own = (await support.call("GET", "/support/deliveries/totals", officer, params={"year": 2024})).json()
        assert own["programmes"] == []
        aggregate = await support.call("POST", "/support/deliveries/aggregate", officer, json={
            "unit": "07207", "hierarchy": "v2008", "programme": "tet_gifts", "delivered_on": "2024-02-01",
            "households": 10, "quantities": [{"measure": "portion", "quantity": 10}], "body": "mttq"})
        assert aggregate.status_code == 403
    assert await _state(support) == before
    # The commune's own officers, and those above it, still reach it.
    for officer in (OFFICER_A0, DISTRICT_A_OFFICER, PROVINCE_OFFICER):
        assert (await support.call("GET", url, officer)).status_code == 200
        listed = (await support.call("GET", "/support/deliveries", officer, params={"unit": "07207"})).json()
        assert listed["total"] == 1


async def test_the_catalogue_is_read_by_all_and_changed_by_province_officers_only(support: Support) -> None:
    programmes = (await support.call("GET", "/support/catalogue", OFFICER_A0, params={"catalogue": "programme"})).json()
    housing = next(p for p in programmes if p["entry"] == "housing_new")
    assert [s["value"] for s in housing["fields"]["standards"]] == [40_000_000, 60_000_000]
    entry: dict[str, Any] = {"catalogue": "programme", "entry": "school_meals", "name": "Hỗ trợ bữa ăn bán trú",
             "fields": {"category": "education", "measures": ["portion"], "eligible": ["poor"],
                        "owner_level": "province", "active_from": "2024-09-01"}}
    assert (await support.call("POST", "/support/catalogue", OFFICER_A0, json=entry)).status_code == 403
    bad = await support.call("POST", "/support/catalogue", PROVINCE_OFFICER,
                             json={**entry, "fields": {**entry["fields"], "measures": ["bowl"]}})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "fields.measures"
    made = await support.call("POST", "/support/catalogue", PROVINCE_OFFICER, json=entry)
    assert made.status_code == 201 and made.headers["ETag"] == '"1"'
    renamed = {**entry, "name": "Hỗ trợ bữa ăn trưa bán trú"}
    assert (await support.call("POST", "/support/catalogue", PROVINCE_OFFICER, json=renamed)).status_code == 428
    changed = await support.call("POST", "/support/catalogue", PROVINCE_OFFICER, json=renamed,
                                 headers={"If-Match": '"1"'})
    assert changed.status_code == 200 and changed.json()["version"] == 2
    events = [e for e in await support.events("support.catalogue.changed")
              if e["subject_id"] == "programme:school_meals"]
    assert [e["version"] for e in events] == [1, 2] and events[1]["payload"]["name"] == "Hỗ trợ bữa ăn trưa bán trú"
    assert made.json()["owner_path"] == PROVINCE


async def _catalogue_state(support: Support) -> list[Any]:
    rows = await fetch(support.db_url, "SELECT catalogue, code, name, active, version, fields::text, owner_path "
                                       "FROM catalogue ORDER BY catalogue, code")
    return [tuple(r) for r in rows] + [len(await support.events("support.catalogue.changed"))]


async def test_only_the_owner_changes_a_catalogue_entry(support: Support) -> None:
    """National entries (the data file's) by the national level only; a province's own entry by that
    province's officers only; a refusal changes nothing."""
    housing = next(e for e in (await support.call("GET", "/support/catalogue", OFFICER_A0,
                                                  params={"catalogue": "programme"})).json()
                   if e["entry"] == "housing_new")
    assert housing["owner_path"] is None
    national = {k: housing[k] for k in ("catalogue", "entry", "name", "fields")}
    own: dict[str, Any] = {"catalogue": "programme", "entry": "school_meals", "name": "Hỗ trợ bữa ăn bán trú",
                           "fields": {"category": "education", "measures": ["portion"], "eligible": ["poor"],
                                      "owner_level": "province", "active_from": "2024-09-01"}}
    assert (await support.call("POST", "/support/catalogue", PROVINCE_OFFICER, json=own)).status_code == 201
    # A province's entry cannot claim to be a central programme.
    central = {**own, "entry": "province_central", "fields": {**own["fields"], "owner_level": "central"}}
    refused = await support.call("POST", "/support/catalogue", PROVINCE_OFFICER, json=central)
    assert refused.status_code == 403 and refused.json()["field"] == "fields.owner_level"
    before = await _catalogue_state(support)
    for officer, body, status in ((PROVINCE_OFFICER, national, 403), (OTHER_PROVINCE, national, 403),
                                  (OTHER_PROVINCE, own, 409)):  # another province's entry: only "code taken"
        for change in ({"name": "Đổi tên"}, {"active": False}):
            answer = await support.call("POST", "/support/catalogue", officer, json={**body, **change},
                                        headers={"If-Match": '"1"'})
            assert answer.status_code == status, (officer.role, body["entry"], change)
    assert await _catalogue_state(support) == before
    # The owners can.
    renamed = await support.call("POST", "/support/catalogue", NATIONAL_ADMIN, json={**national, "name": "Xây mới"},
                                 headers={"If-Match": f'"{housing["version"]}"'})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Xây mới"
    stopped = await support.call("POST", "/support/catalogue", PROVINCE_OFFICER, json={**own, "active": False},
                                 headers={"If-Match": '"1"'})
    assert stopped.status_code == 200 and stopped.json()["active"] is False


async def test_the_bootstrap_keeps_an_officer_s_edit_and_adds_what_is_missing(support: Support) -> None:
    """`make run` runs the bootstrap again: it must not undo what officers changed in the catalogue."""
    housing = next(e for e in (await support.call("GET", "/support/catalogue", OFFICER_A0,
                                                  params={"catalogue": "programme"})).json()
                   if e["entry"] == "housing_new")
    fields = {**housing["fields"], "standards": housing["fields"]["standards"][:1]}
    edited = await support.call("POST", "/support/catalogue", NATIONAL_ADMIN, headers={"If-Match": '"1"'},
                                json={"catalogue": "programme", "entry": "housing_new", "name": "Xây nhà mới",
                                      "fields": fields})
    assert edited.status_code == 200
    await fetch(support.db_url, "DELETE FROM catalogue WHERE catalogue = 'measure' AND code = 'blanket'")
    events = len(await support.events("support.catalogue.changed"))
    await bootstrap.run(support.db_url)
    after = {(e["catalogue"], e["entry"]): e for e in (await support.call(
        "GET", "/support/catalogue", OFFICER_A0, params={"include_inactive": True})).json()}
    kept = after[("programme", "housing_new")]
    assert kept["name"] == "Xây nhà mới" and kept["version"] == 2 and len(kept["fields"]["standards"]) == 1
    assert after[("measure", "blanket")]["name"] == "chăn"  # the missing entry is back
    assert len(await support.events("support.catalogue.changed")) == events + 1  # the blanket only


async def _rows(support: Support) -> list[Any]:
    out = []
    for table in ("activities", "sponsorships", "funds", "deliveries"):
        out.append([tuple(r) for r in await fetch(support.db_url, f"SELECT id, version, status FROM {table} "
                                                                  "ORDER BY id")] if table != "funds" else
                   await support.count("funds"))
    return out + [await support.count("outbox")]


async def test_foreign_officers_reach_no_activity_gap_sponsorship_fund_or_import(support: Support) -> None:
    """Activities, both household gaps, sponsorships, funds and imports of commune A0: another commune of
    its district, another district and another province see none of it and change nothing — by path,
    by query (`unit=`), by body and by an id from elsewhere."""
    household = str(uuid.uuid4())
    await support.publish([household_event(household, A0, "poor")])
    await support.wait_version(household, 1)
    await support.publish([replace(assessed(household, A0, 2024, "near_poor", "poor", "escaped_poverty", 2),
                                   occurred_at=datetime(2024, 12, 1, tzinfo=UTC))])
    await support.wait_version(household, 2)
    late = await support.call("POST", "/support/deliveries", DISTRICT_A_OFFICER, json={
        "household_id": household, "programme": "bhyt_poor", "delivered_on": "2024-12-20",
        "quantities": [{"measure": "card", "quantity": 4}], "body": "bhxh", "override_reason": "Danh sách cũ"})
    assert late.status_code == 201, late.text
    await support.household(A0, "poor")  # without a card: in the health-insurance gap
    activity = await support.call("POST", "/support/activities", OFFICER_A0, json={
        "unit": "07207", "hierarchy": "v2008", "body": "hlhpn", "kind": "training", "title": "Tập huấn",
        "period_from": "2024-01-01", "period_to": "2024-06-30", "measures": [{"measure": "session", "quantity": 3}]})
    assert activity.status_code == 201, activity.text
    pairing = await support.call("POST", "/support/sponsorships", OFFICER_A0, json={
        "unit": "07207", "hierarchy": "v2008", "kind": "monthly_rice", "helper_kind": "enterprise",
        "helper_name": "Công ty CP Lương thực", "household_ids": [household], "started_on": "2024-01-01",
        "commitment": [{"measure": "kg", "quantity": 10, "per": "month"}]})
    assert pairing.status_code == 201, pairing.text
    out = io.StringIO()
    csv.writer(out).writerows([[title for _, title in IMPORT_COLUMNS],
                               ["07207", f"HH-{household[:6]}", "tet_gifts", "2024-02-02", "portion", "1", "", "",
                                "mttq", "", "", ""]])
    job = await support.call("POST", "/support/imports", OFFICER_A0,
                             files={"file": ("ho-tro.csv", out.getvalue().encode("utf-8-sig"), "text/csv")})
    assert job.status_code == 201, job.text
    ids = {"activity": activity.json()["id"], "sponsorship": pairing.json()["id"], "job": job.json()["id"]}
    before = await _rows(support)
    gaps = ("/support/gaps/health-insurance", "/support/gaps/escaped-still-supported", "/support/gaps/housing")
    for officer in FOREIGN:
        who = officer.role, officer.scope_paths
        for path in ("/support/activities", "/support/sponsorships", *gaps):
            mine = await support.call("GET", path, officer, params={"year": 2024, "review_year": 2024})
            assert mine.status_code == 200 and mine.json()["total"] == 0, (who, path, mine.text)
            named = await support.call("GET", path, officer, params={"unit": "07207", "hierarchy": "v2008"})
            assert named.status_code == 404, (who, path, named.text)
        assert (await support.call("GET", "/support/gaps/health-insurance", officer,
                                   params={"year": 2024})).json()["aggregate_cards"] == 0
        for path in (f"/support/activities/{ids['activity']}", f"/support/sponsorships/{ids['sponsorship']}",
                     f"/support/sponsorships/{ids['sponsorship']}/progress", f"/support/imports/{ids['job']}"):
            assert (await support.call("GET", path, officer)).status_code == 404, (who, path)
        void = await support.call("POST", f"/support/activities/{ids['activity']}/void", officer,
                                  json={"reason": "Ghi nhầm"}, headers={"If-Match": "*"})
        assert void.status_code == 404, who
        end = await support.call("POST", f"/support/sponsorships/{ids['sponsorship']}/end", officer,
                                 json={"ended_on": "2024-06-01", "reason": "Kết thúc"}, headers={"If-Match": "*"})
        assert end.status_code == 404, who
        # By body: a fund, an activity or a sponsorship at the commune; the household named in a body.
        fund = await support.call("POST", "/support/funds", officer, json={"unit": "07207", "hierarchy": "v2008"})
        assert fund.status_code == 403, (who, fund.text)
        listed = await support.call("GET", "/support/sponsorships", officer, params={"household_id": household})
        assert listed.json()["total"] == 0, who
    assert await _rows(support) == before
    # The commune's own officer and those above it reach all of it.
    for officer in (OFFICER_A0, DISTRICT_A_OFFICER, PROVINCE_OFFICER):
        for path in (f"/support/activities/{ids['activity']}", f"/support/sponsorships/{ids['sponsorship']}",
                     f"/support/imports/{ids['job']}"):
            assert (await support.call("GET", path, officer)).status_code == 200, (officer.role, path)
        escaped = await support.call("GET", "/support/gaps/escaped-still-supported", officer,
                                     params={"review_year": 2024, "unit": "07207", "hierarchy": "v2008"})
        assert escaped.json()["total"] == 1, officer.role
