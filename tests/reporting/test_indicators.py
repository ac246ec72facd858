"""Indicators built from registry events equal the counts made by hand, at every level."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tests.reporting.conftest import Reporting
from tests.reporting.registry_events import (
    COMMUNES_A,
    DISTRICT_A,
    DISTRICT_B,
    NAMES,
    PROVINCE,
    Dataset,
    all_unit_events,
    expected,
    province_dataset,
)


def assert_figures(entry: dict[str, Any], want: Counter[str]) -> None:
    households = want["households"]
    assert entry["households"] == households
    assert entry["members"] == want["members"]
    assert entry["poor"] == want["poor"]
    assert entry["near_poor"] == want["near_poor"]
    assert entry["middle_income"] == want["middle_income"]
    assert entry["not_poor"] == want["not_poor"]
    assert entry["poor_members"] == want["poor_members"]
    assert entry["near_poor_members"] == want["near_poor_members"]
    assert entry["poor_rate"] == (round(100 * want["poor"] / households, 2) if households else None)
    assert entry["near_poor_rate"] == (round(100 * want["near_poor"] / households, 2) if households else None)
    for transition, count in entry["transitions"].items():
        assert count == want[f"t:{transition}"], transition
    ethnic = entry["breakdowns"]["ethnic_minority"]
    assert (ethnic["households"], ethnic["poor"], ethnic["near_poor"]) == (
        want["ethnic_minority"], want["ethnic_minority:poor"], want["ethnic_minority:near_poor"])
    for area in ("urban", "rural"):
        b = entry["breakdowns"][area]
        assert (b["households"], b["poor"], b["near_poor"]) == (want[area], want[f"{area}:poor"],
                                                                 want[f"{area}:near_poor"])


def assert_report(body: dict[str, Any], data: Dataset, year: int, unit_path: str) -> None:
    want = expected(data, year, unit_path)
    assert body["unit"]["path"] == unit_path
    assert_figures(body["unit"], want[""])
    assert body["children"], "the unit's children are listed"
    for child in body["children"]:
        assert_figures(child, want[child["path"]])


async def test_indicators_equal_hand_counts_for_province_district_and_commune(reporting: Reporting) -> None:
    data = province_dataset(households=3000)
    await reporting.publish(all_unit_events())
    last = await reporting.publish(data.events)
    await reporting.settled(last)

    province = await reporting.indicators(unit="24", year=2024)
    assert province["unit"]["name"] == NAMES[PROVINCE]
    assert [c["path"] for c in province["children"]] == [DISTRICT_A, DISTRICT_B]
    assert province["unit"]["households"] > 2900  # all but the removed households
    assert_report(province, data, 2024, PROVINCE)

    district = await reporting.indicators(unit="213", year=2023, hierarchy="v2008")
    assert [c["path"] for c in district["children"]] == COMMUNES_A
    assert_report(district, data, 2023, DISTRICT_A)

    commune = await reporting.indicators(unit=COMMUNES_A[0], year=2024)
    assert commune["children"] == []
    assert_figures(commune["unit"], expected(data, 2024, COMMUNES_A[0])[""])


async def test_rates_are_ratios_of_sums_and_change_is_in_points(reporting: Reporting) -> None:
    data = province_dataset(households=1200, seed=11)
    await reporting.publish(all_unit_events())
    await reporting.settled(await reporting.publish(data.events))

    body = await reporting.indicators(unit="24", year_from=2023, year_to=2024)
    unit = body["unit"]
    by_year = {s["year"]: s for s in unit["series"]}
    assert set(by_year) == {2023, 2024}
    children_poor = sum(c["poor"] for c in body["children"])
    children_households = sum(c["households"] for c in body["children"])
    assert unit["poor"] == children_poor and unit["households"] == children_households
    assert unit["poor_rate"] == round(100 * children_poor / children_households, 2)
    assert unit["poor_rate_change_pp"] == round(by_year[2024]["poor_rate"] - by_year[2023]["poor_rate"], 2)
    assert by_year[2023]["poor_rate_change_pp"] is None  # no 2022 figures to compare with
    assert body["year"] == 2024 and body["current_as_of"]["stream_seq"] > 0
    assert body["current_as_of"]["event_id"]


async def test_without_year_the_latest_year_with_figures_is_answered(reporting: Reporting) -> None:
    data = province_dataset(households=200, years=(2022, 2023), seed=3)
    await reporting.publish(all_unit_events())
    await reporting.settled(await reporting.publish(data.events))
    body = await reporting.indicators(unit="24")
    assert body["year"] == 2023
    assert body["unit"]["households"] == expected(data, 2023, PROVINCE)[""]["households"]


async def test_unknown_unit_and_bad_years_are_clear_errors(reporting: Reporting) -> None:
    await reporting.settled(await reporting.publish(all_unit_events()))
    missing = await reporting.get("/reporting/indicators/poverty", unit="v2008.24.999", year=2024)
    assert missing.status_code == 404 and missing.json()["code"] == "unit_not_found"
    unknown = await reporting.get("/reporting/indicators/poverty", unit="98", year=2024, hierarchy="v2008")
    assert unknown.status_code == 404 and unknown.json()["code"] == "unit_not_found"
    both = await reporting.get("/reporting/indicators/poverty", unit="24", year=2024, year_from=2023)
    assert both.status_code == 422 and both.json()["errors"][0]["field"] == "year"
    reversed_range = await reporting.get("/reporting/indicators/poverty", unit="24", year_from=2025, year_to=2023)
    assert reversed_range.status_code == 422
    bad_hierarchy = await reporting.get("/reporting/indicators/poverty", unit="24", hierarchy="v1999")
    assert bad_hierarchy.status_code == 422


async def test_a_country_scope_sees_the_provinces(reporting: Reporting) -> None:
    from tests.kit import make_principal

    data = province_dataset(households=300, seed=13)
    await reporting.publish(all_unit_events())
    await reporting.settled(await reporting.publish(data.events))
    ministry = make_principal("viewer", ["v2008"], permissions=["reporting.indicators.read"])
    body = await reporting.indicators(ministry, year=2024)
    assert body["unit"]["level"] == "national" and body["unit"]["path"] == "v2008"
    assert [c["path"] for c in body["children"]] == [PROVINCE, "v2008.27"]
    assert body["unit"]["households"] == body["children"][0]["households"] == expected(data, 2024, PROVINCE)[""][
        "households"]
    assert body["current_as_of"]["stream_seq"] > 0
    province_officer = await reporting.get("/reporting/indicators/poverty", unit="v2008", year=2024)
    assert province_officer.status_code == 403
