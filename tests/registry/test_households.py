"""Households and members: register, read, change with ETag/If-Match, remove with a reason, history, events."""

from __future__ import annotations

import asyncio

import httpx

from tests.registry.households_helpers import (
    DISTRICT,
    HOME,
    HOME_CODE,
    OTHER_PROVINCE_COMMUNE_CODE,
    URBAN_CODE,
    URBAN_HOME,
    as_,
    citizen_id,
    commune_officer,
    events,
    household_body,
    register,
    scalar,
    table_counts,
)


async def test_registering_a_household_stores_it_with_members_history_and_an_event(
        household_client: httpx.AsyncClient, registry_db: str) -> None:
    response = await household_client.post("/registry/households", json=household_body("HH-1", members=3),
                                           headers=commune_officer())
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["etag"] == '"1"'
    assert response.headers["location"] == f"/registry/households/{body['id']}"
    assert body["unit_path"] == HOME and body["commune_code"] == HOME_CODE
    assert body["area"] == "rural"  # Xã Quỳnh Sơn is a xã
    assert body["member_count"] == 3 and len(body["members"]) == 3
    assert body["head_name"] == "Nguyễn Văn Hùng" and body["members"][0]["is_head"]
    assert body["status"] is None and body["version"] == 1

    got = await household_client.get(f"/registry/households/{body['id']}", headers=commune_officer())
    assert got.status_code == 200 and got.json()["members"] == body["members"]

    history = await household_client.get(f"/registry/households/{body['id']}/history", headers=commune_officer())
    entries = history.json()["items"]
    assert [e["action"] for e in entries] == ["registered"]
    assert entries[0]["after"]["household_code"] == "HH-1" and len(entries[0]["after"]["members"]) == 3

    registered = await events(registry_db, "registry.household.registered")
    assert len(registered) == 1
    event = registered[0]
    assert event["subject_id"] == body["id"] and event["version"] == 1
    assert event["unit_path"] == HOME and event["unit_code"] == HOME_CODE
    assert event["payload"] == {"household_code": "HH-1", "commune_code": HOME_CODE, "village": "Thôn Đông",
                                "member_count": 3, "ethnic_minority": False, "policy_family": False,
                                "social_protection": False, "area": "rural", "status": None,
                                "member_ids": [m["id"] for m in body["members"]]}  # the head first
    assert body["members"][0]["relation"] == "head"


async def test_the_commune_decides_urban_or_rural_and_the_head_decides_ethnic_minority_by_default(
        household_client: httpx.AsyncClient) -> None:
    body = household_body(commune_code=URBAN_CODE)
    body["members"][0]["ethnicity"] = "Tày"
    created = await household_client.post("/registry/households", json=body, headers=commune_officer(URBAN_HOME))
    assert created.status_code == 201, created.text
    assert created.json()["area"] == "urban" and created.json()["ethnic_minority"] is True


async def test_a_household_needs_exactly_one_head_and_valid_people(household_client: httpx.AsyncClient,
                                                                    registry_db: str) -> None:
    before = await table_counts(registry_db)
    two_heads = household_body()
    two_heads["members"][1]["relation"] = "head"
    no_head = household_body()
    no_head["members"][0]["relation"] = "spouse"
    bad_id = household_body()
    bad_id["members"][1]["citizen_id"] = "12345"
    same_id = household_body()
    same_id["members"][1]["citizen_id"] = same_id["members"][0]["citizen_id"]
    future_birth = household_body()
    future_birth["members"][0]["birth_date"] = "2999-01-01"
    for bad in (two_heads, no_head, bad_id, same_id, future_birth, household_body(members=0) | {"members": []},
                household_body(household_code="has space")):
        response = await household_client.post("/registry/households", json=bad, headers=commune_officer())
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"]
    assert await table_counts(registry_db) == before


