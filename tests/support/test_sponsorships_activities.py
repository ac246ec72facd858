"""Sponsorships (helper, households, commitment, deliveries against it) and body activities, with
the events reporting reads and the scope of both."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson

from services.reporting.support.rules import activity_row, sponsorship_row
from shared import clock
from shared.events import Event
from tests.support.conftest import (
    A0,
    A1,
    DISTRICT_A_OFFICER,
    OFFICER_A0,
    OFFICER_A1,
    OFFICER_B0,
    OTHER_PROVINCE,
    Support,
)


def _rice(household: str, day: str, sponsorship: str | None, kg: int = 10) -> dict[str, Any]:
    return {"household_id": household, "programme": "monthly_rice", "delivered_on": day,
            "quantities": [{"measure": "kg", "quantity": kg}], "body": "enterprise",
            "body_detail": "Công ty CP Lương thực Bắc Giang", "sponsorship_id": sponsorship}


async def test_a_sponsorship_its_deliveries_against_the_commitment_and_its_end(support: Support) -> None:
    first, second = await support.household(A0, "poor"), await support.household(A0, "poor")
    stranger = await support.household(A1, "poor")
    pairing = {"unit": "07207", "hierarchy": "v2008", "kind": "monthly_rice", "helper_kind": "enterprise",
               "helper_name": "Công ty CP Lương thực Bắc Giang", "household_ids": [first, second],
               "started_on": "2024-01-01", "ends_on": "2024-03-31",
               "commitment": [{"measure": "kg", "quantity": 10, "per": "month"}]}
    foreign = await support.call("POST", "/support/sponsorships", OFFICER_A0,
                                 json={**pairing, "household_ids": [first, stranger]})
    assert foreign.status_code == 422 and foreign.json()["errors"][0]["field"] == "household_ids.1"
    made = await support.call("POST", "/support/sponsorships", OFFICER_A0, json=pairing)
    assert made.status_code == 201, made.text
    sponsorship = made.json()["id"]
    for day in ("2024-01-20", "2024-02-20"):
        delivered = await support.call("POST", "/support/deliveries", OFFICER_A0, json=_rice(first, day, sponsorship))
        assert delivered.status_code == 201, delivered.text
        assert delivered.json()["sponsorship_id"] == sponsorship
    late = await support.call("POST", "/support/deliveries", OFFICER_A0, json=_rice(first, "2024-04-20", sponsorship))
    assert late.status_code == 422 and late.json()["errors"][0]["field"] == "sponsorship_id"
    # A correction cannot move a sponsored delivery out of the sponsorship's period either.
    first_id = (await support.call("GET", "/support/deliveries", OFFICER_A0,
                                   params={"unit": "07207"})).json()["items"][0]["id"]
    moved = await support.call("PATCH", f"/support/deliveries/{first_id}", OFFICER_A0,
                               json={"delivered_on": "2024-04-20"}, headers={"If-Match": '"1"'})
    assert moved.status_code == 422 and moved.json()["errors"][0]["field"] == "sponsorship_id"
    assert (await support.call("GET", f"/support/deliveries/{first_id}", OFFICER_A0)).json()["version"] == 1
    within = await support.call("PATCH", f"/support/deliveries/{first_id}", OFFICER_A0,
                                json={"delivered_on": "2024-03-20"}, headers={"If-Match": '"1"'})
    assert within.status_code == 200, within.text
    other = await support.call("POST", "/support/deliveries", OFFICER_A1,
                               json=_rice(stranger, "2024-02-20", sponsorship))
    assert other.status_code == 422  # not one of its households (and not visible to that officer)
    progress = (await support.call("GET", f"/support/sponsorships/{sponsorship}/progress", OFFICER_A0)).json()
    assert progress["deliveries"] == 2 and progress["until"] == "2024-03-31"
    # 10 kg a month to each of its 2 households (the default) over January–March: 60 kg due.
    assert progress["lines"] == [{"measure": "kg", "per": "month", "quantity": "10", "per_household": True,
                                  "households": 2, "due": "60", "delivered": "20", "met": False, "by_household": [
                                      {"household_id": first, "due": "30", "delivered": "20", "met": False},
                                      {"household_id": second, "due": "30", "delivered": "0", "met": False}]}]
    # It ran until 31 March 2024: not an active pairing any more, though nobody ended it yet.
    active = (await support.call("GET", "/support/sponsorships", DISTRICT_A_OFFICER,
                                 params={"unit": "07207", "status": "active"})).json()
    assert active["total"] == 0
    lapsed = (await support.call("GET", "/support/sponsorships", DISTRICT_A_OFFICER,
                                 params={"unit": "07207", "status": "ended"})).json()
    assert [i["id"] for i in lapsed["items"]] == [sponsorship] and lapsed["items"][0]["status"] == "ended"
    url = f"/support/sponsorships/{sponsorship}/end"
    assert (await support.call("POST", url, OFFICER_A0, json={"ended_on": "2024-03-15",
                                                            "reason": "Doanh nghiệp tạm dừng"})).status_code == 428
    ended = await support.call("POST", url, OFFICER_A0, json={"ended_on": "2024-03-15", "reason": "Tạm dừng"},
                               headers={"If-Match": '"1"'})
    assert ended.status_code == 200 and ended.json()["status"] == "ended"
    again = await support.call("POST", url, OFFICER_A0, json={"ended_on": "2024-03-15", "reason": "Tạm dừng"},
                               headers={"If-Match": "*"})
    assert again.status_code == 409
    events = [*await support.events("support.sponsorship.started"), *await support.events("support.sponsorship.ended")]
    rows = [sponsorship_row(Event.from_bytes(orjson.dumps(e))) for e in events]
    assert [(r["status"], r["households"], r["version"]) for r in rows] == [("active", 2, 1), ("ended", 2, 2)]
    # Other units see nothing of it.
    for officer in (OFFICER_A1, OFFICER_B0, OTHER_PROVINCE):
        assert (await support.call("GET", f"/support/sponsorships/{sponsorship}", officer)).status_code == 404
        assert (await support.call("GET", f"/support/sponsorships/{sponsorship}/progress", officer)).status_code == 404
        listed = (await support.call("GET", "/support/sponsorships", officer)).json()
        assert listed["total"] == 0
        assert (await support.call("POST", "/support/sponsorships", officer, json=pairing)).status_code == 403


async def test_active_pairings_are_those_not_ended_and_not_past_their_end(support: Support) -> None:
    household = await support.household(A0, "poor")
    today = clock.today()
    base = {"unit": "07207", "hierarchy": "v2008", "kind": "ten_plus_one", "helper_kind": "household",
            "helper_name": "Hộ ông Nguyễn Văn A", "household_ids": [household],
            "started_on": (today - timedelta(days=60)).isoformat(),
            "commitment": [{"measure": "labour_day", "quantity": 1, "per": "month"}]}
    ids = {}
    for name, ends_on in (("open", None), ("until_today", today), ("next_month", today + timedelta(days=30)),
                          ("lapsed", today - timedelta(days=1)), ("ended", None)):
        made = await support.call("POST", "/support/sponsorships", OFFICER_A0,
                                  json={**base, "ends_on": ends_on.isoformat() if ends_on else None})
        assert made.status_code == 201, made.text
        ids[name] = made.json()["id"]
    ended = await support.call("POST", f"/support/sponsorships/{ids['ended']}/end", OFFICER_A0,
                               json={"ended_on": today.isoformat(), "reason": "Hộ đã thoát nghèo"},
                               headers={"If-Match": '"1"'})
    assert ended.status_code == 200
    for officer in (OFFICER_A0, DISTRICT_A_OFFICER):
        active = (await support.call("GET", "/support/sponsorships", officer, params={"status": "active"})).json()
        assert {i["id"] for i in active["items"]} == {ids["open"], ids["until_today"], ids["next_month"]}
        assert {i["status"] for i in active["items"]} == {"active"}
        over = (await support.call("GET", "/support/sponsorships", officer, params={"status": "ended"})).json()
        assert {i["id"] for i in over["items"]} == {ids["lapsed"], ids["ended"]}
        assert {i["status"] for i in over["items"]} == {"ended"}
    single = (await support.call("GET", f"/support/sponsorships/{ids['lapsed']}", OFFICER_A0)).json()
    assert single["status"] == "ended"


async def test_a_body_activity_is_recorded_with_its_kind_s_measures_and_voided(support: Support) -> None:
    training = {"unit": "213", "hierarchy": "v2008", "body": "hlhpn", "kind": "training",
                "title": "Tập huấn khởi sự kinh doanh, kỹ thuật trồng trọt, chăn nuôi",
                "period_from": "2024-01-01", "period_to": "2024-06-30",
                "measures": [{"measure": "session", "quantity": 191}, {"measure": "person", "quantity": 1549}]}
    assert (await support.call("POST", "/support/activities", OFFICER_A0, json=training)).status_code == 403
    bad = await support.call("POST", "/support/activities", DISTRICT_A_OFFICER,
                             json={**training, "measures": [{"measure": "kg", "quantity": 1}]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "measures.0.measure"
    made = await support.call("POST", "/support/activities", DISTRICT_A_OFFICER, json=training)
    assert made.status_code == 201, made.text
    activity = made.json()["id"]
    scrap = {**training, "kind": "scrap_collection", "title": "Thu gom phế liệu",
             "measures": [{"measure": "group", "quantity": 251}], "amount_vnd": 250_400_000}
    assert (await support.call("POST", "/support/activities", DISTRICT_A_OFFICER, json=scrap)).status_code == 201
    listed = (await support.call("GET", "/support/activities", DISTRICT_A_OFFICER, params={"year": 2024})).json()
    assert listed["total"] == 2
    for officer in (OFFICER_B0, OTHER_PROVINCE):
        assert (await support.call("GET", f"/support/activities/{activity}", officer)).status_code == 404
        void = await support.call("POST", f"/support/activities/{activity}/void", officer, json={"reason": "abc"},
                                  headers={"If-Match": "*"})
        assert void.status_code == 404
    voided = await support.call("POST", f"/support/activities/{activity}/void", DISTRICT_A_OFFICER,
                                json={"reason": "Ghi trùng"}, headers={"If-Match": '"1"'})
    assert voided.status_code == 200 and voided.json()["status"] == "voided"
    rows = [activity_row(Event.from_bytes(orjson.dumps(e)))
            for e in [*await support.events("support.activity.recorded"),
                      *await support.events("support.activity.voided")]]
    first = [r for r in rows if r["activity_id"] == activity]
    assert [(r["status"], r["year"], r["body_kind"]) for r in first] == [("recorded", 2024, "mass_organisation"),
                                                                         ("voided", 2024, "mass_organisation")]
    assert orjson.loads(first[0]["measures"]) == [{"measure": "session", "quantity": "191"},
                                                  {"measure": "person", "quantity": "1549"}]


async def test_a_commitment_is_due_per_household_or_per_pairing_and_money_is_the_deliveries_amount(
        support: Support) -> None:
    first, second = await support.household(A0, "poor"), await support.household(A0, "poor")
    pairing = {"unit": "07207", "hierarchy": "v2008", "kind": "monthly_rice", "helper_kind": "enterprise",
               "helper_name": "Công ty CP Lương thực Bắc Giang", "household_ids": [first, second],
               "started_on": "2024-01-01", "ends_on": "2024-03-31",
               "commitment": [{"measure": "kg", "quantity": 10, "per": "month"},
                              {"measure": "kg", "quantity": 15, "per": "month", "per_household": False},
                              {"measure": "vnd", "quantity": 100_000, "per": "month", "per_household": False}]}
    odd = {**pairing, "commitment": [{"measure": "vnd", "quantity": "0.5", "per": "month"}]}
    refused = await support.call("POST", "/support/sponsorships", OFFICER_A0, json=odd)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "commitment.0.quantity"
    made = await support.call("POST", "/support/sponsorships", OFFICER_A0, json=pairing)
    assert made.status_code == 201, made.text
    sponsorship = made.json()["id"]
    rice = {**_rice(first, "2024-01-20", sponsorship, kg=20), "amount_vnd": 150_000,
            "funding": [{"source": "enterprise", "amount_vnd": 150_000}]}
    # Money travels as amount_vnd only: a quantity in vnd is refused, so nothing counts twice.
    doubled = await support.call("POST", "/support/deliveries", OFFICER_A0, json={
        **rice, "quantities": [*rice["quantities"], {"measure": "vnd", "quantity": 150_000}]})
    assert doubled.status_code == 422 and doubled.json()["errors"][0]["field"] == "quantities.1.measure"
    assert (await support.call("POST", "/support/deliveries", OFFICER_A0, json=rice)).status_code == 201
    expected = [
        {"measure": "kg", "per": "month", "quantity": "10", "per_household": True, "households": 2, "due": "60",
         "delivered": "20", "met": False, "by_household": [
             {"household_id": first, "due": "30", "delivered": "20", "met": False},
             {"household_id": second, "due": "30", "delivered": "0", "met": False}]},
        {"measure": "kg", "per": "month", "quantity": "15", "per_household": False, "households": None,
         "due": "45", "delivered": "20", "met": False, "by_household": None},
        {"measure": "vnd", "per": "month", "quantity": "100000", "per_household": False, "households": None,
         "due": "300000", "delivered": "150000", "met": False, "by_household": None}]
    progress = (await support.call("GET", f"/support/sponsorships/{sponsorship}/progress", OFFICER_A0)).json()
    assert progress["lines"] == expected and progress["amount_vnd"] == 150_000
    # The unit's list shows each pairing with what it delivered against its commitment.
    listed = (await support.call("GET", "/support/sponsorships", DISTRICT_A_OFFICER, params={"unit": "07207"})).json()
    [item] = listed["items"]
    assert item["id"] == sponsorship and item["progress"]["lines"] == expected
    assert item["progress"]["deliveries"] == 1 and item["progress"]["until"] == "2024-03-31"
    foreign = (await support.call("GET", "/support/sponsorships", OFFICER_A1)).json()
    assert foreign["total"] == 0
    # 60 kg to the first household alone is the whole pairing's due, yet the second got nothing: not met.
    more = _rice(first, "2024-02-20", sponsorship, kg=40)
    assert (await support.call("POST", "/support/deliveries", OFFICER_A0, json=more)).status_code == 201
    lines = (await support.call("GET", f"/support/sponsorships/{sponsorship}/progress", OFFICER_A0)).json()["lines"]
    assert (lines[0]["delivered"], lines[0]["met"]) == ("60", False)
    assert [(h["delivered"], h["met"]) for h in lines[0]["by_household"]] == [("60", True), ("0", False)]
    assert (lines[1]["delivered"], lines[1]["met"]) == ("60", True)  # 15 kg a month for the pairing: 45 due


async def test_seed_003_s_activity_figures_are_recorded_exactly(support: Support) -> None:
    """Seed 003, section II.4: the Women's Union's scrap groups ("251 tổ, nhóm thu gom, bán phế liệu thu được
    250,4 triệu đồng, trích từ tiền bán phế liệu 119,1 triệu đồng để tặng gạo hoặc tặng tiền cho 554 lượt phụ nữ,
    trẻ em") and the veterans' "10+1" models ("45 mô hình 10+1 … huy động được 285,24 triệu đồng, 20 bao xi
    măng và 45 ngày công giúp đỡ 42 hộ")."""
    common = {"unit": "213", "hierarchy": "v2008", "period_from": "2018-01-01", "period_to": "2018-06-30"}
    scrap = {**common, "body": "hlhpn", "kind": "scrap_collection", "title": "Thu gom, bán phế liệu",
             "amount_vnd": 250_400_000, "measures": [{"measure": "group", "quantity": 251},
                                                     {"measure": "vnd_given", "quantity": 119_100_000},
                                                     {"measure": "person_turn", "quantity": 554}]}
    models = {**common, "body": "hccb", "kind": "model_10_1", "title": "Mô hình 10+1",
              "amount_vnd": 285_240_000, "measures": [{"measure": "model", "quantity": 45},
                                                      {"measure": "bag", "quantity": 20},
                                                      {"measure": "labour_day", "quantity": 45},
                                                      {"measure": "household", "quantity": 42}]}
    for activity in (scrap, models):
        made = await support.call("POST", "/support/activities", DISTRICT_A_OFFICER, json=activity)
        assert made.status_code == 201, made.text
        assert made.json()["measures"] == [{"measure": m["measure"], "quantity": str(m["quantity"])}
                                           for m in activity["measures"]]
        assert made.json()["amount_vnd"] == activity["amount_vnd"]
    rows = {r["kind"]: r for r in (activity_row(Event.from_bytes(orjson.dumps(e)))
                                   for e in await support.events("support.activity.recorded"))}
    assert {m["measure"]: m["quantity"] for m in orjson.loads(rows["scrap_collection"]["measures"])} == {
        "group": "251", "vnd_given": "119100000", "person_turn": "554"}
    assert rows["scrap_collection"]["amount_vnd"] == 250_400_000
    assert {m["measure"]: m["quantity"] for m in orjson.loads(rows["model_10_1"]["measures"])}["household"] == "42"
