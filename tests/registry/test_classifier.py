"""The classifier against the standards of docs/domain.md: every line's boundary, deprivation 2 vs 3, areas, years."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from services.registry.classification.classifier import NoStandardForYear, Standards, UnknownIndicator
from services.registry.classification.service import load_standards
from services.registry.classification.standards import STANDARDS_DATA, parse_standards
from services.registry.settings import RegistrySettings

# The classifier is pure: it classifies with the standards it is given.
STANDARDS = Standards(parse_standards(STANDARDS_DATA))
classify, classify_many, classify_status = STANDARDS.classify, STANDARDS.classify_many, STANDARDS.classify_status
indicator_codes, standard_for = STANDARDS.indicator_codes, STANDARDS.standard_for

D59 = ["health_access", "health_insurance", "adult_education", "school_attendance", "housing_quality",
       "housing_area", "clean_water", "latrine", "telecom", "information_assets"]
D07 = ["employment", "dependants", "nutrition", "health_insurance", "adult_education", "school_attendance",
       "housing_quality", "housing_area", "domestic_water", "latrine", "telecom", "information_access"]
D351 = ["employment", "dependants", "health_insurance", "nutrition", "adult_education", "school_attendance",
        "housing_area", "housing_quality", "telecom", "domestic_water", "latrine", "waste"]
CODES = {2018: D59, 2023: D07, 2028: D351}

# (year, area, income, number of deprived indicators, expected status)
BOUNDARIES = [
    # Decision 59/2015: income alone makes poor; between the lines deprivation decides.
    (2018, "rural", 0, 0, "poor"),
    (2018, "rural", 700_000, 0, "poor"),
    (2018, "rural", 700_001, 2, "near_poor"),
    (2018, "rural", 700_001, 3, "poor"),
    (2018, "rural", 1_000_000, 2, "near_poor"),
    (2018, "rural", 1_000_000, 3, "poor"),
    (2018, "rural", 1_000_001, 10, "middle_income"),
    (2018, "rural", 1_500_000, 0, "middle_income"),
    (2018, "rural", 1_500_001, 0, "not_poor"),
    (2018, "urban", 900_000, 0, "poor"),
    (2018, "urban", 900_001, 2, "near_poor"),
    (2018, "urban", 900_001, 3, "poor"),
    (2018, "urban", 1_300_000, 2, "near_poor"),
    (2018, "urban", 1_300_000, 3, "poor"),
    (2018, "urban", 1_300_001, 3, "middle_income"),
    (2018, "urban", 1_950_000, 0, "middle_income"),
    (2018, "urban", 1_950_001, 0, "not_poor"),
    # Decree 07/2021: poor needs income at or below the line AND 3 deprivations.
    (2023, "rural", 0, 0, "near_poor"),
    (2023, "rural", 1_500_000, 2, "near_poor"),
    (2023, "rural", 1_500_000, 3, "poor"),
    (2023, "rural", 1_500_001, 12, "middle_income"),
    (2023, "rural", 2_250_000, 0, "middle_income"),
    (2023, "rural", 2_250_001, 0, "not_poor"),
    (2023, "urban", 2_000_000, 2, "near_poor"),
    (2023, "urban", 2_000_000, 3, "poor"),
    (2023, "urban", 2_000_001, 3, "middle_income"),
    (2023, "urban", 3_000_000, 0, "middle_income"),
    (2023, "urban", 3_000_001, 0, "not_poor"),
    # Decree 351/2025: higher lines, no middle-income line in the data.
    (2028, "rural", 2_200_000, 2, "near_poor"),
    (2028, "rural", 2_200_000, 3, "poor"),
    (2028, "rural", 2_200_001, 12, "not_poor"),
    (2028, "urban", 2_800_000, 2, "near_poor"),
    (2028, "urban", 2_800_000, 3, "poor"),
    (2028, "urban", 2_800_001, 3, "not_poor"),
]


@pytest.mark.parametrize(("year", "area", "income", "deprived", "expected"), BOUNDARIES)
def test_boundaries_of_every_standard(year: int, area: str, income: int, deprived: int, expected: str) -> None:
    codes = CODES[year][:deprived]
    result = classify(year, area, income, codes)
    assert result.status == expected
    assert result.deprived_count == deprived
    assert classify_status(year, area, income, codes) == expected
    assert classify_many([(year, area, income, codes)]) == [expected]


def test_same_household_is_poor_in_town_and_middle_income_in_the_countryside() -> None:
    codes = ["employment", "nutrition", "latrine"]
    urban = classify(2024, "urban", 1_800_000, codes)
    rural = classify(2024, "rural", 1_800_000, codes)
    assert (urban.status, urban.poverty_line, urban.area) == ("poor", 2_000_000, "urban")
    assert (rural.status, rural.poverty_line, rural.area) == ("middle_income", 1_500_000, "rural")


@pytest.mark.parametrize(("year", "standard"), [
    (2016, "decision-59-2015"), (2021, "decision-59-2015"), (2022, "decree-07-2021"), (2026, "decree-07-2021"),
    (2027, "decree-351-2025"), (2030, "decree-351-2025")])
def test_each_standard_covers_exactly_its_years(year: int, standard: str) -> None:
    assert standard_for(year).code == standard
    assert classify(year, "rural", 10_000_000, []).standard == standard


@pytest.mark.parametrize("year", [2015, 2031, 1990])
def test_a_year_without_a_standard_is_refused(year: int) -> None:
    with pytest.raises(NoStandardForYear) as err:
        classify(year, "rural", 100_000, [])
    assert err.value.year == year
    with pytest.raises(NoStandardForYear):
        classify_status(year, "urban", 100_000, [])
    with pytest.raises(NoStandardForYear):
        indicator_codes(year)


def test_indicator_codes_are_domain_canonical_codes() -> None:
    assert indicator_codes(2018) == frozenset(D59)
    assert indicator_codes(2023) == frozenset(D07)
    assert indicator_codes(2028) == frozenset(D351)


def test_an_indicator_of_another_standard_is_unknown_and_named() -> None:
    with pytest.raises(UnknownIndicator) as err:
        classify(2023, "rural", 1_000_000, ["employment", "waste", "bogus"])
    assert err.value.codes == ["bogus", "waste"]
    assert err.value.allowed == D07
    assert classify(2028, "rural", 1_000_000, ["waste"]).deprived_indicators == ("waste",)
    with pytest.raises(UnknownIndicator):
        classify_many([(2023, "rural", 1, []), (2018, "rural", 1, ["employment"])])


def test_repeated_indicators_count_once_and_come_back_in_the_standard_order() -> None:
    result = classify(2023, "rural", 1_000_000, ["latrine", "employment", "latrine"])
    assert result.deprived_count == 2
    assert result.deprived_indicators == ("employment", "latrine")
    assert result.status == "near_poor"


def test_bad_area_and_negative_income_are_refused() -> None:
    with pytest.raises(ValueError, match="area"):
        classify(2023, "city", 1_000_000, [])
    with pytest.raises(ValueError, match="income"):
        classify(2023, "rural", -1, [])
    with pytest.raises(ValueError, match="income"):
        classify_status(2023, "rural", -1, [])


def test_explanation_names_standard_lines_and_indicators() -> None:
    poor = classify(2023, "rural", 1_200_000, ["employment", "nutrition", "latrine"])
    assert poor.standard_name == "Nghị định 07/2021/NĐ-CP (2022–2026)"
    for part in ("Nghị định 07/2021/NĐ-CP", "rural", "1,200,000 VND", "poverty line 1,500,000 VND",
                 "employment, nutrition, latrine", "threshold 3", "poor"):
        assert part in poor.explanation
    between = classify(2019, "urban", 1_000_000, ["telecom"]).explanation
    assert "near-poverty line 1,300,000 VND" in between and "telecom" in between and "near-poor" in between
    middle = classify(2025, "urban", 2_500_000, []).explanation
    assert "middle-income line 3,000,000 VND" in middle and "middle-income" in middle
    assert classify(2029, "rural", 5_000_000, []).explanation.endswith("not poor.")


def test_bulk_paths_agree_with_the_explained_classification() -> None:
    incomes = [0, 699_999, 700_000, 700_001, 999_999, 1_000_000, 1_300_001, 1_500_000, 1_950_001, 2_000_000,
               2_250_001, 2_800_000, 3_000_001, 9_000_000]
    rows = []
    for year, area, income, n in itertools.product(range(2016, 2031), ("rural", "urban"), incomes, (0, 2, 3, 5)):
        rows.append((year, area, income, frozenset(standard_for(year).indicator_codes[:n])))
    expected = [classify(y, a, i, sorted(c)).status for y, a, i, c in rows]
    assert classify_many(rows) == expected
    assert [classify_status(*row) for row in rows] == expected
    assert set(expected) == {"poor", "near_poor", "middle_income", "not_poor"}


def test_households_of_the_same_case_are_explained_with_their_own_income() -> None:
    first = classify(2024, "rural", 1_200_000, ("employment", "nutrition", "latrine"))
    second = classify(2024, "rural", 1_300_000, ["latrine", "nutrition", "employment"])  # same case, other order
    assert "1,200,000 VND" in first.explanation and "1,300,000 VND" not in first.explanation
    assert "1,300,000 VND" in second.explanation and "1,200,000 VND" not in second.explanation
    assert first.deprived_indicators == second.deprived_indicators == ("employment", "nutrition", "latrine")
    assert first.explanation.replace("1,200,000", "1,300,000") == second.explanation
    with pytest.raises(UnknownIndicator):
        classify(2024, "rural", 1_200_000, ("employment", "nutrition", "latrine", "waste"))


def test_the_standards_are_read_once_from_the_operators_file_named_in_the_settings(tmp_path: Path) -> None:
    changed = json.loads(json.dumps(STANDARDS_DATA))
    changed[1]["lines"]["rural"]["poverty_line"] = 1_600_000
    path = tmp_path / "standards.json"
    path.write_text(json.dumps(changed), encoding="utf-8")
    standards = load_standards(RegistrySettings(poverty_standards_file=str(path)))
    assert standards.classify(2024, "rural", 1_550_000, D07[:3]).status == "poor"
    assert STANDARDS.classify(2024, "rural", 1_550_000, D07[:3]).status == "middle_income"
    assert load_standards(RegistrySettings()).standard_for(2024).lines["rural"].poverty_line == 1_500_000


def test_importing_the_classifier_reads_neither_environment_nor_file(tmp_path: Path) -> None:
    """A broken operator file does not break an import of the module: only load_standards reads it."""
    env = {"REGISTRY_POVERTY_STANDARDS_FILE": str(tmp_path / "missing.json"), "PATH": "/usr/bin:/bin"}
    code = ("import services.registry.classification.classifier, services.registry.imports.build, "
            "services.registry.imports.preparer")
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=Path(__file__).resolve().parents[2],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
