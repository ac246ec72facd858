"""Coverage gaps: poor and near-poor households without a health-insurance card this year, poor
households with a temporary or damaged house without housing support, and households that escaped
poverty and still get poor-only support; scoped, paged, exportable whole as CSV or XLSX with Vietnamese
column titles."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import replace
from datetime import UTC, datetime

import httpx
from openpyxl import load_workbook

from services.support.gaps.rules import xlsx_too_many
from services.support.gaps.schemas import (
    DELIVERY_COLUMNS,
    DEPRIVED_COLUMNS,
    HOUSEHOLD_COLUMNS,
    DeliveryGap,
    DeprivedHouseholdGap,
    HouseholdGap,
)
from services.support.gaps.service import BATCH
from shared.events import Event
from tests.kit import fetch
from tests.support.conftest import (
    A0,
    A1,
    DISTRICT_A_OFFICER,
    FOREIGN,
    OFFICER_A0,
    OFFICER_B0,
    OTHER_DISTRICT,
    OTHER_PROVINCE,
    Support,
    assessed,
    household_event,
    housing_repair,
)


def _csv(answer: httpx.Response) -> list[dict[str, str]]:
    """The CSV export's rows, keyed by its (Vietnamese) column titles."""
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv"), answer.text
    return list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))


def _xlsx(answer: httpx.Response) -> list[tuple[object, ...]]:
    """The XLSX export's rows, its title line first."""
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return list(load_workbook(io.BytesIO(answer.content)).active.iter_rows(values_only=True))


def _card(household: str, programme: str = "bhyt_poor") -> dict[str, object]:
    return {"household_id": household, "programme": programme, "delivered_on": "2024-02-01",
            "quantities": [{"measure": "card", "quantity": 4}], "body": "bhxh"}


async def test_poor_and_near_poor_households_without_a_card_this_year(support: Support) -> None:
    covered, missing = await support.household(A0, "poor"), await support.household(A0, "poor")
    near_poor = await support.household(A0, "near_poor")
    await support.household(A0, "middle_income")
    elsewhere = await support.household(A1, "poor")
    assert (await support.call("POST", "/support/deliveries", OFFICER_A0, json=_card(covered))).status_code == 201
    gap = (await support.call("GET", "/support/gaps/health-insurance", OFFICER_A0, params={"year": 2024})).json()
    assert {i["household_id"] for i in gap["items"]} == {missing, near_poor} and gap["total"] == 2
    district = (await support.call("GET", "/support/gaps/health-insurance", DISTRICT_A_OFFICER,
                                   params={"year": 2024})).json()
    assert {i["household_id"] for i in district["items"]} == {missing, near_poor, elsewhere}
    commune = (await support.call("GET", "/support/gaps/health-insurance", DISTRICT_A_OFFICER,
                                  params={"year": 2024, "unit": "07210"})).json()
    assert [i["household_id"] for i in commune["items"]] == [elsewhere]
    rows = _csv(await support.call("GET", "/support/gaps/health-insurance", DISTRICT_A_OFFICER,
                                   params={"year": 2024, "format": "csv"}))
    assert list(rows[0]) == ["ID hộ", "Mã hộ", "Mã xã", "Mã đơn vị (đầy đủ)", "Tình trạng hộ"]
    assert {r["ID hộ"] for r in rows} == {missing, near_poor, elsewhere}
    assert {r["Tình trạng hộ"] for r in rows} == {"poor", "near_poor"}
    sheet = _xlsx(await support.call("GET", "/support/gaps/health-insurance", DISTRICT_A_OFFICER,
                                     params={"year": 2024, "format": "xlsx"}))
    assert sheet[0] == tuple(HOUSEHOLD_COLUMNS.values())
    assert {row[0] for row in sheet[1:]} == {missing, near_poor, elsewhere}
    # Cards recorded as an aggregate batch name no household: the gap stays, the batch is counted beside it.
    batch = {"unit": "07207", "hierarchy": "v2008", "programme": "bhyt_poor", "delivered_on": "2024-03-01",
             "households": 520, "persons": 1405, "quantities": [{"measure": "card", "quantity": 1405}], "body": "bhxh"}
    assert (await support.call("POST", "/support/deliveries/aggregate", OFFICER_A0, json=batch)).status_code == 201
    gap = (await support.call("GET", "/support/gaps/health-insurance", OFFICER_A0, params={"year": 2024})).json()
    assert {i["household_id"] for i in gap["items"]} == {missing, near_poor}
    assert (gap["aggregate_deliveries"], gap["aggregate_cards"], gap["aggregate_households"]) == (1, 1405, 520)
    district = (await support.call("GET", "/support/gaps/health-insurance", DISTRICT_A_OFFICER,
                                   params={"year": 2024})).json()
    assert district["aggregate_cards"] == 1405 and district["total"] == 3
    other_commune = (await support.call("GET", "/support/gaps/health-insurance", DISTRICT_A_OFFICER,
                                        params={"year": 2024, "unit": "07210"})).json()
    assert other_commune["aggregate_cards"] == 0
    for officer in (OFFICER_B0, OTHER_DISTRICT, OTHER_PROVINCE):
        assert (await support.call("GET", "/support/gaps/health-insurance", officer,
                                   params={"year": 2024})).json()["aggregate_cards"] == 0, officer.role
    # Next year everyone lacks one again; another commune sees none of these households.
    assert (await support.call("GET", "/support/gaps/health-insurance", OFFICER_A0,
                               params={"year": 2025})).json()["total"] == 3
    assert (await support.call("GET", "/support/gaps/health-insurance", OFFICER_B0,
                               params={"year": 2024})).json()["total"] == 0
    assert (await support.call("GET", "/support/gaps/health-insurance", OFFICER_B0,
                                params={"unit": "07207"})).status_code == 404


