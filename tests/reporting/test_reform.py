"""Across the July 2025 reform: old communes' figures roll into the new communes through the crosswalk."""

from __future__ import annotations

import random

from tests.kit import make_principal
from tests.reporting.conftest import Reporting
from tests.reporting.registry_events import (
    COMMUNES,
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