async def test_commune_must_exist_be_a_commune_and_lie_in_scope(household_client: httpx.AsyncClient,
                                                                registry_db: str) -> None:
    before = await table_counts(registry_db)
    unknown = await household_client.post("/registry/households", json=household_body(commune_code="99999"),
                                          headers=as_("province_officer", "v2008.24"))
    assert unknown.status_code == 404 and unknown.json()["code"] == "unit_not_found"
    foreign = await household_client.post(
        "/registry/households", json=household_body(commune_code=OTHER_PROVINCE_COMMUNE_CODE),
        headers=commune_officer())
    assert foreign.status_code == 403
    assert await table_counts(registry_db) == before


async def test_household_code_is_unique_in_the_commune(household_client: httpx.AsyncClient) -> None:
    await register(household_client, code="HH-DUP")
    again = await household_client.post("/registry/households", json=household_body("HH-DUP"),
                                        headers=commune_officer())
    assert again.status_code == 409 and again.json()["code"] == "household_code_taken"
    elsewhere = await household_client.post("/registry/households", json=household_body("HH-DUP", URBAN_CODE),
                                            headers=commune_officer(URBAN_HOME))
    assert elsewhere.status_code == 201


async def test_a_citizen_id_registered_anywhere_is_refused_naming_the_commune_only_inside_the_callers_scope(
        household_client: httpx.AsyncClient, registry_db: str) -> None:
    first = household_body()
    created = await household_client.post("/registry/households", json=first, headers=commune_officer())
    assert created.status_code == 201
    before = await table_counts(registry_db)
    taken = first["members"][1]["citizen_id"]
    other = household_body(commune_code=URBAN_CODE)
    other["members"][2]["citizen_id"] = taken
    # An officer of another commune learns that the ID is taken, not where nor whose (issue 16, item 12).
    response = await household_client.post("/registry/households", json=other, headers=commune_officer(URBAN_HOME))
    assert response.status_code == 409
    refused = response.json()
    assert refused["code"] == "citizen_id_registered" and "commune_code" not in refused
    assert "another unit" in refused["detail"] and "province" in refused["detail"]
    assert HOME_CODE not in response.text and created.json()["id"] not in response.text
    assert first["members"][1]["full_name"] not in response.text
    # The district above both communes may know which one holds it.
    district = await household_client.post("/registry/households", json=other,
                                           headers=as_("district_officer", DISTRICT))
    assert district.status_code == 409 and district.json()["commune_code"] == HOME_CODE
    assert await table_counts(registry_db) == before
    # Changing a member to the taken ID is refused the same way.
    urban = await household_client.post("/registry/households", json=household_body(commune_code=URBAN_CODE),
                                        headers=commune_officer(URBAN_HOME))
    assert urban.status_code == 201
    before = await table_counts(registry_db)
    member = urban.json()["members"][1]["id"]
    changed = await household_client.patch(f"/registry/households/{urban.json()['id']}/members/{member}",
                                           json={"citizen_id": taken},
                                           headers=commune_officer(URBAN_HOME) | {"If-Match": '"1"'})
    assert changed.status_code == 409 and "commune_code" not in changed.json() and HOME_CODE not in changed.text
    assert await table_counts(registry_db) == before


