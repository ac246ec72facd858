"""A household delivery's `member_ids` must be members of that household as the registry's events
told support (registered / updated, an import's batch items): a clear 422 naming the field and the
id otherwise, nothing stored."""

from __future__ import annotations

import uuid

from shared.events import Event
from tests.support.conftest import (
    A0,
    B0,
    DISTRICT_A_OFFICER,
    OFFICER_A0,
    Support,
    assessed,
    household_event,
    housing_repair,
)


async def _household(support: Support, unit_path: str, members: list[str] | None) -> str:
    household = str(uuid.uuid4())
    event = household_event(household, unit_path, "poor")
    if members is None:
        del event.payload["member_ids"]  # an event written before the registry listed members
    else:
        event.payload["member_ids"] = members
    await support.publish([event])
    await support.wait_version(household, 1)
    return household


async def _stored(support: Support) -> tuple[int, int, int]:
    return (await support.count("deliveries"), await support.count("delivery_history"),
            await support.delivery_events())


async def test_named_members_must_belong_to_the_household(support: Support) -> None:
    head, child, grandchild = (str(uuid.uuid4()) for _ in range(3))
    household = await _household(support, A0, [head, child, grandchild])
    stranger = str(uuid.uuid4())
    await _household(support, B0, [stranger])  # a member of a household of another commune

    ok = await support.call("POST", "/support/deliveries", OFFICER_A0,
                            json=housing_repair(household, member_ids=[head, child]))
    assert ok.status_code == 201, ok.text
    assert ok.json()["member_ids"] == [head, child] and ok.json()["persons"] == 2
    before = await _stored(support)

    for named, field, words in (([head, stranger], "member_ids.1", stranger),
                                ([str(uuid.uuid4())], "member_ids.0", "not a current member"),
                                ([child, child], "member_ids.1", "named twice")):
        refused = await support.call("POST", "/support/deliveries", OFFICER_A0,
                                     json=housing_repair(household, member_ids=named))
        assert refused.status_code == 422 and refused.json()["code"] == "validation_error", refused.text
        [error] = refused.json()["errors"]
        assert error["field"] == field and words in error["reason"], error
    # A correction is checked the same way and changes nothing when refused.
    url = f"/support/deliveries/{ok.json()['id']}"
    patched = await support.call("PATCH", url, OFFICER_A0, json={"member_ids": [stranger]},
                                 headers={"If-Match": '"1"'})
    assert patched.status_code == 422 and patched.json()["errors"][0]["field"] == "member_ids.0"
    assert stranger in patched.json()["errors"][0]["reason"]
    assert await _stored(support) == before
    again = (await support.call("GET", url, OFFICER_A0)).json()
    assert again["version"] == 1 and again["member_ids"] == [head, child]

    # The registry removes the grandchild (an update listing the members left); an assessment, which
    # lists none, keeps them.
    await support.publish([household_event(household, A0, "poor", version=2, type_="registry.household.updated",
                                           member_ids=[head, child]),
                           assessed(household, A0, 2024, "poor", "poor", "stayed", 3)])
    await support.wait_version(household, 3)
    gone = await support.call("POST", "/support/deliveries", OFFICER_A0,
                              json=housing_repair(household, member_ids=[grandchild]))
    assert gone.status_code == 422 and grandchild in gone.json()["errors"][0]["reason"]
    fixed = await support.call("PATCH", url, OFFICER_A0, json={"member_ids": [child]}, headers={"If-Match": '"1"'})
    assert fixed.status_code == 200 and fixed.json()["member_ids"] == [child]
    assert await _stored(support) == (before[0], before[1] + 1, before[2] + 1)


async def test_members_not_yet_told_and_members_of_an_imported_household(support: Support) -> None:
    unknown = await _household(support, A0, None)
    refused = await support.call("POST", "/support/deliveries", OFFICER_A0,
                                 json=housing_repair(unknown, member_ids=[str(uuid.uuid4())]))
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "member_ids"
    assert "has not yet told" in refused.json()["errors"][0]["reason"]
    assert await support.count("deliveries") == 0
    unnamed = await support.call("POST", "/support/deliveries", OFFICER_A0, json=housing_repair(unknown))
    assert unnamed.status_code == 201  # naming no member needs no member list

    # The registry's bulk import writes no `registered` event: its batch items list the head.
    imported, head = str(uuid.uuid4()), str(uuid.uuid4())
    item = {**assessed(imported, A0, 2024, "poor", None, "newly_poor", 1).payload, "version": 1, "unit_path": A0,
            "household_code": "NQ-0001", "member_ids": [head]}
    await support.publish([Event(type="registry.household.assessed_batch", producer="registry",
                                 subject_id=str(uuid.uuid4()), unit_code="07207", unit_path=A0,
                                 payload={"items": [item]})])
    await support.wait_version(imported, 1)
    # Not yet recognised (its status is null until a review), so housing support is an exception here:
    # the members are checked all the same.
    stranger = await support.call("POST", "/support/deliveries", DISTRICT_A_OFFICER,
                                  json=housing_repair(imported, member_ids=[str(uuid.uuid4())],
                                                      override_reason="Hộ mới nhập, chờ bình xét"))
    assert stranger.status_code == 422 and stranger.json()["errors"][0]["field"] == "member_ids.0"
    named = await support.call("POST", "/support/deliveries", DISTRICT_A_OFFICER,
                               json=housing_repair(imported, member_ids=[head],
                                                   override_reason="Hộ mới nhập, chờ bình xét"))
    assert named.status_code == 201, named.text
    assert named.json()["eligibility_exception"] is True and named.json()["household_status"] is None
    history = (await support.call("GET", f"/support/households/{imported}/deliveries", OFFICER_A0)).json()
    assert [d["member_ids"] for d in history["items"]] == [[head]]
