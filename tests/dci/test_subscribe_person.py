"""DCI subscriptions naming one person by citizen ID: found through the keyed search hash (never by
decrypting), only within the client's scope (a person elsewhere and a person who does not exist are
refused alike), notified when that person's household changes status or that person's membership
changes — and never of anyone else."""

from __future__ import annotations

from typing import Any

import httpx

from tests.dci.conftest import Receiver, register_client
from tests.dci.subscribing import attr_of, criteria, event_of, make_poor, notifications, subscribe
from tests.kit import fetch
from tests.registry.households_helpers import (
    HOME,
    OTHER_COMMUNE,
    OTHER_COMMUNE_CODE,
    citizen_id,
    commune_officer,
    household_body,
)


async def _household(client: httpx.AsyncClient, commune_code: str = "07702",
                     headers: dict[str, str] | None = None) -> tuple[dict[str, Any], list[str]]:
    """A registered household and its members' citizen IDs (head first)."""
    body = household_body(commune_code=commune_code, members=2)
    response = await client.post("/registry/households", json=body, headers=headers or commune_officer())
    assert response.status_code == 201, response.text
    return response.json(), [m["citizen_id"] for m in body["members"]]


def _person(event_type: str, reference_id: str, number: str) -> dict[str, Any]:
    return criteria(event_type, reference_id, {"type": "NationalID", "value": number}, filter_type="idtype-value")


async def test_a_person_subscription_is_bound_to_the_scope_and_hears_only_of_that_person(
        dci_client: httpx.AsyncClient, receiver: Receiver, registry_db: str) -> None:
    await register_client(dci_client, "bhxh", callback_urls=[receiver.url])
    mine, (_, person) = await _household(dci_client)
    neighbour, (_, stranger) = await _household(dci_client)
    _, (_, foreigner) = await _household(dci_client, OTHER_COMMUNE_CODE, commune_officer(OTHER_COMMUNE))
    nobody = citizen_id()
    answer = await subscribe(dci_client, "bhxh", HOME, [
        _person("status_changed", "status", person),
        _person("member_changed", "membership", person),
        _person("status_changed", "foreigner", foreigner),
        _person("status_changed", "nobody", nobody),
        _person("household_registered", "wrong-event", person),
        _person("status_changed", "not-a-number", "12345")], receiver)
    items = {r["reference_id"]: r for r in answer["message"]["subscribe_response"]}
    assert {k: (r["status"], r.get("status_reason_code")) for k, r in items.items()} == {
        "status": ("succ", None), "membership": ("succ", None),
        "foreigner": ("rjct", "rjct.person_id.invalid"), "nobody": ("rjct", "rjct.person_id.invalid"),
        "wrong-event": ("rjct", "rjct.notify_types.invalid"), "not-a-number": ("rjct", "rjct.person_id.invalid")}
    # Someone in another commune and someone who does not exist get the same answer, word for word.
    assert items["foreigner"]["status_reason_message"] == items["nobody"]["status_reason_message"]
    shown = items["status"]["subscriptions"][0]
    assert shown["filter_type"] == "idtype-value" and shown["filter"]["value"] == person[:4] + "******" + person[-2:]
    # The number is neither sent back nor kept in clear.
    assert person not in str(answer)
    stored = await fetch(registry_db, "SELECT filter::text AS f FROM dci_subscriptions")
    assert len(stored) == 2 and not any(person in r["f"] for r in stored)
    codes = {k: items[k]["subscriptions"][0]["code"] for k in ("status", "membership")}

    # Another person's household changes status, then the person's own: one notification, the person's.
    await make_poor(dci_client, neighbour)
    await make_poor(dci_client, mine)
    [changed] = await notifications(receiver, 1)
    assert event_of(changed)["reference_id"] == codes["status"]
    record = event_of(changed)["data"]["reg_records"]
    assert record["group_identifier"][0]["identifier_value"] == mine["id"]
    assert attr_of(record, "poverty_status") == "poor"
    receiver.received.clear()

    # Someone else joins the person's household (a membership change, not the person's), then the
    # person's own member record changes, then the person leaves: two notifications, both the person's.
    url = f"/registry/households/{mine['id']}"
    joined = await dci_client.post(f"{url}/members", headers=commune_officer() | {"If-Match": "*"}, json={
        "full_name": "Nguyễn Văn Bé", "citizen_id": citizen_id(), "relation": "child", "sex": "male"})
    assert joined.status_code == 201, joined.text
    member_id = next(m["id"] for m in mine["members"] if not m["is_head"])
    renamed = await dci_client.patch(f"{url}/members/{member_id}", json={"full_name": "Nguyễn Thị Lan Anh"},
                                     headers=commune_officer() | {"If-Match": "*"})
    assert renamed.status_code == 200, renamed.text
    left = await dci_client.delete(f"{url}/members/{member_id}", params={"reason": "chuyển đi Hà Nội"},
                                   headers=commune_officer() | {"If-Match": "*"})
    assert left.status_code == 200, left.text
    found = await notifications(receiver, 2)
    assert [event_of(m)["reference_id"] for m in found] == [codes["membership"]] * 2
    assert [event_of(m)["data"]["reg_event_type"] for m in found] == ["member_changed"] * 2
    assert {event_of(m)["data"]["reg_records"]["group_identifier"][0]["identifier_value"] for m in found} \
        == {mine["id"]}
    receiver.received.clear()

    # A new household is registered without the person, then one with the person as a member (joining
    # a household is a membership change): one notification, the second household.
    await _household(dci_client)
    body = household_body(members=2)
    body["members"][1]["citizen_id"] = person
    joined_new = await dci_client.post("/registry/households", json=body, headers=commune_officer())
    assert joined_new.status_code == 201, joined_new.text
    [moved] = await notifications(receiver, 1)
    assert event_of(moved)["reference_id"] == codes["membership"]
    assert event_of(moved)["data"]["reg_event_type"] == "member_changed"
    assert event_of(moved)["data"]["reg_records"]["group_identifier"][0]["identifier_value"] \
        == joined_new.json()["id"]
    # The person's households are the only ones any notification told this client about.
    logged = await fetch(registry_db, "SELECT DISTINCT unnest(household_ids)::text AS id FROM dci_access_log")
    assert {r["id"] for r in logged} == {mine["id"], joined_new.json()["id"]}
