"""The reference routes over HTTP: the award catalogue and the base salary as of a date, the target
indicators, the activity kinds, the automatic criteria's sources. Any caller with `emulation.read`
reads them (they hold no unit's data); a role without it is refused."""

from __future__ import annotations

from tests.emulation.conftest import COMMUNE_OFFICER, Emulation, principal

VIEWER = principal("viewer", ["v2008.25"])
SURVEYOR = principal("surveyor", ["v2008.24.213.07207"])  # no emulation.read


async def test_award_forms_as_of_a_date_follow_the_transfer_of_district_powers(emulation: Emulation) -> None:
    before = await emulation.get("/emulation/award-forms", COMMUNE_OFFICER, on="2025-06-30")
    after = await emulation.get("/emulation/award-forms", COMMUNE_OFFICER, on="2025-07-01")
    assert before.status_code == after.status_code == 200, before.text
    assert (before.json()["on"], after.json()["powers_change_on"]) == ("2025-06-30", "2025-07-01")
    old = {f["code"]: f for f in before.json()["forms"]}
    new = {f["code"]: f for f in after.json()["forms"]}
    assert len(old) == 11 and set(old) == set(new)
    collective = old["tap_the_lao_dong_tien_tien"]
    assert (collective["awarding_levels"], new["tap_the_lao_dong_tien_tien"]["awarding_levels"]) == (["district"],
                                                                                                       ["commune"])
    assert (collective["before"], collective["after"]) == (["district"], ["commune"])
    assert collective["prize"]["collective"] == {"multiplier": "0.8", "base_salary": 2_340_000,
                                                 "amount_vnd": 1_872_000}
    assert old["giay_khen"]["awarding_levels"] == ["commune", "district"]
    assert new["giay_khen"]["awarding_levels"] == ["commune"]
    assert new["bang_khen_tinh"]["council_vote"] is True and new["bang_khen_tinh"]["awarding_levels"] == ["province"]
    assert new["thon_to_dan_pho_van_hoa"]["prize"]["collective"]["amount_vnd"] is None  # no prize money
    assert after.json()["authorities"]["commune"] == "Chủ tịch UBND cấp xã"
    # In 2018 the base salary was 1,390,000 from 1 July: the prize follows it.
    in_2018 = {f["code"]: f for f in (await emulation.get("/emulation/award-forms", VIEWER,
                                                          on="2018-07-01")).json()["forms"]}
    assert in_2018["giay_khen"]["prize"]["individual"] == {"multiplier": "0.3", "base_salary": 1_390_000,
                                                           "amount_vnd": 417_000}
    bad = await emulation.get("/emulation/award-forms", COMMUNE_OFFICER, on="1999-12-31")
    assert bad.status_code == 422
    assert (await emulation.get("/emulation/award-forms", SURVEYOR)).status_code == 403


async def test_base_salary_by_date(emulation: Emulation) -> None:
    answers = {}
    for on in ("2017-06-30", "2019-06-30", "2019-07-01", "2024-07-01"):
        response = await emulation.get("/emulation/base-salary", COMMUNE_OFFICER, on=on)
        assert response.status_code == 200, response.text
        answers[on] = response.json()["amount_vnd"]
    assert answers == {"2017-06-30": None, "2019-06-30": 1_390_000, "2019-07-01": 1_490_000,
                       "2024-07-01": 2_340_000}
    history = (await emulation.get("/emulation/base-salary", VIEWER)).json()["history"]
    assert [(h["from"], h["amount_vnd"]) for h in history][-1] == ("2024-07-01", 2_340_000)
    assert history[-1]["source"] == "Nghị định 73/2024/NĐ-CP"
    assert (await emulation.get("/emulation/base-salary", SURVEYOR)).status_code == 403


async def test_indicators_activity_kinds_and_criteria_sources(emulation: Emulation) -> None:
    indicators = await emulation.get("/emulation/indicators", VIEWER)
    assert indicators.status_code == 200, indicators.text
    by_code = {i["code"]: i for i in indicators.json()}
    assert set(by_code) == {"poor_rate_reduction", "near_poor_rate_reduction", "households_escaping_poverty",
                            "temporary_houses_removed", "fund_raised", "support_delivered", "propaganda_sessions"}
    assert by_code["fund_raised"]["measure_unit"] == "vnd" and by_code["fund_raised"]["cover"] == "sum"
    assert by_code["poor_rate_reduction"]["cover"] != "sum"  # rates: a weighted mean of the children's
    kinds = (await emulation.get("/emulation/activity-kinds", VIEWER)).json()
    assert {k["code"] for k in kinds["activity_kinds"]} == {
        "broadcast", "news", "portal", "tv_report", "leaflet", "propaganda_session", "conference", "training",
        "inspection"}
    conference = next(k for k in kinds["activity_kinds"] if k["code"] == "conference")
    assert (conference["measure"], conference["participants"]) == ("sessions", True)
    assert {d["code"]: d["name"] for d in kinds["document_types"]}["plan"] == "Kế hoạch"
    assert {p["code"] for p in kinds["phase_kinds"]} >= {"launch", "midterm_review", "final_review"}
    sources = (await emulation.get("/emulation/criteria-sources", VIEWER)).json()
    assert {s["source"] for s in sources} == set(by_code)  # every indicator is measured automatically
    assert all(s["measured_from"] for s in sources)
    for route in ("/emulation/indicators", "/emulation/activity-kinds", "/emulation/criteria-sources"):
        assert (await emulation.get(route, SURVEYOR)).status_code == 403, route