async def test_another_unit_cannot_export_the_health_insurance_gap(support: Support) -> None:
    mine = await support.household(A0, "poor")
    assert [r["ID hộ"] for r in _csv(await support.call("GET", "/support/gaps/health-insurance", OFFICER_A0,
                                                        params={"year": 2024, "format": "csv"}))] == [mine]
    for officer in FOREIGN:  # another commune of the district, another district, another province
        for fmt, rows in (("csv", _csv), ("xlsx", lambda a: _xlsx(a)[1:])):
            own = await support.call("GET", "/support/gaps/health-insurance", officer,
                                     params={"year": 2024, "format": fmt})
            assert rows(own) == [], (officer.role, fmt)
            named = await support.call("GET", "/support/gaps/health-insurance", officer,
                                       params={"year": 2024, "format": fmt, "unit": "07207", "hierarchy": "v2008"})
            assert named.status_code == 404 and mine not in named.text, (officer.role, fmt)


async def test_households_that_escaped_poverty_and_still_get_poor_only_support(support: Support) -> None:
    """Only poor-only support delivered on or after the day the escape was recognised is a gap: a card
    received while the household was still poor (February, or November during the review) is fine."""
    household = str(uuid.uuid4())
    await support.publish([household_event(household, A0, "poor")])
    await support.wait_version(household, 1)
    while_poor = await support.call("POST", "/support/deliveries", OFFICER_A0, json=_card(household))
    assert while_poor.status_code == 201
    during_review = await support.call("POST", "/support/deliveries", OFFICER_A0,
                                       json={**_card(household), "delivered_on": "2024-11-01"})
    assert during_review.status_code == 201
    # The registry recognised the escape at 20:00 UTC on 9 December: 10 December in Vietnam.
    escape = replace(assessed(household, A0, 2024, "near_poor", "poor", "escaped_poverty", 2),
                     occurred_at=datetime(2024, 12, 9, 20, 0, tzinfo=UTC))
    await support.publish([escape])
    await support.wait_version(household, 2)
    late = await support.call("POST", "/support/deliveries", DISTRICT_A_OFFICER,
                              json={**_card(household), "delivered_on": "2024-12-10",
                                    "override_reason": "Cấp theo danh sách cũ"})
    assert late.status_code == 201
    gap = (await support.call("GET", "/support/gaps/escaped-still-supported", OFFICER_A0,
                              params={"review_year": 2024})).json()
    assert gap["total"] == 1 and [i["delivery_id"] for i in gap["items"]] == [late.json()["id"]]
    assert gap["items"][0]["transition"] == "escaped_poverty" and gap["items"][0]["recognised_on"] == "2024-12-10"
    # Another review year's gap does not list it; another commune sees none of it.
    assert (await support.call("GET", "/support/gaps/escaped-still-supported", OFFICER_A0,
                               params={"review_year": 2023})).json()["total"] == 0
    assert (await support.call("GET", "/support/gaps/escaped-still-supported", OFFICER_B0,
                               params={"review_year": 2024})).json()["total"] == 0
    # The exports: the same one delivery, Vietnamese column titles, the dates as dates in XLSX.
    [row] = _csv(await support.call("GET", "/support/gaps/escaped-still-supported", DISTRICT_A_OFFICER,
                                    params={"review_year": 2024, "format": "csv"}))
    assert list(row) == list(DELIVERY_COLUMNS.values())
    assert (row["ID lần hỗ trợ"], row["ID hộ"], row["Ngày hỗ trợ"], row["Mã chương trình"], row["Biến động"],
            row["Năm rà soát"], row["Ngày công nhận thoát nghèo"]) == (
        late.json()["id"], household, "2024-12-10", "bhyt_poor", "escaped_poverty", "2024", "2024-12-10")
    title, line = _xlsx(await support.call("GET", "/support/gaps/escaped-still-supported", OFFICER_A0,
                                           params={"review_year": 2024, "format": "xlsx"}))
    cells = dict(zip(title, line, strict=True))
    assert cells["ID lần hỗ trợ"] == late.json()["id"] and cells["Năm rà soát"] == 2024
    assert cells["Ngày hỗ trợ"] == cells["Ngày công nhận thoát nghèo"] == datetime(2024, 12, 10)
    for officer in FOREIGN:
        for fmt, rows in (("csv", _csv), ("xlsx", lambda a: _xlsx(a)[1:])):
            own = await support.call("GET", "/support/gaps/escaped-still-supported", officer,
                                     params={"review_year": 2024, "format": fmt})
            assert rows(own) == [], (officer.role, fmt)
            named = await support.call("GET", "/support/gaps/escaped-still-supported", officer,
                                       params={"review_year": 2024, "format": fmt, "unit": "07207"})
            assert named.status_code == 404, (officer.role, fmt)


