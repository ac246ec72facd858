"""The dashboard data of a unit and year: poverty over five years against targets, support by programme
and source, fund balances, the completeness of the annual, a monthly or a movement's review report, the
emulation ranking; the caller's scope."""

from __future__ import annotations

from typing import Any

import pytest

from tests.reporting.conftest import Reporting
from tests.reporting.emulation_events import MOVEMENT, movement, score
from tests.reporting.registry_events import COMMUNES_A, DISTRICT_A, PROVINCE
from tests.reporting.report_kit import (
    COMMUNE,
    DISTRICT,
    OTHER_DISTRICT,
    OTHER_PROVINCE,
    PROVINCE_OFFICER,
    SISTER_COMMUNE,
    call,
    load_everything,
    ok,
    open_report,
    write_and_submit,
)
from tests.reporting.support_events import fund_events


async def loaded(reporting: Reporting) -> None:
    await load_everything(reporting, households=300)
    await reporting.settled(await reporting.publish(fund_events()), consumer="reporting-support")
    scores = [score(COMMUNES_A[0], "90.5"), score(COMMUNES_A[1], "75"), score(COMMUNES_A[2], "90.5")]
    await reporting.settled(await reporting.publish(scores), consumer="reporting-emulation")


async def test_the_dashboard_of_a_district(reporting: Reporting) -> None:
    await loaded(reporting)
    commune = await ok(await open_report(reporting, COMMUNE, COMMUNES_A[0]), 201)
    await write_and_submit(reporting, COMMUNE, commune["id"], f'"{commune["row_version"]}"')

    answer = await ok(await call(reporting, "GET", "/reporting/dashboard", DISTRICT, params={"year": 2024}))
    assert answer["unit"]["path"] == DISTRICT_A and answer["year"] == 2024
    indicators = await reporting.indicators(DISTRICT, year_from=2020, year_to=2024)
    poverty = answer["poverty"]
    assert poverty["unit"]["poor_rate"] == indicators["unit"]["poor_rate"]
    assert [s["year"] for s in poverty["series"]] == [2020, 2021, 2022, 2023, 2024]
    assert [s["poor_rate"] for s in poverty["series"]] == [s["poor_rate"] for s in indicators["unit"]["series"]]
    assert {c["path"]: c["poor"] for c in poverty["children"]} == {
        c["path"]: c["poor"] for c in indicators["children"]}

    credit = next(p for p in answer["support"]["programmes"] if p["programme"] == "nhcsxh_credit")
    assert credit["amount_vnd"] == 6_896_000_000 and credit["amount_million_vnd"] == "6896.00"
    assert answer["support"]["total"]["amount_vnd"] == sum(s["amount_vnd"] for s in answer["support"]["sources"])

    funds = answer["funds"]
    assert funds["balance_vnd"] == 15_000_000 + 100_000_000 - 30_000_000  # a transfer stays inside the district
    by_unit = {f["code"]: f for f in funds["by_unit"]}
    assert by_unit["213"]["balance_vnd"] == 80_000_000 and by_unit["213"]["donations_vnd"] == 100_000_000
    assert by_unit["07207"]["balance_vnd"] == 5_000_000 and by_unit["07207"]["spent_vnd"] == 30_000_000

    completeness = answer["completeness"]
    assert completeness["totals"]["expected"] == 3 and completeness["totals"]["submitted"] == 1

    ranking = answer["ranking"][0]
    assert ranking["name"].startswith("Bắc Giang chung tay")
    assert [(u["rank"], u["code"], u["total"]) for u in ranking["units"]] == [
        (1, "07207", "90.5"), (1, "07213", "90.5"), (3, "07210", "75")]


