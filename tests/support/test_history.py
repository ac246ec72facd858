"""Every change of a sponsorship, a body activity and a catalogue entry is kept (who, when, why, the
fields before and after), written with the change; a refused change writes none; the history is read
under the item's own scope rule (other commune, district, province: 404, as for the item)."""

from __future__ import annotations

from typing import Any

from services.support.catalogue.service import load_file, read_file
from shared.db import Database
from tests.support.conftest import (
    A0,
    DISTRICT_A_OFFICER,
    FOREIGN,
    OFFICER_A0,
    OFFICER_B0,
    OTHER_PROVINCE,
    PROVINCE_OFFICER,
    Support,
)


async def _history(support: Support, url: str, principal: Any = OFFICER_A0) -> list[dict[str, Any]]:
    answer = await support.call("GET", f"{url}/history", principal)
    return _items(answer)


async def _entry_history(support: Support, catalogue: str, entry: str, principal: Any = OFFICER_A0
                         ) -> list[dict[str, Any]]:
    return _items(await support.call("GET", "/support/catalogue/history", principal,
                                     params={"catalogue": catalogue, "entry": entry}))


def _items(answer: Any) -> list[dict[str, Any]]:
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["total"] == len(body["items"])
    return list(body["items"])


async def test_a_sponsorship_s_start_and_end_are_kept_with_who_when_why(support: Support) -> None:
    first, second = await support.household(A0, "poor"), await support.household(A0, "poor")
    pairing = {"unit": "07207", "hierarchy": "v2008", "kind": "monthly_rice", "helper_kind": "enterprise",
               "helper_name": "Công ty CP Lương thực Bắc Giang", "household_ids": [first, second],
               "started_on": "2024-01-01", "commitment": [{"measure": "kg", "quantity": 10, "per": "month"}]}
    made = await support.call("POST", "/support/sponsorships", OFFICER_A0, json=pairing)
    assert made.status_code == 201, made.text
    url = f"/support/sponsorships/{made.json()['id']}"
    [started] = await _history(support, url)
    assert started["version"] == 1 and started["action"] == "started" and started["before"] is None
    assert started["actor_id"] == OFFICER_A0.id and started["actor_role"] == "commune_officer"
    assert started["after"]["household_ids"] == [first, second] and started["after"]["status"] == "active"
    assert started["after"]["started_on"] == "2024-01-01"
    assert started["after"]["commitment"] == [{"measure": "kg", "quantity": "10", "per": "month",
                                               "per_household": True}]

    # A refused end (a date before the start; a stale ETag) writes nothing.
    early = await support.call("POST", f"{url}/end", OFFICER_A0, json={"ended_on": "2023-12-01", "reason": "Sai"},
                               headers={"If-Match": '"1"'})
    assert early.status_code == 422
    stale = await support.call("POST", f"{url}/end", OFFICER_A0, json={"ended_on": "2024-03-15", "reason": "Sai"},
                               headers={"If-Match": '"7"'})
    assert stale.status_code == 412
    assert await support.count("sponsorship_history") == 1

    ended = await support.call("POST", f"{url}/end", OFFICER_A0,
                               json={"ended_on": "2024-03-15", "reason": "Doanh nghiệp tạm dừng"},
                               headers={"If-Match": '"1"'})
    assert ended.status_code == 200, ended.text
    again = await support.call("POST", f"{url}/end", OFFICER_A0, json={"ended_on": "2024-03-15", "reason": "Lại"},
                               headers={"If-Match": '"2"'})
    assert again.status_code == 409
    history = await _history(support, url, DISTRICT_A_OFFICER)  # the district reads its communes' too
    assert [(h["version"], h["action"]) for h in history] == [(1, "started"), (2, "ended")]
    assert history[1]["reason"] == "Doanh nghiệp tạm dừng"
    assert history[1]["before"] == {"status": "active", "ended_on": None, "end_reason": None}
    assert history[1]["after"] == {"status": "ended", "ended_on": "2024-03-15", "end_reason": "Doanh nghiệp tạm dừng"}

    # Another commune, district or province: the history is as unknown as the sponsorship.
    for officer in FOREIGN:
        missing = await support.call("GET", f"{url}/history", officer)
        assert missing.status_code == 404 and missing.json()["code"] == "not_found", officer.scope_paths
    unknown = await support.call("GET", "/support/sponsorships/0193a000-0000-7000-8000-000000000000/history",
                                 OFFICER_A0)
    assert unknown.status_code == 404


