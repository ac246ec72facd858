"""Movements, their documents and counted activities: seed 001's directive, reads across levels,
validation, and every route refused to callers of another commune, district or province."""

from __future__ import annotations

from tests.emulation.conftest import (
    COMMUNE,
    COMMUNE_OFFICER,
    DISTRICT_OFFICER,
    FOREIGN,
    NEIGHBOUR_OFFICER,
    OTHER_PROVINCE_OFFICER,
    PROVINCE,
    PROVINCE_OFFICER,
    Emulation,
    launched,
    movement_body,
)
from tests.emulation.events_kit import outbox, reporting_row
from tests.kit import fetch, scalar


async def test_seed_001_launch_is_stored_with_its_directive_and_told_to_reporting(emulation: Emulation) -> None:
    movement = await launched(emulation)
    assert movement["unit_path"] == PROVINCE and movement["level"] == "province"
    assert [p["kind"] for p in movement["phases"]] == ["launch", "midterm_review", "final_review"]
    assert movement["phases"][1]["name"] == "Sơ kết"
    documents = await emulation.get(f"/emulation/movements/{movement['id']}/documents", PROVINCE_OFFICER)
    [directive] = documents.json()["items"]
    assert directive["number"] == "05/CT-UBND" and directive["doc_type_name"] == "Chỉ thị"
    assert directive["launches_movement"] is True
    launched_event = (await outbox(emulation.db_url, "emulation.movement.launched"))[0]
    row = reporting_row(launched_event)
    assert row["movement_id"] == movement["id"] and row["unit_path"] == PROVINCE
    assert str(row["starts_on"]) == "2017-09-27" and row["version"] == 1
    document_event = (await outbox(emulation.db_url, "emulation.document.issued"))[0]
    assert reporting_row(document_event)["number"] == "05/CT-UBND"


async def test_a_commune_reads_its_province_movement_but_another_province_does_not(emulation: Emulation) -> None:
    movement = await launched(emulation)
    url = f"/emulation/movements/{movement['id']}"
    assert (await emulation.get(url, COMMUNE_OFFICER)).status_code == 200
    listed = await emulation.get("/emulation/movements", COMMUNE_OFFICER, unit="07207", year=2018)
    assert [m["id"] for m in listed.json()["items"]] == [movement["id"]]
    assert (await emulation.get("/emulation/movements", COMMUNE_OFFICER, unit="07207", year=2021)).json()["total"] == 0
    assert (await emulation.get(url, OTHER_PROVINCE_OFFICER)).status_code == 404
    assert (await emulation.get("/emulation/movements", OTHER_PROVINCE_OFFICER)).json()["total"] == 0
    assert (await emulation.get(f"{url}/documents", OTHER_PROVINCE_OFFICER)).status_code == 404
    # A unit of another province named in the query: refused.
    assert (await emulation.get("/emulation/movements", COMMUNE_OFFICER, unit="07888")).status_code == 403


async def test_documents_and_activities_of_a_commune(emulation: Emulation) -> None:
    movement = await launched(emulation)
    base = f"/emulation/movements/{movement['id']}"
    plan = await emulation.post(f"{base}/documents", COMMUNE_OFFICER, {
        "unit": "07207", "doc_type": "plan", "number": "108/KH-UBND", "issued_on": "2018-01-19",
        "issuing_body": "UBND phường Ngô Quyền", "summary": "Tổ chức phát động phong trào thi đua"})
    assert plan.status_code == 201, plan.text
    counts = [("broadcast", 57, None), ("news", 128, None), ("portal", 33, None), ("tv_report", 41, None),
              ("conference", 4, 200)]
    for kind, count, participants in counts:
        response = await emulation.post(f"{base}/activities", COMMUNE_OFFICER, {
            "unit": "07207", "kind": kind, "held_on": "2018-05-10", "count": count, "participants": participants})
        assert response.status_code == 201, response.text
    mine = (await emulation.get(f"{base}/activities", COMMUNE_OFFICER, year=2018)).json()
    assert sorted(a["count"] for a in mine["items"]) == [4, 33, 41, 57, 128]
    conference = next(a for a in mine["items"] if a["kind"] == "conference")
    assert conference["participants"] == 200 and conference["measure"] == "sessions"
    # The district above sees them; the neighbouring ward sees none of them, nor the ward's plan.
    assert (await emulation.get(f"{base}/activities", DISTRICT_OFFICER)).json()["total"] == 5
    assert (await emulation.get(f"{base}/activities", NEIGHBOUR_OFFICER)).json()["total"] == 0
    docs = (await emulation.get(f"{base}/documents", NEIGHBOUR_OFFICER)).json()["items"]
    assert [d["number"] for d in docs] == ["05/CT-UBND"]  # the province's directive only
    for event in await outbox(emulation.db_url, "emulation.activity.recorded"):
        assert reporting_row(event)["unit_path"] == COMMUNE
    # Removing one: foreign callers cannot; the owner can, once; reporting is told.
    broadcast = next(a for a in mine["items"] if a["kind"] == "broadcast")
    for foreign in FOREIGN:
        assert (await emulation.delete(f"/emulation/activities/{broadcast['id']}", foreign)).status_code == 404
    assert await scalar(emulation.db_url, "SELECT count(*) FROM em_activities WHERE removed") == 0
    assert (await emulation.delete(f"/emulation/activities/{broadcast['id']}", COMMUNE_OFFICER)).status_code == 200
    assert (await emulation.delete(f"/emulation/activities/{broadcast['id']}", COMMUNE_OFFICER)).status_code == 409
    [removed] = await outbox(emulation.db_url, "emulation.activity.removed")
    assert reporting_row(removed)["removed"] is True and removed.version == 2