HOUSING = ["housing_quality"]


async def _assessed_household(support: Support, unit_path: str, status: str, deprived: list[str]) -> str:
    """A household the registry registered and then assessed (version 2) with these deprivations."""
    household = str(uuid.uuid4())
    await support.publish([household_event(household, unit_path, None),
                           assessed(household, unit_path, 2024, status, None, "newly_poor", 2, deprived)])
    await support.wait_version(household, 2)
    return household


async def test_poor_households_with_a_temporary_or_damaged_house_without_housing_support(support: Support) -> None:
    """Issue 11 item 8: poor households flagged with temporary or damaged housing (`housing_quality`) and
    no housing support. Too little floor space (`housing_area`) is not this gap, nor are near-poor
    households."""
    helped = await _assessed_household(support, A0, "poor", ["housing_quality", "latrine"])
    unhelped = await _assessed_household(support, A0, "poor", HOUSING)
    await _assessed_household(support, A0, "poor", ["housing_area", "latrine"])  # small, not temporary
    await _assessed_household(support, A0, "near_poor", HOUSING)  # near-poor: not this gap
    await _assessed_household(support, A0, "poor", ["latrine", "employment"])  # housing is fine
    await _assessed_household(support, A0, "middle_income", HOUSING)  # not poor
    elsewhere = await _assessed_household(support, A1, "poor", ["housing_quality", "housing_area"])
    repaired = await support.call("POST", "/support/deliveries", OFFICER_A0, json=housing_repair(helped))
    assert repaired.status_code == 201

    gap = (await support.call("GET", "/support/gaps/housing", OFFICER_A0, params={"year": 2024})).json()
    assert {i["household_id"]: i["deprived_indicators"] for i in gap["items"]} == {unhelped: HOUSING}
    assert gap["total"] == 1 and gap["items"][0]["status"] == "poor"
    district = (await support.call("GET", "/support/gaps/housing", DISTRICT_A_OFFICER, params={"year": 2024})).json()
    assert {i["household_id"] for i in district["items"]} == {unhelped, elsewhere}
    # Support in another year does not close this year's gap; a period covering it does.
    assert helped in {i["household_id"] for i in (await support.call(
        "GET", "/support/gaps/housing", OFFICER_A0, params={"year": 2025})).json()["items"]}
    campaign = (await support.call("GET", "/support/gaps/housing", OFFICER_A0,
                                   params={"from": "2021-01-01", "to": "2025-12-31"})).json()
    assert {i["household_id"] for i in campaign["items"]} == {unhelped}
    backwards = await support.call("GET", "/support/gaps/housing", OFFICER_A0,
                                   params={"from": "2025-01-01", "to": "2024-01-01"})
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "to"

    rows = _csv(await support.call("GET", "/support/gaps/housing", DISTRICT_A_OFFICER,
                                   params={"year": 2024, "format": "csv"}))
    assert list(rows[0]) == list(DEPRIVED_COLUMNS.values())
    assert {r["ID hộ"]: r["Chỉ số thiếu hụt"] for r in rows} == {
        unhelped: "housing_quality", elsewhere: "housing_quality;housing_area"}
    sheet = _xlsx(await support.call("GET", "/support/gaps/housing", DISTRICT_A_OFFICER,
                                     params={"year": 2024, "format": "xlsx"}))
    assert sheet[0][-1] == "Chỉ số thiếu hụt" and {row[0]: row[-1] for row in sheet[1:]} == {
        unhelped: "housing_quality", elsewhere: "housing_quality;housing_area"}

    # A registration update (no indicators in it) keeps them; a new assessment without a housing
    # deprivation takes the household out of the gap.
    await support.publish([household_event(unhelped, A0, "poor", version=3, type_="registry.household.updated")])
    await support.wait_version(unhelped, 3)
    assert unhelped in {i["household_id"] for i in (await support.call(
        "GET", "/support/gaps/housing", OFFICER_A0, params={"year": 2024})).json()["items"]}
    await support.publish([assessed(unhelped, A0, 2025, "poor", "poor", "stayed", 4, ["latrine", "housing_area"])])
    await support.wait_version(unhelped, 4)
    assert (await support.call("GET", "/support/gaps/housing", OFFICER_A0,
                               params={"year": 2024})).json()["total"] == 0


