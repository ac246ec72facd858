"""Browsing, searching and flagging administrative units through the registry API."""

from __future__ import annotations

import httpx

from services.registry.units.source import read_source
from tests.registry.units_helpers import COMMUNE, DISTRICT, PROVINCE, fetch, headers, unit_events

PROVINCE_OFFICER = ("province_officer", PROVINCE)


async def test_search_by_name_with_or_without_diacritics(registry_client: httpx.AsyncClient) -> None:
    h = headers(*PROVINCE_OFFICER)
    found = {}
    for name in ("Hoàng Văn Thụ", "hoang van thu", "HOANG VAN", "Phường Hoàng Văn Thụ"):
        r = await registry_client.get("/registry/units", params={"name": name}, headers=h)
        assert r.status_code == 200, r.text
        found[name] = [u["path"] for u in r.json()["items"]]
    assert found["Hoàng Văn Thụ"] == found["hoang van thu"] == found["Phường Hoàng Văn Thụ"]
    assert "v2008.24.213.07210" in found["hoang van thu"]
    assert set(found["hoang van thu"]) <= set(found["HOANG VAN"])
    dd = await registry_client.get("/registry/units", params={"name": "đa mai"}, headers=h)
    assert [u["name"] for u in dd.json()["items"]] == ["Phường Đa Mai"]
    wildcard = await registry_client.get("/registry/units", params={"name": "%"}, headers=h)
    assert wildcard.json()["total"] == 0


async def test_list_filters_and_pages(registry_client: httpx.AsyncClient) -> None:
    h = headers(*PROVINCE_OFFICER)
    expected = sorted(u.path for u in read_source().units if u.parent_path == DISTRICT)
    first = (await registry_client.get("/registry/units", params={"parent": "213", "limit": 10}, headers=h)).json()
    assert first["total"] == len(expected) and first["limit"] == 10 and first["offset"] == 0
    assert [u["path"] for u in first["items"]] == expected[:10]
    second = (await registry_client.get("/registry/units", params={"parent": "213", "limit": 10, "offset": 10},
                                        headers=h)).json()
    assert [u["path"] for u in second["items"]] == expected[10:20]
    districts = (await registry_client.get("/registry/units", params={"level": "district", "limit": 100},
                                           headers=h)).json()
    assert districts["total"] == 10 and all(u["parent_code"] == "24" for u in districts["items"])
    by_code = (await registry_client.get("/registry/units", params={"code": "07702"}, headers=h)).json()
    assert [(u["name"], u["area"], u["type"]) for u in by_code["items"]] == [("Xã Quỳnh Sơn", "rural", "xã")]
    bad = await registry_client.get("/registry/units", params={"level": "village"}, headers=h)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "level"


async def test_a_caller_sees_its_scope_and_the_names_of_its_ancestors(registry_client: httpx.AsyncClient) -> None:
    h = headers("commune_officer", COMMUNE)
    listed = (await registry_client.get("/registry/units", params={"limit": 100}, headers=h)).json()
    assert [u["path"] for u in listed["items"]] == [PROVINCE, DISTRICT, COMMUNE]
    province = await registry_client.get("/registry/units/24", headers=h)
    assert province.status_code == 200 and province.json()["name"] == "Tỉnh Bắc Giang"
    children = (await registry_client.get("/registry/units/213/children", headers=h)).json()
    assert [u["path"] for u in children["items"]] == [COMMUNE]
    unit = (await registry_client.get("/registry/units/07207", headers=h)).json()
    assert (unit["name"], unit["level"], unit["urban"], unit["area"], unit["parent_path"]) == (
        "Phường Ngô Quyền", "commune", True, "urban", DISTRICT)
    assert unit["valid_to"] == "2025-06-30" and unit["version"] == 1


async def test_a_reused_code_resolves_to_the_hierarchy_of_the_callers_scope(
        registry_client: httpx.AsyncClient) -> None:
    before = await registry_client.get("/registry/units/24", headers=headers("province_officer", "v2008.24"))
    after = await registry_client.get("/registry/units/24", headers=headers("province_officer", "v2025.24"))
    assert (before.json()["path"], before.json()["name"]) == ("v2008.24", "Tỉnh Bắc Giang")
    assert (after.json()["path"], after.json()["name"]) == ("v2025.24", "Tỉnh Bắc Ninh")
    both = headers("province_officer", "v2008.24", "v2025.24")
    explicit = await registry_client.get("/registry/units/07210", params={"hierarchy": "v2008"}, headers=both)
    assert explicit.json()["name"] == "Phường Hoàng Văn Thụ"
    default = await registry_client.get("/registry/units/07210", headers=both)
    assert default.json()["name"] == "Phường Bắc Giang"
    other = await registry_client.get("/registry/units/07210", params={"hierarchy": "v2025"},
                                      headers=headers("province_officer", "v2008.24"))
    assert other.status_code == 404


