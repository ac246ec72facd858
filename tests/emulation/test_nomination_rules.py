"""The nomination workflow and the powers by date, pure."""

from __future__ import annotations

from datetime import date

import pytest

from services.emulation.catalogue import rules as catalogue
from services.emulation.nominations import rules
from shared.errors import Problem

COMMUNE = "v2008.24.213.07207"
BEFORE, AFTER, TODAY = date(2025, 6, 30), date(2025, 7, 1), date(2026, 1, 10)


def _form(code: str) -> catalogue.Form:
    form = catalogue.form(code)
    assert form is not None
    return form


def test_moves_are_data() -> None:
    assert rules.move("submit", rules.DRAFT) == rules.SUBMITTED
    assert rules.move("submit", rules.RETURNED) == rules.SUBMITTED
    assert rules.move("forward", rules.APPRAISING) == rules.SUBMITTED
    assert rules.move("decide", rules.VOTED) == rules.DECIDED
    for action, state in (("decide", rules.SUBMITTED), ("submit", rules.DECIDED), ("vote", rules.VOTED),
                          ("return", rules.REJECTED), ("appraise", rules.DRAFT)):
        with pytest.raises(Problem) as caught:
            rules.move(action, state)
        assert caught.value.status == 409


def test_route_goes_to_the_lowest_level_holding_the_power_on_the_day() -> None:
    assert rules.chain_of(COMMUNE) == (COMMUNE, "v2008.24.213", "v2008.24", "v2008")
    cstd = _form("chien_si_thi_dua_co_so")
    assert rules.route(COMMUNE, cstd, BEFORE).awarding_path == "v2008.24.213"  # the district, before
    assert rules.route(COMMUNE, cstd, AFTER).awarding_path == COMMUNE  # the commune, since 1/7/2025
    assert rules.route(COMMUNE, _form("bang_khen_tinh"), AFTER).awarding_path == "v2008.24"
    assert rules.route(COMMUNE, _form("bang_khen_thu_tuong"), AFTER).awarding_path == "v2008"
    # A province cannot nominate for a title only lower levels award.
    with pytest.raises(Problem) as caught:
        rules.route("v2008.24", _form("lao_dong_tien_tien"), AFTER)
    assert caught.value.code == "form_not_awardable"


def test_forwarding_only_what_is_beyond_the_level() -> None:
    merit = _form("bang_khen_tinh")
    assert rules.forward_to(COMMUNE, COMMUNE, merit, TODAY) == "v2008.24.213"
    assert rules.forward_to("v2008.24.213", COMMUNE, merit, TODAY) == "v2008.24"
    with pytest.raises(Problem) as caught:
        rules.forward_to("v2008.24", COMMUNE, merit, TODAY)
    assert caught.value.code == "within_power"
    with pytest.raises(Problem):
        rules.forward_to(COMMUNE, COMMUNE, _form("giay_khen"), TODAY)


def test_decisions_need_the_power_the_vote_and_a_sane_date() -> None:
    cstd = _form("chien_si_thi_dua_co_so")
    submitted = date(2025, 6, 1)
    assert rules.check_decision(cstd, "v2008.24.213", rules.VOTED, BEFORE, submitted, TODAY, (7, 0)) == \
        "Chủ tịch UBND cấp huyện"
    with pytest.raises(Problem) as caught:  # the district lost the power on 1/7/2025
        rules.check_decision(cstd, "v2008.24.213", rules.VOTED, AFTER, submitted, TODAY, (7, 0))
    assert caught.value.code == "not_within_power"
    assert rules.check_decision(cstd, COMMUNE, rules.VOTED, AFTER, submitted, TODAY, (7, 0)) == "Chủ tịch UBND cấp xã"
    with pytest.raises(Problem) as caught:
        rules.check_decision(cstd, COMMUNE, rules.APPRAISING, AFTER, submitted, TODAY, None)
    assert caught.value.code == "council_vote_required"
    with pytest.raises(Problem) as caught:
        rules.check_decision(cstd, COMMUNE, rules.VOTED, AFTER, submitted, TODAY, (3, 3))
    assert caught.value.code == "council_voted_against"
    assert rules.check_decision(_form("giay_khen"), COMMUNE, rules.APPRAISING, TODAY, submitted, TODAY, None)
    for day in (date(2025, 5, 31), date(2026, 1, 11)):
        with pytest.raises(Problem):
            rules.check_decision(_form("giay_khen"), COMMUNE, rules.APPRAISING, day, submitted, TODAY, None)


def test_dossier_quota_and_who_acts() -> None:
    rules.check_dossier(["submission", "achievement_report", "meeting_minutes"])
    with pytest.raises(Problem) as caught:
        rules.check_dossier(["submission"])
    assert [e["field"] for e in caught.value.extra["errors"]] == ["dossier", "dossier"]
    rules.check_quota(None, 100, "giay_khen", 2025, COMMUNE)
    rules.check_quota(10, 9, "giay_khen", 2025, COMMUNE)
    with pytest.raises(Problem) as caught:
        rules.check_quota(10, 10, "giay_khen", 2025, COMMUNE)
    assert caught.value.status == 409 and caught.value.extra["used"] == 10
    assert rules.acts_at([COMMUNE], COMMUNE, False)
    assert not rules.acts_at(["v2008.24"], COMMUNE, False)  # the province's board does not act for the commune
    assert rules.acts_at([], COMMUNE, True)
    with pytest.raises(Problem):
        rules.check_vote(0, 0, TODAY, TODAY, TODAY)
