"""Temporary houses removed, an automatic criterion from support's housing deliveries (new house,
repair; quantities in the measure `house`), counted per unit and year, scored against the targets
handed down; the manual criterion of the same name still works."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.emulation.conftest import (
    COMMUNE,
    DISTRICT,
    NEIGHBOUR,
    OTHER_DISTRICT_COMMUNE,
    PROVINCE_BOARD,
    PROVINCE_OFFICER,
    Emulation,
    launched,
    principal,
)
from tests.emulation.events_kit import scores
from tests.kit import eventually, scalar
from tests.reporting.registry_events import publish
from tests.reporting.support_events import batch_event, delivery, delivery_event

OTHER_COMMUNE = "v2008.24.213.07231"


def housing(path: str, programme: str, houses: int, on: str = "2018-06-01", **changes: Any) -> dict[str, Any]:
    state = delivery(path, programme, houses * 40_000_000, quantities=[("house", str(houses))], delivered_on=on,
                     **changes)
    return state | {"programme_category": "housing"}


async def _targets(emulation: Emulation, movement_id: str) -> None:
    url = f"/emulation/movements/{movement_id}/targets"
    for unit, body in (("24", {"value": "10"}),
                       ("24", {"children": [{"unit": "213", "value": "6"}, {"unit": "215", "value": "4"}]}),
                       ("213", {"children": [{"unit": "07207", "value": "3"}, {"unit": "07222", "value": "2"},
                                             {"unit": "07231", "value": "1"}]})):
        answer = await emulation.post(url, PROVINCE_OFFICER, {"unit": unit, "year": 2018,
                                                              "indicator": "temporary_houses_removed"} | body)
        assert answer.status_code == 200, answer.text


def _criterion(held: dict[str, Any], path: str, key: str) -> dict[str, Any]:
    return dict(next(c for c in held[path]["criteria"] if c["key"] == key))


async def test_houses_from_housing_deliveries_are_scored_against_targets(emulation: Emulation) -> None:
    movement_id = str((await launched(emulation))["id"])
    await _targets(emulation, movement_id)
    base = f"/emulation/movements/{movement_id}/criteria-sets"
    communes = await emulation.post(base, PROVINCE_BOARD, {"unit": "24", "year": 2018, "level": "commune", "criteria": [
        {"key": "houses", "name": "Xóa nhà tạm, nhà dột nát", "kind": "auto", "source": "temporary_houses_removed",
         "weight": 60},
        {"key": "houses_checked", "name": "Kiểm tra nhà tạm tại chỗ", "kind": "manual", "weight": 40}]})
    assert communes.status_code == 200, communes.text
    districts = await emulation.post(base, PROVINCE_BOARD, {"unit": "24", "year": 2018, "level": "district",
                                                            "criteria": [{"key": "houses", "name": "Xóa nhà tạm",
                                                                          "kind": "auto",
                                                                          "source": "temporary_houses_removed",
                                                                          "weight": 100}]})
    assert districts.status_code == 200, districts.text
    voided = housing(NEIGHBOUR, "housing_repair", 1)
    await publish(emulation.js, [
        delivery_event(housing(COMMUNE, "housing_new", 2)), delivery_event(housing(COMMUNE, "housing_repair", 1)),
        delivery_event(housing(COMMUNE, "housing_new", 5, on="2019-02-01")),  # another year
        delivery_event(delivery(COMMUNE, "monthly_rice", 900_000, quantities=[("kg", "60")])),  # not housing
        delivery_event(housing(NEIGHBOUR, "housing_new", 1)), delivery_event(voided),
        delivery_event(voided | {"status": "voided", "version": 2, "void_reason": "Ghi nhầm"},
                       "support.delivery.voided"),
        batch_event([housing(OTHER_DISTRICT_COMMUNE, "housing_new", 1),
                     housing(OTHER_DISTRICT_COMMUNE, "housing_repair", 1)]),
    ])

    async def counted() -> bool:
        held = await scores(emulation.db_url)
        return bool(_criterion(held, OTHER_DISTRICT_COMMUNE, "houses")["value"] == 2
                    and await scalar(emulation.db_url, "SELECT count(*) FROM em_rescore_queue") == 0
                    and Decimal(held[NEIGHBOUR]["total"]) == 30)

    await eventually(counted, timeout=30)
    held = await scores(emulation.db_url)
    shown = {p: (_criterion(held, p, "houses")["value"], _criterion(held, p, "houses")["target"],
                 _criterion(held, p, "houses")["points"]) for p in (COMMUNE, NEIGHBOUR, OTHER_COMMUNE,
                                                                   OTHER_DISTRICT_COMMUNE, DISTRICT)}
    assert shown == {COMMUNE: (3, 3, 60), NEIGHBOUR: (1, 2, 30), OTHER_COMMUNE: (0, 1, 0),
                     OTHER_DISTRICT_COMMUNE: (2, None, 0),  # no target handed to it: no points
                     DISTRICT: (4, 6, 66.67)}  # the district's communes' houses against the district's target
    assert _criterion(held, COMMUNE, "houses")["source"] == "temporary_houses_removed"
    # The manual criterion: the board's points with evidence.
    manual = await emulation.post(f"/emulation/criteria-sets/{communes.json()['id']}/manual-scores", PROVINCE_BOARD,
                                  {"unit": "07231", "criterion": "houses_checked", "points": "25",
                                   "evidence": "Biên bản kiểm tra nhà ở 10/2018"})
    assert manual.status_code == 200, manual.text
    checked = _criterion(await scores(emulation.db_url), OTHER_COMMUNE, "houses_checked")
    assert (checked["kind"], checked["points"], checked["evidence"]) == ("manual", 25,
                                                                         "Biên bản kiểm tra nhà ở 10/2018")
    # What each unit reads: its own score, its houses against its target; not another commune's.
    mine = await emulation.get(f"/emulation/movements/{movement_id}/scores", principal("commune_officer", [COMMUNE]),
                               year=2018)
    assert [(s["unit_path"], s["total"]) for s in mine.json()["items"]] == [(COMMUNE, "60.00")]
    neighbour = await emulation.get(f"/emulation/movements/{movement_id}/scores",
                                    principal("commune_officer", [NEIGHBOUR]), year=2018)
    assert COMMUNE not in neighbour.text
