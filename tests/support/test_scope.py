"""Officers of another commune, district or province can neither read nor change a commune's
deliveries: by id, by query, by body; and nothing changes after the refusals."""

from __future__ import annotations

from typing import Any

from tests.kit import fetch
from tests.support.conftest import (
    A0,
    DISTRICT_A_OFFICER,
    FOREIGN,
    OFFICER_A0,
    PROVINCE_OFFICER,
    Support,
    housing_repair,
)


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
             "fields": {"category": "education", "measures": ["vnd", "portion"], "eligible": ["poor"],
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
