"""The indicator table as CSV or XLSX, with Vietnamese headers: one row per unit and year.

CSV is UTF-8 with a byte-order mark so spreadsheet programs show Vietnamese correctly. Text cells
that a spreadsheet would run as a formula are written as text (shared.text.neutralise_formula).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from shared.text import neutralise_formula

LEVELS = {"national": "Toàn quốc", "province": "Tỉnh", "district": "Huyện", "commune": "Xã"}

Getter = Callable[[dict[str, Any]], Any]


def _b(breakdown: str, key: str) -> Getter:
    return lambda e: e["breakdowns"][breakdown][key]


def _t(transition: str) -> Getter:
    return lambda e: e["transitions"][transition]


COLUMNS: list[tuple[str, Getter]] = [
    ("Năm", lambda e: e["year"]),
    ("Mã đơn vị", lambda e: e["code"]),
    ("Tên đơn vị", lambda e: e["name"]),
    ("Cấp", lambda e: e.get("type") or LEVELS.get(e["level"], e["level"])),
    ("Tổng số hộ", lambda e: e["households"]),
    ("Số hộ nghèo", lambda e: e["poor"]),
    ("Tỷ lệ hộ nghèo (%)", lambda e: e["poor_rate"]),
    ("Tăng (+), giảm (-) tỷ lệ hộ nghèo so với năm trước (điểm %)", lambda e: e["poor_rate_change_pp"]),
    ("Số hộ cận nghèo", lambda e: e["near_poor"]),
    ("Tỷ lệ hộ cận nghèo (%)", lambda e: e["near_poor_rate"]),
    ("Tăng (+), giảm (-) tỷ lệ hộ cận nghèo so với năm trước (điểm %)", lambda e: e["near_poor_rate_change_pp"]),
    ("Số hộ có mức sống trung bình", lambda e: e["middle_income"]),
    ("Tổng số nhân khẩu", lambda e: e["members"]),
    ("Số nhân khẩu hộ nghèo", lambda e: e["poor_members"]),
    ("Số nhân khẩu hộ cận nghèo", lambda e: e["near_poor_members"]),
    ("Hộ nghèo dân tộc thiểu số", _b("ethnic_minority", "poor")),
    ("Hộ cận nghèo dân tộc thiểu số", _b("ethnic_minority", "near_poor")),
    ("Hộ nghèo thuộc gia đình chính sách", _b("policy_family", "poor")),
    ("Hộ nghèo thuộc diện bảo trợ xã hội", _b("social_protection", "poor")),
    ("Hộ nghèo thành thị", _b("urban", "poor")),
    ("Hộ nghèo nông thôn", _b("rural", "poor")),
    ("Hộ nghèo phát sinh", _t("newly_poor")),
    ("Hộ tái nghèo", _t("re_poor")),
    ("Hộ thoát nghèo", _t("escaped_poverty")),
    ("Hộ thoát cận nghèo", _t("escaped_near_poverty")),
    ("Hộ cận nghèo mới", _t("became_near_poor")),
]


def table_rows(report: dict[str, Any]) -> Iterator[tuple[bool, list[Any]]]:
    """(is the asked unit, cells) for each year: the unit first, then its children."""
    def per_year(entry: dict[str, Any]) -> dict[int, dict[str, Any]]:
        series = entry.get("series") or [entry]
        return {s["year"]: {**entry, **s} for s in series}

    unit = per_year(report["unit"])
    children = [per_year(c) for c in report["children"]]
    for year in sorted(unit):
        yield True, [neutralise_formula(get(unit[year])) for _, get in COLUMNS]
        for child in children:
            yield False, [neutralise_formula(get(child[year])) for _, get in COLUMNS]


def years_label(report: dict[str, Any], dash: str = "-") -> str:
    first, last = report["year_from"], report["year_to"]
    return str(last) if first == last else f"{first}{dash}{last}"


def freshness_note(report: dict[str, Any]) -> str:
    as_of = report["current_as_of"]
    return (f"Số liệu cập nhật đến sự kiện số {as_of['stream_seq'] or 0} "
            f"(phát sinh lúc {as_of['occurred_at'] or '—'}, áp dụng lúc {as_of['applied_at'] or '—'} UTC)")


def to_csv(report: dict[str, Any]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([title for title, _ in COLUMNS])
    for _, cells in table_rows(report):
        writer.writerow(["" if c is None else c for c in cells])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(report: dict[str, Any]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Chỉ tiêu hộ nghèo"
    unit = report["unit"]
    years = years_label(report, "–")
    name = neutralise_formula(unit["name"]) or unit["code"]
    sheet.append([f"Chỉ tiêu hộ nghèo, hộ cận nghèo — {name} — năm {years}"])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([freshness_note(report)])
    sheet.append([])
    sheet.append([title for title, _ in COLUMNS])
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
    for is_unit, cells in table_rows(report):
        sheet.append(cells)
        if is_unit:
            for cell in sheet[sheet.max_row]:
                cell.font = Font(bold=True)
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=4)
    for index, (title, _) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(max(len(title) * 0.6, 10), 28)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