async def test_idempotency_key_replays_the_first_answer_and_creates_once(household_client: httpx.AsyncClient,
                                                                         registry_db: str) -> None:
    body = household_body()
    headers = commune_officer(principal_id="phone-42") | {"Idempotency-Key": "k-123"}
    first = await household_client.post("/registry/households", json=body, headers=headers)
    second = await household_client.post("/registry/households", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json() and second.headers["idempotent-replayed"] == "true"
    assert second.headers["etag"] == first.headers["etag"]
    assert await scalar(registry_db, "SELECT count(*) FROM households") == 1
    changed = dict(body, village="Thôn Tây")
    reused = await household_client.post("/registry/households", json=changed, headers=headers)
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
    # Keys belong to the principal: another officer's identical key is a new request.
    other = commune_officer(principal_id="phone-43") | {"Idempotency-Key": "k-123"}
    new_body = household_body()
    assert (await household_client.post("/registry/households", json=new_body, headers=other)).status_code == 201
    assert await scalar(registry_db, "SELECT count(*) FROM households") == 2


async def test_a_failed_create_does_not_burn_the_idempotency_key(household_client: httpx.AsyncClient) -> None:
    headers = commune_officer(principal_id="phone-7") | {"Idempotency-Key": "retry-me"}
    bad = household_body(commune_code="99999")
    assert (await household_client.post("/registry/households", json=bad, headers=headers)).status_code == 404
    good = household_body()
    assert (await household_client.post("/registry/households", json=good, headers=headers)).status_code == 201


async def test_patch_needs_if_match_and_refuses_a_stale_version(household_client: httpx.AsyncClient,
                                                               registry_db: str) -> None:
    created = await register(household_client)
    url = f"/registry/households/{created['id']}"
    missing = await household_client.patch(url, json={"village": "Thôn Bắc"}, headers=commune_officer())
    assert missing.status_code == 428 and missing.json()["current_etag"] == '"1"'
    ok = await household_client.patch(url, json={"village": "Thôn Bắc", "policy_family": True},
                                      headers=commune_officer() | {"If-Match": '"1"'})
    assert ok.status_code == 200, ok.text
    assert ok.headers["etag"] == '"2"' and ok.json()["village"] == "Thôn Bắc" and ok.json()["policy_family"]
    stale = await household_client.patch(url, json={"village": "Thôn Nam"},
                                         headers=commune_officer() | {"If-Match": '"1"'})
    assert stale.status_code == 412 and stale.json()["current_etag"] == '"2"'
    got = await household_client.get(url, headers=commune_officer())
    assert got.json()["village"] == "Thôn Bắc" and got.headers["etag"] == '"2"'

    history = (await household_client.get(f"{url}/history", headers=commune_officer())).json()["items"]
    assert history[-1]["action"] == "updated" and history[-1]["version"] == 2
    assert history[-1]["before"] == {"village": "Thôn Đông", "policy_family": False}
    assert history[-1]["after"] == {"village": "Thôn Bắc", "policy_family": True}
    updated = await events(registry_db, "registry.household.updated")
    assert [e["version"] for e in updated] == [2] and updated[0]["payload"]["village"] == "Thôn Bắc"


async def test_a_patch_that_changes_nothing_keeps_the_version(household_client: httpx.AsyncClient,
                                                              registry_db: str) -> None:
    created = await register(household_client)
    same = await household_client.patch(f"/registry/households/{created['id']}", json={"village": "Thôn Đông"},
                                        headers=commune_officer() | {"If-Match": '"1"'})
    assert same.status_code == 200 and same.headers["etag"] == '"1"'
    assert await events(registry_db, "registry.household.updated") == []


async def test_members_are_added_changed_and_removed_under_the_household_etag(household_client: httpx.AsyncClient,
                                                                             registry_db: str) -> None:
    created = await register(household_client, members=2)
    url = f"/registry/households/{created['id']}"
    new_id = citizen_id()
    added = await household_client.post(f"{url}/members", headers=commune_officer() | {"If-Match": '"1"'}, json={
        "full_name": "Nguyễn Văn An", "citizen_id": new_id, "birth_date": "2010-01-01", "sex": "male",
        "relation": "grandchild"})
    assert added.status_code == 201, added.text
    member = added.json()
    assert member["household_version"] == 2 and added.headers["etag"] == '"2"'
    renamed = await household_client.patch(f"{url}/members/{member['id']}", json={"full_name": "Nguyễn Văn Bình"},
                                           headers=commune_officer() | {"If-Match": '"2"'})
    assert renamed.status_code == 200 and renamed.json()["full_name"] == "Nguyễn Văn Bình"
    no_reason = await household_client.delete(f"{url}/members/{member['id']}",
                                              headers=commune_officer() | {"If-Match": '"3"'})
    assert no_reason.status_code == 422
    removed = await household_client.delete(f"{url}/members/{member['id']}", params={"reason": "moved to Hà Nội"},
                                            headers=commune_officer() | {"If-Match": '"3"'})
    assert removed.status_code == 200 and removed.json()["member_count"] == 2 and removed.json()["version"] == 4
    record = (await household_client.get(url, headers=commune_officer())).json()
    assert [m["full_name"] for m in record["members"]] == [m["full_name"] for m in created["members"]]
    history = (await household_client.get(f"{url}/history", headers=commune_officer())).json()["items"]
    actions = [e["action"] for e in history]
    assert actions == ["registered", "member_added", "member_updated", "member_removed"]
    updated = await events(registry_db, "registry.household.updated")
    assert [e["version"] for e in updated] == [2, 3, 4]
    # Each update tells the members after it: the new one while it belongs, not once removed.
    before = [m["id"] for m in created["members"]]
    assert [e["payload"]["member_ids"] for e in updated] == [before + [member["id"]], before + [member["id"]], before]
    # The removed member's citizen ID is free again for another household.
    other = household_body()
    other["members"][1]["citizen_id"] = new_id
    again = await household_client.post("/registry/households", json=other, headers=commune_officer())
    assert again.status_code == 201


async def test_the_head_changes_only_by_naming_a_new_head(household_client: httpx.AsyncClient) -> None:
    created = await register(household_client, members=2)
    url = f"/registry/households/{created['id']}"
    head, child = created["members"]
    cannot_remove = await household_client.delete(f"{url}/members/{head['id']}", params={"reason": "passed away"},
                                                  headers=commune_officer() | {"If-Match": '"1"'})
    assert cannot_remove.status_code == 409 and cannot_remove.json()["code"] == "one_head"
    cannot_promote = await household_client.patch(f"{url}/members/{child['id']}", json={"relation": "head"},
                                                  headers=commune_officer() | {"If-Match": '"1"'})
    assert cannot_promote.status_code == 422
    swapped = await household_client.patch(url, json={"head_member_id": child["id"], "former_head_relation": "parent"},
                                           headers=commune_officer() | {"If-Match": '"1"'})
    assert swapped.status_code == 200, swapped.text
    record = swapped.json()
    assert record["head_name"] == child["full_name"]
    heads = [m for m in record["members"] if m["is_head"]]
    assert [m["id"] for m in heads] == [child["id"]]
    assert next(m for m in record["members"] if m["id"] == head["id"])["relation"] == "parent"


async def test_removing_keeps_the_household_with_its_reason(household_client: httpx.AsyncClient,
                                                            registry_db: str) -> None:
    created = await register(household_client)
    url = f"/registry/households/{created['id']}"
    removed = await household_client.delete(url, params={"reason": "household merged into HH-9"},
                                            headers=commune_officer() | {"If-Match": '"1"'})
    assert removed.status_code == 200 and removed.json()["removed"] is True
    record = (await household_client.get(url, headers=commune_officer())).json()
    assert record["removed"] and record["removed_reason"] == "household merged into HH-9"
    assert len(record["members"]) == 3  # shown as they were
    listed = (await household_client.get("/registry/households", headers=commune_officer())).json()
    assert listed["total"] == 0
    with_removed = await household_client.get("/registry/households", params={"include_removed": "true"},
                                              headers=commune_officer())
    assert with_removed.json()["total"] == 1
    assert await scalar(registry_db, "SELECT count(*) FROM household_members WHERE removed_at IS NULL") == 0
    later = await household_client.patch(url, json={"village": "x"}, headers=commune_officer() | {"If-Match": '"2"'})
    assert later.status_code == 409 and later.json()["code"] == "household_removed"
    removed_events = await events(registry_db, "registry.household.removed")
    assert removed_events[0]["payload"] == {"household_code": created["household_code"],
                                            "reason": "household merged into HH-9"}
    assert removed_events[0]["version"] == 2


async def test_list_filters_by_unit_name_without_diacritics_village_and_flags(
        household_client: httpx.AsyncClient) -> None:
    a = household_body("A-1", policy_family=True)
    a["members"][0]["full_name"] = "Hoàng Thị Đào"
    b = household_body("B-1", village="Thôn Tây")
    c = household_body("C-1", commune_code=URBAN_CODE)
    for body, home in ((a, HOME), (b, HOME), (c, URBAN_HOME)):
        assert (await household_client.post("/registry/households", json=body,
                                            headers=commune_officer(home))).status_code == 201
    district = as_("district_officer", DISTRICT)

    async def codes(**params: str) -> list[str]:
        response = await household_client.get("/registry/households", params=params, headers=district)
        assert response.status_code == 200, response.text
        return [h["household_code"] for h in response.json()["items"]]

    assert await codes() == ["C-1", "A-1", "B-1"]  # ordered by commune path, then code
    assert await codes(unit=HOME_CODE) == ["A-1", "B-1"]
    assert await codes(name="hoang thi dao") == ["A-1"]
    assert await codes(name="ĐÀO") == ["A-1"]
    assert await codes(village="Thôn Tây") == ["B-1"]
    assert await codes(policy_family="true") == ["A-1"]
    page = (await household_client.get("/registry/households", params={"limit": 2, "offset": 2},
                                       headers=district)).json()
    assert page["total"] == 3 and len(page["items"]) == 1 and page["limit"] == 2
    # A commune officer sees only its commune, whatever it asks.
    own = await household_client.get("/registry/households", headers=commune_officer())
    assert {h["commune_code"] for h in own.json()["items"]} == {HOME_CODE}


async def test_concurrent_retries_with_one_key_create_one_household(household_client: httpx.AsyncClient,
                                                                    registry_db: str) -> None:
    body = household_body()
    headers = commune_officer(principal_id="phone-9") | {"Idempotency-Key": "burst"}
    answers = await asyncio.gather(*(household_client.post("/registry/households", json=body, headers=headers)
                                     for _ in range(5)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert await scalar(registry_db, "SELECT count(*) FROM households") == 1
    assert len(await events(registry_db, "registry.household.registered")) == 1


async def test_concurrent_patches_of_one_version_let_exactly_one_win(household_client: httpx.AsyncClient) -> None:
    created = await register(household_client)
    url = f"/registry/households/{created['id']}"
    answers = await asyncio.gather(*(household_client.patch(url, json={"village": f"Thôn {i}"},
                                                            headers=commune_officer() | {"If-Match": '"1"'})
                                     for i in range(4)))
    assert sorted(a.status_code for a in answers) == [200, 412, 412, 412]
    winner = next(a for a in answers if a.status_code == 200).json()["village"]
    assert (await household_client.get(url, headers=commune_officer())).json()["village"] == winner


async def test_an_answer_kept_for_idempotent_replay_holds_no_citizen_id_in_clear(
        household_client: httpx.AsyncClient, registry_db: str) -> None:
    body = household_body(members=2)
    ids = [m["citizen_id"] for m in body["members"]]
    headers = commune_officer(principal_id="phone-77") | {"Idempotency-Key": "with-personal-data"}
    first = await household_client.post("/registry/households", json=body, headers=headers)
    assert first.status_code == 201
    assert sorted(m["citizen_id"] for m in first.json()["members"]) == sorted(ids)  # the officer sees them whole
    stored = await scalar(registry_db, "SELECT response_body FROM idempotency_keys WHERE key = 'with-personal-data'")
    assert isinstance(stored, bytes) and stored
    for citizen in ids:
        assert citizen.encode() not in stored and citizen[4:10].encode() not in stored
    assert b"members" not in stored  # nothing of the answer is readable from a dump
    replay = await household_client.post("/registry/households", json=body, headers=headers)
    assert replay.status_code == 201 and replay.json() == first.json()


async def test_idempotency_keys_past_their_day_are_deleted(household_client: httpx.AsyncClient,
                                                           registry_db: str) -> None:
    for key in ("old", "fresh"):
        headers = commune_officer(principal_id="phone-88") | {"Idempotency-Key": key}
        assert (await household_client.post("/registry/households", json=household_body(),
                                             headers=headers)).status_code == 201
    await scalar(registry_db, "UPDATE idempotency_keys SET created_at = now() - interval '25 hours' "
                              "WHERE key = 'old' RETURNING 1")
    housekeeping = household_client._transport.app.state.housekeeping  # type: ignore[attr-defined]
    assert await housekeeping.run_once() == 1
    assert await scalar(registry_db, "SELECT array_agg(key) FROM idempotency_keys") == ["fresh"]
