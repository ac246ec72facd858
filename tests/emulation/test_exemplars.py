"""Exemplary models: recognised by a unit, listed for the unit, the units above and below, withdrawn."""

from __future__ import annotations

from typing import Any

from tests.emulation.conftest import (
    COMMUNE,
    COMMUNE_OFFICER,
    DISTRICT_OFFICER,
    FOREIGN,
    PROVINCE_OFFICER,
    Emulation,
    launched,
)
from tests.emulation.events_kit import outbox, reporting_row
from tests.kit import scalar


def model(**changes: Any) -> dict[str, Any]:
    return {"unit": "07207", "kind": "model", "name": "Tổ thu gom phế liệu giúp hộ nghèo",
            "summary": "Mỗi tháng góp 2 triệu đồng cho 3 hộ nghèo", "evidence": ["Biên bản kiểm tra 05/2018"],
            "recognised_by": "UBND phường Ngô Quyền", "recognised_on": "2018-08-01",
            "document_number": "15/QĐ-UBND"} | changes


async def test_models_are_recognised_listed_and_withdrawn(emulation: Emulation) -> None:
    movement = await launched(emulation)
    made = await emulation.post("/emulation/exemplars", COMMUNE_OFFICER, model(movement_id=movement["id"]))
    assert made.status_code == 201, made.text
    province = await emulation.post("/emulation/exemplars", PROVINCE_OFFICER, model(
        unit="24", kind="collective", name="Hội LHPN tỉnh", recognised_by="UBND tỉnh Bắc Giang"))
    assert province.status_code == 201
    mine = (await emulation.get("/emulation/exemplars", COMMUNE_OFFICER)).json()
    assert {e["name"] for e in mine["items"]} == {"Tổ thu gom phế liệu giúp hộ nghèo", "Hội LHPN tỉnh"}
    of_ward = (await emulation.get("/emulation/exemplars", DISTRICT_OFFICER, unit="07207")).json()["items"]
    assert [(e["unit_path"], e["kind_name"]) for e in of_ward] == [(COMMUNE, "Mô hình hay")]
    for foreign in FOREIGN:
        seen = (await emulation.get("/emulation/exemplars", foreign)).json()["items"]
        assert made.json()["id"] not in {e["id"] for e in seen}
        refused = await emulation.post(f"/emulation/exemplars/{made.json()['id']}/withdrawal", foreign,
                                       {"reason": "x"})
        assert refused.status_code == 404
    future = await emulation.post("/emulation/exemplars", COMMUNE_OFFICER, model(recognised_on="2099-01-01"))
    assert future.status_code == 422 and future.json()["errors"][0]["field"] == "recognised_on"
    url = f"/emulation/exemplars/{made.json()['id']}/withdrawal"
    assert (await emulation.post(url, COMMUNE_OFFICER, {"reason": "Mô hình ngừng hoạt động"})).status_code == 200
    assert (await emulation.post(url, COMMUNE_OFFICER, {"reason": "again"})).status_code == 409
    assert (await emulation.get("/emulation/exemplars", COMMUNE_OFFICER, unit="07207")).json()["total"] == 0
    assert await scalar(emulation.db_url, "SELECT count(*) FROM em_exemplars") == 2
    recognised = await outbox(emulation.db_url, "emulation.exemplar.recognised")
    assert {reporting_row(e)["name"] for e in recognised} == {"Tổ thu gom phế liệu giúp hộ nghèo", "Hội LHPN tỉnh"}
    [withdrawn] = await outbox(emulation.db_url, "emulation.exemplar.withdrawn")
    assert reporting_row(withdrawn)["withdrawn"] is True and withdrawn.version == 2


async def test_a_model_of_a_unit_outside_the_movement_it_names_is_refused(emulation: Emulation) -> None:
    movement = await launched(emulation, unit="213")  # the district's: commune 07243 of another district is not in it
    outside = await emulation.post("/emulation/exemplars", PROVINCE_OFFICER,
                                   model(unit="07243", movement_id=movement["id"]))
    assert outside.status_code == 422 and outside.json()["code"] == "unit_outside_movement", outside.text
    assert outside.json()["errors"][0]["field"] == "movement_id"
    assert await scalar(emulation.db_url, "SELECT count(*) FROM em_exemplars") == 0
    inside = await emulation.post("/emulation/exemplars", PROVINCE_OFFICER, model(movement_id=movement["id"]))
    assert inside.status_code == 201, inside.text