async def test_validation_names_the_field_and_stores_nothing(emulation: Emulation) -> None:
    bad = await emulation.post("/emulation/movements", PROVINCE_OFFICER,
                               movement_body(starts_on="2020-01-01", ends_on="2017-01-01"))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "ends_on"
    reviews = [{"kind": "midterm_review", "held_on": "2020-06-01"}, {"kind": "final_review", "held_on": "2019-01-01"}]
    bad = await emulation.post("/emulation/movements", PROVINCE_OFFICER, movement_body(phases=reviews))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "phases"
    bad = await emulation.post("/emulation/movements", PROVINCE_OFFICER, movement_body(document={
        "doc_type": "directive", "number": "năm", "issued_on": "2017-09-27", "summary": "x"}))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "number"
    bad = await emulation.post("/emulation/movements", PROVINCE_OFFICER, movement_body(name="=HYPERLINK(1)"))
    assert bad.status_code == 422
    assert await scalar(emulation.db_url, "SELECT count(*) FROM em_movements") == 0
    movement = await launched(emulation)
    outside = await emulation.post(f"/emulation/movements/{movement['id']}/activities", COMMUNE_OFFICER, {
        "unit": "07207", "kind": "broadcast", "held_on": "2021-03-01", "count": 3})
    assert outside.status_code == 422 and outside.json()["errors"][0]["field"] == "held_on"
    no_participants = await emulation.post(f"/emulation/movements/{movement['id']}/activities", COMMUNE_OFFICER, {
        "unit": "07207", "kind": "news", "held_on": "2018-03-01", "count": 3, "participants": 10})
    assert no_participants.status_code == 422 and no_participants.json()["errors"][0]["field"] == "participants"
    assert await scalar(emulation.db_url, "SELECT count(*) FROM em_activities") == 0
    assert len(await outbox(emulation.db_url)) == 2  # the launch and its directive only


async def test_units_outside_the_caller_or_the_movement_are_refused(emulation: Emulation) -> None:
    # A commune cannot launch for its province; a province cannot record in another province.
    assert (await emulation.post("/emulation/movements", COMMUNE_OFFICER, movement_body())).status_code == 403
    movement = await launched(emulation, unit="213")
    base = f"/emulation/movements/{movement['id']}"
    activity = {"unit": "07207", "kind": "broadcast", "held_on": "2018-03-01", "count": 3}
    for foreign in FOREIGN:
        response = await emulation.post(f"{base}/activities", foreign, activity)
        assert response.status_code in (403, 404), response.text
    elsewhere = await emulation.post(f"{base}/activities", PROVINCE_OFFICER, activity | {"unit": "07243"})
    assert elsewhere.status_code == 422 and elsewhere.json()["code"] == "unit_outside_movement"
    assert await scalar(emulation.db_url, "SELECT count(*) FROM em_activities") == 0


async def test_changing_a_movement_needs_the_current_etag_and_its_unit(emulation: Emulation) -> None:
    movement = await launched(emulation)
    url = f"/emulation/movements/{movement['id']}"
    change = {"phases": [{"kind": "final_review", "held_on": "2020-12-15"}]}
    assert (await emulation.patch(url, PROVINCE_OFFICER, change)).status_code == 428
    assert (await emulation.patch(url, PROVINCE_OFFICER, change, **{"If-Match": '"7"'})).status_code == 412
    assert (await emulation.patch(url, COMMUNE_OFFICER, change, **{"If-Match": '"1"'})).status_code == 403
    changed = await emulation.patch(url, PROVINCE_OFFICER, change, **{"If-Match": '"1"'})
    assert changed.status_code == 200 and changed.headers["ETag"] == '"2"'
    assert changed.json()["phases"] == [{"kind": "final_review", "name": "Tổng kết", "starts_on": None,
                                         "ends_on": None, "held_on": "2020-12-15"}]
    [updated] = await outbox(emulation.db_url, "emulation.movement.updated")
    assert reporting_row(updated)["version"] == 2
    rows = await fetch(emulation.db_url, "SELECT version FROM em_movements")
    assert rows[0]["version"] == 2