async def test_an_activity_s_record_and_void_are_kept(support: Support) -> None:
    training = {"unit": "213", "hierarchy": "v2008", "body": "hlhpn", "kind": "training",
                "title": "Tập huấn khởi sự kinh doanh", "period_from": "2024-01-01", "period_to": "2024-06-30",
                "measures": [{"measure": "session", "quantity": 191}, {"measure": "person", "quantity": 1549}]}
    made = await support.call("POST", "/support/activities", DISTRICT_A_OFFICER, json=training)
    assert made.status_code == 201, made.text
    url = f"/support/activities/{made.json()['id']}"
    voided = await support.call("POST", f"{url}/void", DISTRICT_A_OFFICER, json={"reason": "Ghi trùng"},
                                headers={"If-Match": '"1"'})
    assert voided.status_code == 200
    twice = await support.call("POST", f"{url}/void", DISTRICT_A_OFFICER, json={"reason": "Ghi trùng"},
                               headers={"If-Match": '"2"'})
    assert twice.status_code == 409
    history = await _history(support, url, DISTRICT_A_OFFICER)
    assert [(h["version"], h["action"], h["actor_id"]) for h in history] == [
        (1, "recorded", DISTRICT_A_OFFICER.id), (2, "voided", DISTRICT_A_OFFICER.id)]
    assert history[0]["after"]["measures"] == [{"measure": "session", "quantity": "191"},
                                               {"measure": "person", "quantity": "1549"}]
    assert history[0]["after"]["period_to"] == "2024-06-30" and history[0]["after"]["status"] == "recorded"
    assert history[1]["before"] == {"status": "recorded", "void_reason": None}
    assert history[1]["after"] == {"status": "voided", "void_reason": "Ghi trùng"}
    assert history[1]["reason"] == "Ghi trùng"
    assert len(await _history(support, url, PROVINCE_OFFICER)) == 2
    # A commune of the district does not see the district's own activity, nor do other units.
    for officer in (OFFICER_A0, OFFICER_B0, *FOREIGN):
        assert (await support.call("GET", f"{url}/history", officer)).status_code == 404, officer.scope_paths


async def test_a_catalogue_entry_s_changes_are_kept_and_read_by_every_reader(support: Support) -> None:
    # The set-up's data file added the seeded entries.
    [seeded] = await _entry_history(support, "programme", "housing_new")
    assert seeded["action"] == "added" and seeded["actor_id"] == "bootstrap" and seeded["version"] == 1
    assert seeded["after"]["fields"]["category"] == "housing"

    entry: dict[str, Any] = {"catalogue": "programme", "entry": "school_meals", "name": "Hỗ trợ bữa ăn bán trú",
                             "fields": {"category": "education", "measures": ["portion"], "eligible": ["poor"],
                                        "owner_level": "province", "active_from": "2024-09-01"}}
    assert (await support.call("POST", "/support/catalogue", PROVINCE_OFFICER, json=entry)).status_code == 201
    renamed = {**entry, "name": "Hỗ trợ bữa ăn trưa bán trú", "active": False}
    refused = await support.call("POST", "/support/catalogue", OFFICER_A0, json=renamed, headers={"If-Match": '"1"'})
    assert refused.status_code == 403
    bad = await support.call("POST", "/support/catalogue", PROVINCE_OFFICER, headers={"If-Match": '"1"'},
                             json={**renamed, "fields": {**entry["fields"], "measures": ["bowl"]}})
    assert bad.status_code == 422
    changed = await support.call("POST", "/support/catalogue", PROVINCE_OFFICER, json=renamed,
                                 headers={"If-Match": '"1"'})
    assert changed.status_code == 200, changed.text
    # Any reader who sees the entry: the province's own officers (another province does not see it: 404).
    history = await _entry_history(support, "programme", "school_meals", OFFICER_B0)
    assert history == await _entry_history(support, "programme", "school_meals", PROVINCE_OFFICER)
    foreign = await support.call("GET", "/support/catalogue/history", OTHER_PROVINCE,
                                 params={"catalogue": "programme", "entry": "school_meals"})
    assert foreign.status_code == 404
    assert [(h["version"], h["action"], h["actor_id"]) for h in history] == [
        (1, "added", PROVINCE_OFFICER.id), (2, "changed", PROVINCE_OFFICER.id)]
    assert history[1]["before"] == {"name": "Hỗ trợ bữa ăn bán trú", "active": True}
    assert history[1]["after"] == {"name": "Hỗ trợ bữa ăn trưa bán trú", "active": False}

    # Loading the data file again changes nothing and keeps nothing new; a changed file is kept.
    db = Database(support.db_url, pool_size=1)
    try:
        async with db.system_session() as session:
            assert await load_file(session) == 0
        before = await support.count("catalogue_history")
        data = read_file()
        data["programmes"] = [dict(p, name="Hỗ trợ nhà ở (sửa)") if p["code"] == "housing_repair" else p
                              for p in data["programmes"]]
        async with db.system_session() as session:
            assert await load_file(session, data) == 1
    finally:
        await db.dispose()
    assert await support.count("catalogue_history") == before + 1
    last = (await _entry_history(support, "programme", "housing_repair"))[-1]
    assert (last["action"], last["actor_id"], last["version"]) == ("changed", "bootstrap", 2)
    assert last["after"] == {"name": "Hỗ trợ nhà ở (sửa)"}

    for catalogue, entry, status in (("programme", "no_such_entry", 404), ("body", "housing_new", 404),
                                     ("nothing", "housing_new", 422), ("programme", "Housing New", 422)):
        answer = await support.call("GET", "/support/catalogue/history", OFFICER_A0,
                                    params={"catalogue": catalogue, "entry": entry})
        assert answer.status_code == status, (catalogue, entry, answer.text)