async def test_a_communes_dashboard_shows_its_target_against_the_actual(reporting: Reporting) -> None:
    await loaded(reporting)
    answer = await ok(await call(reporting, "GET", "/reporting/dashboard", COMMUNE, params={"year": 2024}))
    assert answer["unit"]["path"] == COMMUNES_A[0] and answer["poverty"]["children"] == []
    target = answer["poverty"]["targets"][0]
    assert target["indicator"] == "poor_rate_reduction" and target["target"] == "1.5"
    change = answer["poverty"]["unit"]["poor_rate_change_pp"]
    assert target["actual"] == -change and target["met"] == (-change >= 1.5)
    assert [u["code"] for u in answer["ranking"][0]["units"]] == ["07207"]
    assert answer["completeness"]["own"] is None and answer["completeness"]["totals"]["expected"] == 0


@pytest.mark.parametrize(("principal", "unit"), [
    (COMMUNE, DISTRICT_A), (COMMUNE, COMMUNES_A[1]), (OTHER_DISTRICT, DISTRICT_A), (OTHER_PROVINCE, PROVINCE),
    (DISTRICT, PROVINCE),
])
async def test_the_dashboard_of_a_unit_outside_the_scope_is_refused(reporting: Reporting, principal: object,
                                                                     unit: str) -> None:
    await loaded(reporting)
    response = await call(reporting, "GET", "/reporting/dashboard", principal,  # type: ignore[arg-type]
                          params={"unit": unit, "year": 2024})
    assert response.status_code == 403 and "poor_rate" not in response.text
    own = await call(reporting, "GET", "/reporting/dashboard", PROVINCE_OFFICER, params={"unit": unit, "year": 2024})
    assert own.status_code == (200 if unit.startswith(PROVINCE) else 403)


async def test_a_kept_dashboard_gives_way_to_new_events_and_reports(reporting: Reporting) -> None:
    """The projection-fed parts are kept per unit and year until any consumer applies an event; the
    completeness is counted at every request (a submitted report shows at once)."""
    from tests.reporting.support_events import delivery, delivery_event

    await loaded(reporting)
    first = await ok(await call(reporting, "GET", "/reporting/dashboard", DISTRICT, params={"year": 2024}))
    again = await ok(await call(reporting, "GET", "/reporting/dashboard", DISTRICT, params={"year": 2024}))
    assert again == first
    cache = reporting.app.state.dashboard_cache
    assert cache.get(DISTRICT_A, 2024, cache._kept[(DISTRICT_A, 2024)][0]) is not None

    # A delivery applied since: the next answer has it.
    extra = delivery(COMMUNES_A[1], "nhcsxh_credit", 1_000_000_000, body="nhcsxh", households=7,
                     funding=[("nhcsxh", 1_000_000_000)])
    await reporting.settled(await reporting.publish([delivery_event(extra)]), consumer="reporting-support")
    moved = await ok(await call(reporting, "GET", "/reporting/dashboard", DISTRICT, params={"year": 2024}))
    credit = next(p for p in moved["support"]["programmes"] if p["programme"] == "nhcsxh_credit")
    assert credit["amount_vnd"] == 6_896_000_000 + 1_000_000_000
    assert moved["current_as_of"]["support"]["stream_seq"] > first["current_as_of"]["support"]["stream_seq"]
    # A score recomputed by the emulation service: the ranking follows.
    await reporting.settled(await reporting.publish([score(COMMUNES_A[1], "99", version=3)]),
                            consumer="reporting-emulation")
    ranked = await ok(await call(reporting, "GET", "/reporting/dashboard", DISTRICT, params={"year": 2024}))
    assert [u["code"] for u in ranked["ranking"][0]["units"]][0] == "07210"

    # A report submitted (no event): the completeness counts it on the next request.
    assert ranked["completeness"]["totals"]["submitted"] == 0
    commune = await ok(await open_report(reporting, COMMUNE, COMMUNES_A[0]), 201)
    await write_and_submit(reporting, COMMUNE, commune["id"], f'"{commune["row_version"]}"')
    counted = await ok(await call(reporting, "GET", "/reporting/dashboard", DISTRICT, params={"year": 2024}))
    assert counted["completeness"]["totals"]["submitted"] == 1
    assert counted["support"] == moved["support"]
    own = (await ok(await call(reporting, "GET", "/reporting/dashboard", COMMUNE, params={"year": 2024})))[
        "completeness"]["own"]
    assert own["report_id"] == commune["id"] and own["state"] == "submitted"
    assert own["on_time"] is (own["first_submitted_on"] <= "2024-11-20")


