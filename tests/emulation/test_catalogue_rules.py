"""The award catalogue (data), powers by date, prizes and the base salary; movement and target rules.
Pure: no database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.emulation.catalogue import rules as catalogue
from services.emulation.movements import rules as movements
from services.emulation.targets import rules as targets
from shared.errors import Problem

BEFORE, CHANGE, AFTER = date(2025, 6, 30), date(2025, 7, 1), date(2025, 7, 2)


def test_district_powers_pass_to_the_commune_on_1_july_2025() -> None:
    assert set(catalogue.powers("district", BEFORE)) == {
        "lao_dong_tien_tien", "chien_si_thi_dua_co_so", "tap_the_lao_dong_tien_tien", "thon_to_dan_pho_van_hoa",
        "giay_khen"}
    assert set(catalogue.powers("commune", BEFORE)) == {"lao_dong_tien_tien", "giay_khen", "gia_dinh_van_hoa"}
    assert catalogue.powers("district", CHANGE) == []
    assert set(catalogue.powers("commune", CHANGE)) == {
        "lao_dong_tien_tien", "chien_si_thi_dua_co_so", "tap_the_lao_dong_tien_tien", "thon_to_dan_pho_van_hoa",
        "giay_khen", "gia_dinh_van_hoa"}
    assert set(catalogue.powers("province", AFTER)) == set(catalogue.powers("province", BEFORE)) == {
        "chien_si_thi_dua_cap_tinh", "tap_the_lao_dong_xuat_sac", "co_thi_dua_cap_tinh", "bang_khen_tinh"}
    assert catalogue.powers("national", AFTER) == ["bang_khen_thu_tuong"]


def test_nominee_kinds_and_council_votes() -> None:
    giay_khen = catalogue.form("giay_khen")
    assert giay_khen is not None and set(giay_khen.nominee_kinds) == {"individual", "collective", "household"}
    cstd = catalogue.form("chien_si_thi_dua_co_so")
    assert cstd is not None and cstd.nominee_kinds == ("individual",) and cstd.council_vote
    assert catalogue.form("huan_chuong") is None


def test_base_salary_by_date_and_prizes() -> None:
    assert catalogue.base_salary(date(2017, 6, 30)) is None
    assert catalogue.base_salary(date(2017, 7, 1)) == 1_300_000
    assert catalogue.base_salary(date(2024, 6, 30)) == 1_800_000
    assert catalogue.base_salary(date(2024, 7, 1)) == 2_340_000
    giay_khen = catalogue.form("giay_khen")
    assert giay_khen is not None
    assert catalogue.prize(giay_khen, "individual", date(2024, 9, 10)) == (Decimal("0.3"), 2_340_000, 702_000)
    assert catalogue.prize(giay_khen, "collective", date(2024, 9, 10)) == (Decimal("0.6"), 2_340_000, 1_404_000)
    flag = catalogue.form("co_thi_dua_cap_tinh")
    assert flag is not None and catalogue.prize(flag, "collective", date(2019, 7, 1))[2] == 11_920_000
    family = catalogue.form("gia_dinh_van_hoa")
    assert family is not None and catalogue.prize(family, "household", date(2024, 9, 10)) == (None, 2_340_000, None)


def test_catalogue_is_data() -> None:
    data = {"powers_change_on": "2030-01-01", "authorities": {"commune": "X"}, "base_salary": [
        {"from": "2030-01-01", "amount_vnd": 5, "source": "s"}], "forms": [
        {"code": "f", "name": "F", "category": "award", "nominee_kinds": ["individual"], "council_vote": False,
         "awarded_by": {"before": ["district"], "after": ["commune"]}, "multiplier": {"individual": "2"}}]}
    parsed = catalogue.parse(data)
    assert parsed.forms["f"].before == ("district",) and parsed.base_salary[0][1] == 5


def test_document_numbers() -> None:
    assert movements.check_number("05 /CT - UBND") == "05/CT-UBND"
    assert movements.check_number("15/2024/QĐ-UBND") == "15/2024/QĐ-UBND"
    for bad in ("CT-UBND", "05/", "năm 2017", "05/CT--UBND"):
        with pytest.raises(Problem):
            movements.check_number(bad)


def test_movement_dates() -> None:
    start, end = date(2017, 9, 27), date(2020, 12, 31)
    movements.check_period(start, end, [{"kind": "midterm_review", "held_on": date(2019, 3, 1)},
                                        {"kind": "final_review", "held_on": date(2021, 3, 1)}])
    # A period ending on 29 February (the final review may fall in the year after it).
    movements.check_period(date(2023, 1, 1), date(2024, 2, 29), [{"kind": "final_review", "held_on": date(2025, 6, 1)}])
    with pytest.raises(Problem) as caught:
        movements.check_period(start, end, [{"kind": "launch", "held_on": date(2016, 1, 1)}])
    assert caught.value.extra["errors"][0]["field"] == "phases[0].held_on"
    with pytest.raises(Problem):
        movements.check_period(start, end, [{"kind": "midterm_review", "held_on": date(2019, 3, 1)},
                                            {"kind": "final_review", "held_on": date(2019, 3, 1)}])
    with pytest.raises(Problem):
        movements.check_activity("news", date(2018, 1, 1), 5, start, end)
    movements.check_activity("conference", date(2018, 1, 1), 5, start, end)


def test_cover_sums_and_weighted_means() -> None:
    d = Decimal
    assert targets.covered_value("fund_raised", [(d(600), None), (d(400), None)]) == d(1000)
    assert targets.covered_value("poor_rate_reduction", [(d(3), 3000), (d("1.5"), 1000), (d(2), 1000)]) == d("2.5")
    # An unknown household count falls back to the plain mean.
    assert targets.covered_value("poor_rate_reduction", [(d(3), 3000), (d(1), None)]) == d(2)
    targets.check_cover("fund_raised", "p", d(1000), {"a": (d(600), None), "b": (d(400), None)})
    with pytest.raises(Problem) as caught:
        targets.check_cover("fund_raised", "p", d(1000), {"a": (d(600), None), "b": (d(399), None)})
    assert caught.value.extra["shortfall"] == "1"


def test_registration_titles_and_moves() -> None:
    targets.check_title("household", "gia_dinh_van_hoa")
    targets.check_title("enterprise", "giay_khen")
    with pytest.raises(Problem):
        targets.check_title("household", "tap_the_lao_dong_tien_tien")
    targets.check_move("registered", "achieved")
    with pytest.raises(Problem):
        targets.check_move("achieved", "withdrawn")


def test_the_api_literals_follow_the_catalogues() -> None:
    from typing import get_args

    from services.emulation.exemplars import rules as exemplars
    from services.emulation.exemplars.schemas import ExemplarKind
    from services.emulation.movements.schemas import ActivityKindCode, DocType, PhaseKind
    from services.emulation.nominations import rules as nominations
    from services.emulation.nominations.schemas import DossierKind
    from services.emulation.scoring import rules as scoring
    from services.emulation.scoring.schemas import Source
    from services.emulation.targets.schemas import IndicatorCode, RegistrantKind

    for literal, catalogue_ in ((DocType, movements.DOC_TYPES), (ActivityKindCode, movements.ACTIVITY_KINDS),
                                (PhaseKind, movements.PHASE_KINDS), (IndicatorCode, targets.INDICATORS),
                                (RegistrantKind, targets.REGISTRANT_KINDS), (Source, scoring.SOURCES),
                                (DossierKind, nominations.DOSSIER_KINDS), (ExemplarKind, exemplars.KINDS)):
        assert set(get_args(literal)) == set(catalogue_)
