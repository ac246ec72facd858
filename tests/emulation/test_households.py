"""Household nominees and registrants are checked against the households read model the registry's
household events fill (never by calling the registry): an unknown, removed, another unit's or
out-of-scope household is refused naming the field, and nothing is stored."""

from __future__ import annotations

import uuid
from typing import Any

from tests.emulation.conftest import (
    COMMUNE,
    COMMUNE_OFFICER,
    DISTRICT_OFFICER,
    FOREIGN,
    NEIGHBOUR,
    NEIGHBOUR_OFFICER,
    Emulation,
    launched,
)
from tests.emulation.events_kit import household_event, known_households
from tests.emulation.test_nominations import nomination
from tests.kit import scalar
from tests.reporting.registry_events import removed_event


def household_nominee(household_id: str) -> dict[str, Any]:
    return nomination("giay_khen", "household") | {"nominee": {"kind": "household", "name": "Hộ ông Nguyễn Văn An",
                                                               "household_id": household_id}}


async def test_household_nominees_must_be_current_households_of_the_unit(emulation: Emulation) -> None:
    mine, moved, gone, theirs = (str(uuid.uuid4()) for _ in range(4))
    await known_households(emulation.js, emulation.db_url, [
        household_event(mine, COMMUNE), household_event(moved, NEIGHBOUR),
        household_event(moved, COMMUNE, version=2, kind="updated"),  # moved into the ward
        household_event(moved, NEIGHBOUR, version=1),  # an older event, redelivered late: changes nothing
        household_event(gone, COMMUNE), removed_event(gone, COMMUNE, 2), household_event(gone, COMMUNE, 1),
        household_event(theirs, NEIGHBOUR)])
    url = "/emulation/nominations"
    for household_id in (mine, moved):
        made = await emulation.post(url, COMMUNE_OFFICER, household_nominee(household_id))
        assert made.status_code == 201, made.text
        assert made.json()["household_id"] == household_id
    refusals = [(str(uuid.uuid4()), 404, "household_not_found"),  # the registry never announced it
                (theirs, 404, "household_not_found"),  # the neighbour ward's: outside the caller's scope
                (gone, 422, "household_removed")]
    for household_id, status, code in refusals:
        refused = await emulation.post(url, COMMUNE_OFFICER, household_nominee(household_id))
        assert (refused.status_code, refused.json()["code"]) == (status, code), refused.text
        assert refused.json()["errors"][0]["field"] == "nominee.household_id"
    # The district reaches both wards' households, but the ward nominates only its own.
    other_ward = await emulation.post(url, DISTRICT_OFFICER, household_nominee(theirs))
    assert (other_ward.status_code, other_ward.json()["code"]) == (422, "household_outside_unit")
    assert other_ward.json()["errors"] == [{"field": "nominee.household_id", "reason": f"belongs to {NEIGHBOUR}"}]
    # The neighbour ward nominates its own household, not the ward's.
    assert (await emulation.post(url, NEIGHBOUR_OFFICER, household_nominee(theirs) | {"unit": "07222"})
            ).status_code == 201
    wrong = await emulation.post(url, NEIGHBOUR_OFFICER, household_nominee(mine) | {"unit": "07222"})
    assert (wrong.status_code, wrong.json()["code"]) == (404, "household_not_found")
    for foreign in FOREIGN:  # another commune, district or province: refused before the household is looked at
        assert (await emulation.post(url, foreign, household_nominee(mine))).status_code == 403
    assert await scalar(emulation.db_url, "SELECT count(*) FROM em_nominations") == 3


async def test_household_registrants_are_checked_the_same_way(emulation: Emulation) -> None:
    mine, gone, theirs = (str(uuid.uuid4()) for _ in range(3))
    await known_households(emulation.js, emulation.db_url, [
        household_event(mine, COMMUNE), household_event(gone, COMMUNE), removed_event(gone, COMMUNE, 2),
        household_event(theirs, NEIGHBOUR)])
    movement = await launched(emulation)
    url = f"/emulation/movements/{movement['id']}/registrations"

    def body(household_id: str, unit: str = "07207") -> dict[str, Any]:
        return {"unit": unit, "year": 2018, "registrant_kind": "household", "registrant_name": "Hộ bà Lê Thị Mai",
                "household_id": household_id, "title_sought": "gia_dinh_van_hoa",
                "commitment": "Thoát nghèo trong năm 2018"}

    assert (await emulation.post(url, COMMUNE_OFFICER, body(mine))).status_code == 201
    for household_id, who, status, code in ((str(uuid.uuid4()), COMMUNE_OFFICER, 404, "household_not_found"),
                                            (theirs, COMMUNE_OFFICER, 404, "household_not_found"),
                                            (gone, COMMUNE_OFFICER, 422, "household_removed"),
                                            (theirs, DISTRICT_OFFICER, 422, "household_outside_unit")):
        refused = await emulation.post(url, who, body(household_id))
        assert (refused.status_code, refused.json()["code"]) == (status, code), refused.text
        assert refused.json()["errors"][0]["field"] == "household_id"
    assert (await emulation.post(url, NEIGHBOUR_OFFICER, body(mine, "07222"))).status_code == 404
    for foreign in FOREIGN:
        assert (await emulation.post(url, foreign, body(mine))).status_code in (403, 404)
    assert await scalar(emulation.db_url, "SELECT count(*) FROM em_registrations") == 1


async def test_a_household_an_import_brought_becomes_known_when_the_registry_restates_it(emulation: Emulation) -> None:
    """An import writes no `.registered` event: the operator's republish (`registry.household.restated`,
    at the household's current version) makes it known; a restatement older than a removal changes nothing."""
    imported, gone = str(uuid.uuid4()), str(uuid.uuid4())
    unknown = await emulation.post("/emulation/nominations", COMMUNE_OFFICER, household_nominee(imported))
    assert (unknown.status_code, unknown.json()["code"]) == (404, "household_not_found")
    await known_households(emulation.js, emulation.db_url, [
        household_event(imported, COMMUNE, kind="restated"),
        household_event(gone, COMMUNE), removed_event(gone, COMMUNE, 2),
        household_event(gone, COMMUNE, version=1, kind="restated")])  # read before the removal, relayed after
    made = await emulation.post("/emulation/nominations", COMMUNE_OFFICER, household_nominee(imported))
    assert made.status_code == 201, made.text
    removed = await emulation.post("/emulation/nominations", COMMUNE_OFFICER, household_nominee(gone))
    assert (removed.status_code, removed.json()["code"]) == (422, "household_removed")