async def test_the_completeness_of_a_months_review_report(reporting: Reporting) -> None:
    await loaded(reporting)
    await ok(await open_report(reporting, COMMUNE, COMMUNES_A[0], "monthly", "2024-03"), 201)
    answer = await ok(await call(reporting, "GET", "/reporting/dashboard", DISTRICT,
                                 params={"year": 2024, "month": 3}))
    reports = answer["completeness"]
    assert (reports["type"], reports["period"], reports["due_on"]) == ("monthly", "2024-03", "2024-04-05")
    assert reports["totals"]["expected"] == 3 and reports["totals"]["drafts"] == 1
    assert reports["totals"]["submitted"] == 0
    mine = await ok(await call(reporting, "GET", "/reporting/dashboard", COMMUNE, params={"year": 2024, "month": 3}))
    assert mine["completeness"]["own"]["state"] == "draft" and mine["completeness"]["own"]["on_time"] is None
    # Monthly reports are expected for January–August only; a month of no month is refused.
    october = await ok(await call(reporting, "GET", "/reporting/dashboard", DISTRICT,
                                  params={"year": 2024, "month": 10}))
    assert october["completeness"]["expected_period"] is False and october["completeness"]["totals"]["expected"] == 0
    refused = await call(reporting, "GET", "/reporting/dashboard", DISTRICT, params={"year": 2024, "month": 13})
    assert refused.status_code == 422


async def test_the_completeness_of_a_movements_midterm_and_final_review(reporting: Reporting) -> None:
    await loaded(reporting)
    plain = await ok(await call(reporting, "GET", "/reporting/dashboard", DISTRICT, params={"year": 2024}))
    # The province's movement covers the district: its two reviews and their days, for the page's choice.
    assert plain["movements"] == [{"movement_id": MOVEMENT, "name": plain["ranking"][0]["name"], "reviews": [
        {"type": "midterm", "name": "Sơ kết", "due_on": "2024-06-30"},
        {"type": "final", "name": "Tổng kết", "due_on": "2027-12-15"}]}]
    opened = await open_report(reporting, COMMUNE, COMMUNES_A[0], "midterm", MOVEMENT)
    await write_and_submit(reporting, COMMUNE, (await ok(opened, 201))["id"], opened.headers["etag"])

    review = {"year": 2024, "review": "midterm", "movement": MOVEMENT}
    midterm = (await ok(await call(reporting, "GET", "/reporting/dashboard", DISTRICT, params=review)))["completeness"]
    assert (midterm["type"], midterm["period"], midterm["due_on"]) == ("midterm", MOVEMENT, "2024-06-30")
    assert midterm["movement"] == {"movement_id": MOVEMENT, "name": plain["ranking"][0]["name"]}
    totals = midterm["totals"]
    assert (totals["expected"], totals["submitted"], totals["late"], totals["missing"], totals["overdue"]) == (
        3, 1, 1, 2, 2)  # submitted after 30/06/2024 (the tests run later); the two others overdue
    children = {c["code"]: (c["submitted"], c["late"], c["missing"]) for c in midterm["children"]}
    assert children == {"07207": (1, 1, 0), "07210": (0, 0, 1), "07213": (0, 0, 1)}
    mine = await ok(await call(reporting, "GET", "/reporting/dashboard", COMMUNE, params=review))
    assert mine["completeness"]["own"]["state"] == "submitted" and mine["completeness"]["own"]["on_time"] is False
    final = await ok(await call(reporting, "GET", "/reporting/dashboard", DISTRICT,
                                params={**review, "review": "final"}))
    assert final["completeness"]["due_on"] == "2027-12-15"
    # The old city and its wards end with the July 2025 reform: none of them is expected to report in 2027.
    assert final["completeness"]["totals"]["expected"] == 0 and final["completeness"]["children"] == []
    assert final["poverty"] == plain["poverty"]  # the choice of report moves no other figure

    async def refused(params: dict[str, Any]) -> dict[str, Any]:
        answer = await call(reporting, "GET", "/reporting/dashboard", DISTRICT, params=params)
        assert answer.status_code == 422, answer.text
        return dict(answer.json())

    assert (await refused({"review": "midterm"}))["errors"][0]["field"] == "movement"
    assert (await refused({"movement": MOVEMENT}))["errors"][0]["field"] == "review"
    assert (await refused({**review, "month": 3}))["errors"][0]["field"] == "month"
    unknown = await refused({"review": "midterm", "movement": "no-such-movement"})
    assert unknown["code"] == "unknown_movement" and unknown["errors"][0]["field"] == "movement"
    # Another province's movement is answered as unknown: neither its name nor its review days are shown.
    await reporting.settled(await reporting.publish([movement("v2008.27", "mv-other-province")]),
                            consumer="reporting-emulation")
    foreign = await refused({"review": "midterm", "movement": "mv-other-province"})
    assert foreign["code"] == "unknown_movement" and "Bắc Giang chung tay" not in str(foreign)
    assert (await refused({"review": "weekly", "movement": MOVEMENT}))["errors"][0]["field"] == "review"
    # Another ward's officer cannot read the district's review completeness.
    other = await call(reporting, "GET", "/reporting/dashboard", SISTER_COMMUNE, params={**review, "unit": DISTRICT_A})
    assert other.status_code == 403 and "expected" not in other.text


