"""A fund's statement as an XLSX workbook: the figures, then every entry of the period. Money is
written as numbers, never as text: integer VND (`#,##0`) and million VND rounded to two decimals
(`#,##0.00`), so that Excel shows them with the reader's own separators ("95,00" in a Vietnamese
locale) and they add up. Text typed by people goes through `shared.text.neutralise_formula` (a donor
named "=..." stays text)."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from services.support.deliveries.rules import million_vnd
from shared.text import neutralise_formula

KINDS = {"donation": "Ủng hộ", "spend": "Chi hỗ trợ", "transfer_out": "Chuyển quỹ cấp dưới",
         "transfer_in": "Nhận từ quỹ cấp trên", "refund": "Hoàn lại quỹ",
         "reversal": "Bút toán đảo (sửa sai)"}
VND_FORMAT, MILLION_FORMAT = "#,##0", "#,##0.00"
HEADERS = ("Ngày", "Loại", "Số tiền (đồng)", "Số dư sau (đồng)", "Người/đơn vị ủng hộ", "Số phiếu thu",
           "Năm vận động", "Nội dung chi", "Ghi chú")


def render_xlsx(statement: dict[str, Any]) -> bytes:
    fund = statement["fund"]
    book = Workbook()
    sheet = book.active
    sheet.title = "Sao kê"
    sheet.append([neutralise_formula(fund.name)])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([f"Từ ngày {statement['date_from']:%d/%m/%Y} đến ngày {statement['date_to']:%d/%m/%Y}"])
    sheet.append([])
    sheet.append(["", "Số tiền (đồng)", "Số tiền (triệu đồng)"])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for label, key in (("Số dư đầu kỳ", "opening_vnd"), ("Thu trong kỳ", "in_vnd"), ("Chi trong kỳ", "out_vnd"),
                       ("Số dư cuối kỳ", "closing_vnd")):
        sheet.append([label, statement[key], Decimal(million_vnd(statement[key]))])
        sheet.cell(sheet.max_row, 2).number_format = VND_FORMAT
        sheet.cell(sheet.max_row, 3).number_format = MILLION_FORMAT
    sheet.append([])
    sheet.append(list(HEADERS))
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for entry in statement["entries"]:
        sheet.append([entry.occurred_on, KINDS.get(entry.kind, entry.kind), entry.amount_vnd, entry.balance_after,
                      neutralise_formula(entry.donor_name), neutralise_formula(entry.receipt_number),
                      entry.campaign_year, neutralise_formula(entry.purpose), neutralise_formula(entry.note)])
        sheet.cell(sheet.max_row, 1).number_format = "DD/MM/YYYY"
        sheet.cell(sheet.max_row, 3).number_format = VND_FORMAT
        sheet.cell(sheet.max_row, 4).number_format = VND_FORMAT
    for column, width in zip("ABCDEFGHI", (12, 20, 16, 16, 30, 14, 12, 30, 30), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