async def test_crosswalk_successors_and_predecessors(registry_client: httpx.AsyncClient) -> None:
    old = (await registry_client.get("/registry/units/07210/successors",
                                     headers=headers("district_officer", DISTRICT))).json()
    assert old["direction"] == "successors" and old["total"] == 1
    row = old["items"][0]
    assert (row["old"]["name"], row["new"]["path"], row["new"]["name"], row["partial"]) == (
        "Phường Hoàng Văn Thụ", "v2025.24.07210", "Phường Bắc Giang", False)
    new = (await registry_client.get("/registry/units/07210/successors",
                                     headers=headers("commune_officer", "v2025.24.07210"))).json()
    assert new["direction"] == "predecessors"
    assert {"v2008.24.213.07207", "v2008.24.213.07210"} <= {r["old"]["path"] for r in new["items"]}
    assert {r["new"]["path"] for r in new["items"]} == {"v2025.24.07210"}
    split = [s for s in read_source().successions if s.partial and s.old_path.startswith("v2008.01.")]
    old_path = split[0].old_path
    divided = (await registry_client.get(f"/registry/units/{old_path.rsplit('.', 1)[1]}/successors",
                                         headers=headers("province_officer", "v2008.01"))).json()
    assert divided["total"] >= 2 and all(r["partial"] for r in divided["items"])
    assert {r["new"]["path"] for r in divided["items"]} == {s.new_path for s in split if s.old_path == old_path}
    district = (await registry_client.get("/registry/units/213/successors",
                                          headers=headers("district_officer", DISTRICT))).json()
    expected = [s for s in read_source().successions if s.old_path.startswith(DISTRICT + ".")]
    assert district["total"] == len(expected) > 30
    assert all(r["old"]["path"].startswith(DISTRICT + ".") for r in district["items"])


async def test_province_officer_sets_flags_and_an_event_is_written(
        registry_client: httpx.AsyncClient, registry_db: str) -> None:
    h = headers(*PROVINCE_OFFICER)
    r = await registry_client.patch("/registry/units/07207/flags", headers=h | {"if-match": '"1"'},
                                    json={"difficult_commune": True, "ethnic_minority_area": True})
    assert r.status_code == 200, r.text
    assert (r.json()["difficult_commune"], r.json()["ethnic_minority_area"], r.json()["mountainous"]) == (
        True, True, False)
    assert r.json()["version"] == 2 and r.headers["etag"] == '"2"'
    events = await unit_events(registry_db)
    assert len(events) == 1
    event = events[0]
    assert (event["subject_id"], event["unit_code"], event["version"]) == (COMMUNE, "07207", 2)
    assert event["payload"]["difficult_commune"] is True and event["payload"]["poor_district"] is False
    assert event["payload"]["successors"] == [{"path": "v2025.24.07210", "partial": False}]
    assert (await registry_client.get("/registry/units/07207", headers=h)).json()["difficult_commune"] is True
    again = await registry_client.patch("/registry/units/07207/flags", headers=h | {"if-match": "*"},
                                        json={"difficult_commune": True})
    assert again.json()["version"] == 2 and len(await unit_events(registry_db)) == 1
    district = await registry_client.patch("/registry/units/213/flags", headers=h | {"if-match": '"1"'},
                                           json={"poor_district": True, "mountainous": True})
    assert district.status_code == 200 and district.json()["poor_district"] is True


async def test_bad_flag_requests_change_nothing(registry_client: httpx.AsyncClient, registry_db: str) -> None:
    h = headers(*PROVINCE_OFFICER)
    stale = await registry_client.patch("/registry/units/07207/flags", headers=h | {"if-match": '"7"'},
                                        json={"mountainous": True})
    assert stale.status_code == 412 and stale.json()["current_etag"] == '"1"'
    # RFC 9110: If-Match compares strongly, so a weak tag of the current version does not match.
    weak = await registry_client.patch("/registry/units/07207/flags", headers=h | {"if-match": 'W/"1"'},
                                       json={"mountainous": True})
    assert weak.status_code == 412
    # Like every other write, no If-Match: 428, nothing changed.
    blind = await registry_client.patch("/registry/units/07207/flags", headers=h, json={"mountainous": True})
    assert blind.status_code == 428 and blind.json()["code"] == "precondition_required"
    wrong_level = await registry_client.patch("/registry/units/07207/flags", headers=h | {"if-match": "*"},
                                              json={"poor_district": True})
    assert wrong_level.status_code == 422 and wrong_level.json()["code"] == "flag_not_applicable"
    empty = await registry_client.patch("/registry/units/07207/flags", headers=h, json={})
    assert empty.status_code == 422
    unknown_field = await registry_client.patch("/registry/units/07207/flags", headers=h, json={"poor": True})
    assert unknown_field.status_code == 422
    district_officer = await registry_client.patch("/registry/units/07207/flags", json={"mountainous": True},
                                                   headers=headers("district_officer", DISTRICT))
    assert district_officer.status_code == 403 and district_officer.json()["permission"] == "registry.units.flag"
    missing = await registry_client.patch("/registry/units/99999/flags", headers=h, json={"mountainous": True})
    assert missing.status_code == 404
    row = (await fetch(registry_db, "SELECT version, mountainous, poor_district FROM units WHERE path = $1",
                       COMMUNE))[0]
    assert (row["version"], row["mountainous"], row["poor_district"]) == (1, False, False)
    assert await unit_events(registry_db) == []
