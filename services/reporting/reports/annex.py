"""The report's XLSX annex: every table of the report on a sheet of its own, and a sheet of every
figure with what the data said, the consolidated value, the override and its reason. Text cells go
through shared.text.neutralise_formula, so nothing typed runs as a formula."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from services.reporting.reports.numbers import vn_value
from shared.text import neutralise_formula

SHEET_NAME_LIMIT = 31


def _sheet_title(index: int, title: str) -> str:
    clean = "".join(c for c in title if c not in '[]:*?/\\')
    return f"{index}. {clean}"[:SHEET_NAME_LIMIT]


def render_xlsx(report: dict[str, Any]) -> bytes:
    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    heading = f"{report['type_name']} — {report['unit_name']} — {report['period']}"
    index = 0
    for section in report["sections"]:
        for table in section["tables"]:
            index += 1
            sheet = book.create_sheet(_sheet_title(index, table["title"]))
            sheet.append([neutralise_formula(f"{section['key']}. {section['heading']} — {table['title']}")])
            sheet["A1"].font = Font(bold=True, size=13)
            sheet.append([neutralise_formula(heading)])
            sheet.append([])
            sheet.append([neutralise_formula(c) for c in table["columns"]])
            for cell in sheet[sheet.max_row]:
                cell.font = Font(bold=True)
                cell.alignment = Alignment(wrap_text=True, vertical="center")
            for row in table["rows"]:
                sheet.append([neutralise_formula(c["text"]) for c in row])
            for column in range(1, len(table["columns"]) + 1):
                sheet.column_dimensions[get_column_letter(column)].width = 14 if column > 2 else 28
    sheet = book.create_sheet("Số liệu")
    sheet.append([neutralise_formula(heading)])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append(["Mã chỉ tiêu", "Nội dung", "Chỉ tiêu", "Theo dữ liệu", "Tổng hợp từ báo cáo cấp dưới",
                  "Số liệu báo cáo", "Điều chỉnh", "Lý do điều chỉnh"])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for key, figure in sorted(report["figures"].items()):
        kind = figure.get("measure") or figure["kind"]
        sheet.append([neutralise_formula(key), neutralise_formula(figure["row_label"]),
                      neutralise_formula(figure["label"]),
                      vn_value(figure["data"], kind) if figure.get("data") is not None else "",
                      vn_value(figure["consolidated"], kind) if figure.get("consolidated") is not None else "",
                      vn_value(figure["value"], kind), "có" if figure.get("overridden") else "",
                      neutralise_formula(figure.get("reason") or "")])
    for letter, width in zip("ABCDEFGH", (34, 40, 28, 16, 16, 16, 10, 40), strict=True):
        sheet.column_dimensions[letter].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
