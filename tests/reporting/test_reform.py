"""Across the July 2025 reform: old communes' figures roll into the new communes through the crosswalk."""

from __future__ import annotations

import random

from tests.kit import make_principal
from tests.reporting.conftest import Reporting
from tests.reporting.registry_events import (
    COMMUNES,
    DISTRICT_A,
    NEW_COMMUNES,
    NEW_PROVINCE,
    PROVINCE,
    ROLLED_INTO,
    Dataset,
    all_unit_events,
    assessed_batch,
    draw,
    expected,
    unit_event,
)
from tests.reporting.test_indicators import assert_figures, assert_report

NEW_HOME = dict(ROLLED_INTO)
# A province officer of Bắc Ninh after the merger, who also keeps the old Bắc Giang scope.
OFFICER = make_principal("province_officer", [PROVINCE, NEW_PROVINCE], permissions=["reporting.indicators.read"])


def reform_dataset(households: int = 1500, seed: int = 17) -> Dataset:
    """2024 recorded under the old (v2008) communes, 2025 under the new (v2025) ones."""
    rng = random.Random(seed)
    data = Dataset()
    homes = {f"hh-{i:05d}": rng.choice(COMMUNES) for i in range(households)}
    rows_2024 = [draw(rng, hid, 2024, old, 1) for hid, old in homes.items()]
    rows_2025 = [draw(rng, hid, 2025, NEW_HOME[old], 2) for hid, old in homes.items()]
    for rows in (rows_2024, rows_2025):
        for start in range(0, len(rows), 500):
            data.events.append(assessed_batch(rows[start:start + 500]))
        for row in rows:
            data.apply(row)
    return data


async def test_new_province_and_communes_include_old_communes_figures(reporting: Reporting) -> None:
    data = reform_dataset()
    await reporting.publish(all_unit_events())
    await reporting.settled(await reporting.publish(data.events))

    # The new province for 2024 (recorded before the reform) equals the old province's figures.
    old = await reporting.indicators(OFFICER, unit="24", hierarchy="v2008", year=2024)
    new = await reporting.indicators(OFFICER, unit="24", hierarchy="v2025", year=2024)
    assert new["crosswalk_applied"] is True and old["crosswalk_applied"] is False
    assert new["unit"]["path"] == NEW_PROVINCE
    for key in ("households", "poor", "near_poor", "members", "poor_rate", "transitions", "breakdowns"):
        assert new["unit"][key] == old["unit"][key], key
    assert_report(old, data, 2024, PROVINCE)

    # Each new commune gets its old communes (the split commune 07213 goes wholly to 07210, the first
    # successor by code; 09999, its other part, gets none of it).
    want = expected(data, 2024, NEW_PROVINCE, rolled=ROLLED_INTO)
    assert [c["path"] for c in new["children"]] == NEW_COMMUNES
    for child in new["children"]:
        assert_figures(child, want[child["path"]])
    split_part = next(c for c in new["children"] if c["path"] == "v2025.24.09999")
    assert split_part["households"] == 0 and split_part["poor_rate"] is None

    # 2025 is recorded in the new communes; its change against 2024 is computed across the reform.
    now = await reporting.indicators(OFFICER, unit="24", hierarchy="v2025", year=2025)
    assert_report(now, data, 2025, NEW_PROVINCE)
    expected_change = round(now["unit"]["poor_rate"] - new["unit"]["poor_rate"], 2)
    assert now["unit"]["poor_rate_change_pp"] == expected_change
    commune = await reporting.indicators(OFFICER, unit="07246", hierarchy="v2025", year_from=2024, year_to=2025)
    series = {s["year"]: s for s in commune["unit"]["series"]}
    assert series[2024]["households"] == want["v2025.24.07246"]["households"]
    assert series[2025]["poor_rate_change_pp"] == round(series[2025]["poor_rate"] - series[2024]["poor_rate"], 2)

    # The old hierarchy shows what was recorded under it, and nothing of 2025.
    assert (await reporting.indicators(OFFICER, unit="24", hierarchy="v2008", year=2025))["unit"]["households"] == 0