async def test_the_housing_gap_of_another_unit_is_not_shown(support: Support) -> None:
    await _assessed_household(support, A0, "poor", HOUSING)
    for officer in (OFFICER_B0, OTHER_DISTRICT, OTHER_PROVINCE):
        mine = await support.call("GET", "/support/gaps/housing", officer, params={"year": 2024})
        assert mine.status_code == 200 and mine.json()["total"] == 0, officer.role
        named = await support.call("GET", "/support/gaps/housing", officer, params={"unit": "07207"})
        assert named.status_code == 404, officer.role
        exported = await support.call("GET", "/support/gaps/housing", officer, params={"year": 2024, "format": "csv"})
        assert exported.content.decode("utf-8-sig").strip().count("\n") == 0, officer.role  # the header only


async def test_a_bulk_registry_import_tells_the_indicators_and_the_gaps_wait_for_the_recognition(
        support: Support) -> None:
    """An import's assessment is recorded, not recognised (the registry's household status stays null):
    the household is in no gap until a review recognises it poor or near-poor."""
    household = str(uuid.uuid4())
    item = {**assessed(household, A0, 2024, "poor", None, "newly_poor", 1, ["housing_quality", "latrine"]).payload,
            "version": 1, "unit_path": A0}
    await support.publish([Event(type="registry.household.assessed_batch", producer="registry",
                                 subject_id=str(uuid.uuid4()), unit_code="07207", unit_path=A0,
                                 payload={"items": [item]})])
    await support.wait_version(household, 1)
    held = await fetch(support.db_url, "SELECT status, deprived_indicators FROM sp_households WHERE id = $1",
                       uuid.UUID(household))
    assert (held[0]["status"], held[0]["deprived_indicators"]) == (None, ["housing_quality", "latrine"])
    for gap in ("housing", "health-insurance"):
        unrecognised = await support.call("GET", f"/support/gaps/{gap}", OFFICER_A0, params={"year": 2024})
        assert unrecognised.status_code == 200 and unrecognised.json()["total"] == 0, gap
    await support.publish([assessed(household, A0, 2024, "poor", None, "newly_poor", 2,
                                    ["housing_quality", "latrine"])])
    await support.wait_version(household, 2)
    gap = (await support.call("GET", "/support/gaps/housing", OFFICER_A0, params={"year": 2024})).json()
    assert [i["household_id"] for i in gap["items"]] == [household]
    assert gap["items"][0]["deprived_indicators"] == ["housing_quality", "latrine"]
    cards = (await support.call("GET", "/support/gaps/health-insurance", OFFICER_A0, params={"year": 2024})).json()
    assert [i["household_id"] for i in cards["items"]] == [household]


