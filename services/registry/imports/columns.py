"""The canonical import columns (docs/registry-imports.md is their table) and the template files."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    description: str
    example: str


COLUMNS: tuple[Column, ...] = (
    Column("household_code", True, "The household's code in its commune (up to 40 characters); unique per commune.",
           "HN-0001"),
    Column("commune_code", True, "Official 5-digit code of the commune the household lives in.", "07207"),
    Column("village", False, "Village or residential group (thôn, bản, tổ dân phố).", "Thôn Đông"),
    Column("head_name", True, "Full name of the head of household.", "Nguyễn Văn An"),
    Column("head_citizen_id", True, "The head's citizen ID (CCCD), 12 digits.", "024085001234"),
    Column("head_birth_date", True, "The head's birth date: YYYY-MM-DD or DD/MM/YYYY.", "1975-03-21"),
    Column("member_count", True, "Number of household members, head included (1 to 50).", "4"),
    Column("ethnic_minority", False, "true/false (also 1/0, yes/no, có/không); empty is false.", "false"),
    Column("policy_family", False, "Người có công / policy family: true/false; empty is false.", "false"),
    Column("income_per_capita", True, "Average income per person per month, whole VND, not negative.", "1200000"),
    Column("deprived_indicators", False,
           "Canonical codes of the indicators the household is deprived on, separated by ';'.",
           "health_insurance;housing_quality;latrine"),
    Column("review_year", True, "The review year; it picks the poverty standard (2016 to 2030).", "2024"),
)

COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)
REQUIRED: frozenset[str] = frozenset(c.name for c in COLUMNS if c.required)


def template_csv() -> bytes:
    """UTF-8 with a BOM so that Excel opens Vietnamese names correctly; one example row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMN_NAMES)
    writer.writerow([c.example for c in COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_xlsx() -> bytes:
    """The header row in bold with each column's rule as a cell comment, and one example row."""
    # Imported here: the import's worker process reads the column names without loading openpyxl.
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "households"
    ws.append(list(COLUMN_NAMES))
    ws.append([c.example for c in COLUMNS])
    for index, column in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=1, column=index)
        cell.font = Font(bold=True)
        cell.comment = Comment(("Required. " if column.required else "Optional. ") + column.description, "Chung Tay")
        # Text format keeps leading zeros of codes and citizen IDs typed into the sheet.
        ws.column_dimensions[cell.column_letter].number_format = "@"
        ws.column_dimensions[cell.column_letter].width = max(14, len(column.name) + 4)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