async def test_communes_scored_by_both_the_province_and_their_district_are_listed_once_per_scorer(
        reporting: Reporting) -> None:
    """A province and a district may each score the same communes in one movement (each its own criteria
    set): the district's ranking lists each commune once per set, ranked within it, named by who scored."""
    await load_everything(reporting, households=100)
    by_province = {COMMUNES_A[0]: "60", COMMUNES_A[1]: "80", COMMUNES_A[2]: "70"}
    by_district = {COMMUNES_A[0]: "90.5", COMMUNES_A[1]: "75", COMMUNES_A[2]: "82"}
    scores = [score(path, total, scored_by=PROVINCE) for path, total in by_province.items()]
    scores += [score(path, total, scored_by=DISTRICT_A) for path, total in by_district.items()]
    await reporting.settled(await reporting.publish(scores), consumer="reporting-emulation")

    answer = await ok(await call(reporting, "GET", "/reporting/dashboard", DISTRICT, params={"year": 2024}))
    rankings = {r["scored_by"]["path"]: r for r in answer["ranking"]}
    assert sorted(rankings) == [PROVINCE, DISTRICT_A] and len(answer["ranking"]) == 2
    assert {r["movement_id"] for r in answer["ranking"]} == {MOVEMENT}
    assert rankings[PROVINCE]["scored_by"]["name"] == "Tỉnh Bắc Giang"
    assert [(u["rank"], u["code"], u["total"]) for u in rankings[PROVINCE]["units"]] == [
        (1, "07210", "80"), (2, "07213", "70"), (3, "07207", "60")]
    assert [(u["rank"], u["code"], u["total"]) for u in rankings[DISTRICT_A]["units"]] == [
        (1, "07207", "90.5"), (2, "07213", "82"), (3, "07210", "75")]
    for ranking in answer["ranking"]:
        codes = [u["code"] for u in ranking["units"]]
        assert len(codes) == len(set(codes)) == 3  # no commune twice in a ranking

    # A ward sees its own score under each scorer; the province ranks its districts (none scored here).
    mine = await ok(await call(reporting, "GET", "/reporting/dashboard", COMMUNE, params={"year": 2024}))
    assert sorted((r["scored_by"]["path"], [u["total"] for u in r["units"]]) for r in mine["ranking"]) == [
        (PROVINCE, ["60"]), (DISTRICT_A, ["90.5"])]
    province = await ok(await call(reporting, "GET", "/reporting/dashboard", PROVINCE_OFFICER, params={"year": 2024}))
    assert province["ranking"] == []