async def test_an_export_holds_the_whole_list_past_one_batch_of_the_cursor(support: Support) -> None:
    """A unit's list can be long: CSV and XLSX hold every row (the old export stopped at a fixed count
    without saying so), read from the database a batch at a time."""
    many = BATCH * 2 + 7
    await fetch(support.db_url, """
        INSERT INTO sp_households (id, household_code, commune_code, status, status_year, member_count,
                                   deprived_indicators, removed, version, changed_at, applied_at, unit_path)
        SELECT gen_random_uuid(), 'HN-' || lpad(n::text, 5, '0'), '07207', 'poor', 2024, 4, ARRAY['housing_quality'],
               false, 1, now(), now(), $1
        FROM generate_series(1, $2) AS n""", A0, many)
    page = (await support.call("GET", "/support/gaps/housing", OFFICER_A0, params={"year": 2024})).json()
    assert page["total"] == many and len(page["items"]) == 50
    codes = [r["Mã hộ"] for r in _csv(await support.call("GET", "/support/gaps/housing", OFFICER_A0,
                                                         params={"year": 2024, "format": "csv"}))]
    assert codes == [f"HN-{n:05d}" for n in range(1, many + 1)]
    sheet = _xlsx(await support.call("GET", "/support/gaps/housing", OFFICER_A0,
                                     params={"year": 2024, "format": "xlsx"}))
    assert [row[1] for row in sheet[1:]] == codes
    # Another commune's export of its own list holds none of them.
    assert _csv(await support.call("GET", "/support/gaps/housing", OFFICER_B0,
                                   params={"year": 2024, "format": "csv"})) == []
    # The gateway waits for a whole list longer than for a page (its rule is read from the document).
    document = support.app.openapi()["paths"]
    assert {document[f"/support/gaps/{gap}"]["get"]["x-gateway"]["timeout"]
            for gap in ("health-insurance", "housing", "escaped-still-supported")} == {300}


def test_each_export_titles_every_field_of_its_list_in_vietnamese() -> None:
    for model, columns in ((HouseholdGap, HOUSEHOLD_COLUMNS), (DeprivedHouseholdGap, DEPRIVED_COLUMNS),
                           (DeliveryGap, DELIVERY_COLUMNS)):
        assert list(columns) == list(model.model_fields), model.__name__
        assert len(set(columns.values())) == len(columns), model.__name__


def test_a_list_longer_than_an_xlsx_sheet_is_refused_with_its_count() -> None:
    assert xlsx_too_many(1_048_575) is None
    refusal = xlsx_too_many(1_500_000)
    assert refusal is not None and "1,500,000" in refusal and "format=csv" in refusal
