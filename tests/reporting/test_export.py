"""Exports: the same table as the JSON answer, in XLSX and CSV, with Vietnamese headers, within scope."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from tests.reporting.conftest import Reporting
from tests.reporting.registry_events import COMMUNES_B, all_unit_events, province_dataset, unit_event

HEADERS = ["Năm", "Mã đơn vị", "Tên đơn vị", "Cấp", "Tổng số hộ", "Số hộ nghèo", "Tỷ lệ hộ nghèo (%)"]


async def _loaded(reporting: Reporting) -> None:
    data = province_dataset(households=600, seed=8)
    # A unit name that a spreadsheet would run as a formula must arrive as plain text.
    hostile = unit_event(COMMUNES_B[1], version=2, name='=HYPERLINK("http://evil.example","Xã Đồng Tiến")')
    await reporting.publish([*all_unit_events(), hostile])
    await reporting.settled(await reporting.publish(data.events))


async def test_xlsx_has_vietnamese_headers_and_the_answers_figures(reporting: Reporting) -> None:
    await _loaded(reporting)
    answer = await reporting.indicators(unit="24", year=2024)
    response = await reporting.get("/reporting/indicators/poverty.xlsx", unit="24", year=2024)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "chi-tieu-ho-ngheo_v2008_24_2024.xlsx" in response.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert "Tỉnh Bắc Giang" in rows[0][0] and "2024" in rows[0][0]
    assert "Số liệu cập nhật đến sự kiện số" in rows[1][0]
    header = rows[3]
    assert header[: len(HEADERS)] == HEADERS
    table = [dict(zip(header, r, strict=True)) for r in rows[4:]]
    assert [r["Mã đơn vị"] for r in table] == ["24", "213", "215"]
    for row, entry in zip(table, [answer["unit"], *answer["children"]], strict=True):
        assert row["Tổng số hộ"] == entry["households"]
        assert row["Số hộ nghèo"] == entry["poor"]
        assert row["Tỷ lệ hộ nghèo (%)"] == entry["poor_rate"]
        assert row["Số hộ cận nghèo"] == entry["near_poor"]
        assert row["Hộ thoát nghèo"] == entry["transitions"]["escaped_poverty"]


async def test_csv_matches_the_answer_for_a_range_of_years(reporting: Reporting) -> None:
    await _loaded(reporting)
    answer = await reporting.indicators(unit="215", hierarchy="v2008", year_from=2023, year_to=2024)
    for response in (
        await reporting.get("/reporting/indicators/poverty.csv", unit="215", hierarchy="v2008",
                            year_from=2023, year_to=2024),
        await reporting.get("/reporting/indicators/poverty", unit="215", hierarchy="v2008",
                            year_from=2023, year_to=2024, format="csv"),
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert response.content.startswith("\ufeff".encode())
        rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert [(r["Năm"], r["Mã đơn vị"]) for r in rows] == [
            (str(y), code) for y in (2023, 2024) for code in ("215", "07246", "07249", "07252")]
        by_key = {(int(r["Năm"]), r["Mã đơn vị"]): r for r in rows}
        for entry in (answer["unit"], *answer["children"]):
            for point in entry["series"]:
                row = by_key[(point["year"], entry["code"])]
                assert int(row["Tổng số hộ"]) == point["households"]
                assert int(row["Số hộ nghèo"]) == point["poor"]
        hostile = by_key[(2024, "07249")]["Tên đơn vị"]
        assert hostile.startswith("'=HYPERLINK"), "a formula-looking name is written as text"


async def test_xlsx_writes_a_formula_looking_name_as_text(reporting: Reporting) -> None:
    await _loaded(reporting)
    response = await reporting.get("/reporting/indicators/poverty.xlsx", unit="215", hierarchy="v2008", year=2024)
    sheet = load_workbook(io.BytesIO(response.content)).active
    cells = [c for row in sheet.iter_rows() for c in row if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert cells and all(c.data_type == "s" and c.value.startswith("'") for c in cells)