async def test_a_changed_crosswalk_moves_the_figures(reporting: Reporting) -> None:
    data = reform_dataset(households=300, seed=4)
    await reporting.publish(all_unit_events())
    await reporting.settled(await reporting.publish(data.events))
    split = "v2008.24.213.07213"
    before = await reporting.indicators(OFFICER, unit="09999", hierarchy="v2025", year=2024)
    assert before["unit"]["households"] == 0
    # The registry corrects the crosswalk: 07213 went wholly into 09999.
    fix = unit_event(split, version=2, successors=[("v2025.24.09999", False), ("v2025.24.07210", True)])
    await reporting.settled(await reporting.publish([fix]))
    after = await reporting.indicators(OFFICER, unit="09999", hierarchy="v2025", year=2024)
    assert after["unit"]["households"] == expected(data, 2024, split)[""]["households"] > 0
    # A stale unit event (older version) changes nothing.
    stale = unit_event(split, version=1, successors=[("v2025.24.07210", False)])
    await reporting.settled(await reporting.publish([stale]))
    again = await reporting.indicators(OFFICER, unit="09999", hierarchy="v2025", year=2024)
    assert again["unit"]["households"] == after["unit"]["households"]


async def test_a_new_communes_report_holds_its_old_communes_and_the_new_province_consolidates_it(
        reporting: Reporting) -> None:
    """Item 5 of issue 13 across the reform: the 2025 annual report of a new (v2025) ward starts from the
    2024 figures of the old wards the crosswalk rolls into it, reports to the new province (no districts
    any more), and the province's draft sums it."""
    from tests.reporting.report_kit import call, officer, ok, open_report, write_and_submit
    from tests.reporting.support_events import catalogue_events, delivery, delivery_event

    data = reform_dataset(households=600)
    await reporting.publish(all_unit_events())
    await reporting.settled(await reporting.publish(data.events))
    ward, province = NEW_COMMUNES[0], NEW_PROVINCE  # v2025.24.07210 took in 07207, 07210 and 07213
    # Support recorded in an old ward before the reform and in the new ward after it, both in 2025.
    before = delivery("v2008.24.213.07207", "monthly_rice", 10_000_000, body="hctd", households=4,
                      funding=[("enterprise", 10_000_000)], delivered_on="2025-03-10")
    after = delivery(ward, "monthly_rice", 25_000_000, body="hctd", households=9,
                     funding=[("enterprise", 25_000_000)], delivered_on="2025-10-02")
    await reporting.settled(await reporting.publish([*catalogue_events(), delivery_event(before),
                                                     delivery_event(after)]), consumer="reporting-support")

    ward_officer, province_officer = officer(ward), officer(province)
    draft = await ok(await open_report(reporting, ward_officer, ward, "annual", "2025"), 201)
    figures = draft["figures"]
    start = expected(data, 2024, NEW_PROVINCE, rolled=ROLLED_INTO)[ward]
    end = expected(data, 2025, NEW_PROVINCE)[ward]
    assert figures["poverty.start.households"]["value"] == start["households"] > 0
    assert figures["poverty.start.poor"]["value"] == start["poor"]
    assert figures["poverty.end.households"]["value"] == end["households"]
    assert figures["poverty.end.poor"]["value"] == end["poor"]
    assert figures["support.monthly_rice.amount_vnd"]["value"] == 35_000_000  # the old ward's delivery too

    etag = f'"{draft["row_version"]}"'
    submitted = await write_and_submit(reporting, ward_officer, draft["id"], etag)
    # The old district that held 07207 before the reform is not the level above any more.
    old_district = await call(reporting, "POST", f"/reporting/reports/{draft['id']}/accept", officer(DISTRICT_A),
                              "*")
    assert old_district.status_code in (403, 404)
    accepted = await call(reporting, "POST", f"/reporting/reports/{draft['id']}/accept", province_officer,
                          f'"{submitted["row_version"]}"')
    assert (await ok(accepted))["state"] == "accepted"

    consolidated = await ok(await open_report(reporting, province_officer, province, "annual", "2025"), 201)
    consolidation = consolidated["consolidation"]
    assert consolidation["expected"] == len(NEW_COMMUNES) and consolidation["summed"] == 1
    assert consolidation["missing"] == NEW_COMMUNES[1:]
    assert consolidated["figures"]["poverty.end.poor"]["consolidated"] == end["poor"]
    assert consolidated["figures"]["poverty.start.households"]["consolidated"] == start["households"]
    assert consolidated["figures"]["support.monthly_rice.amount_vnd"]["consolidated"] == 35_000_000
