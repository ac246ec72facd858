"""Rows out of an uploaded CSV or XLSX file. The format is told by the first bytes (a renamed file
reads right). CSV is UTF-8 (a BOM is fine) or UTF-16 with its BOM; its delimiter (comma, semicolon
or tab) is taken from the header line; lines end with \r\n, \n or \r. XLSX is read with openpyxl in
read-only mode: a cell typed as a number arrives as an int or a float (rules.py takes it as it is).
Row numbers are a spreadsheet's: the header is row 1."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from openpyxl import load_workbook

ZIP_MAGIC = b"PK\x03\x04"


class FileRejected(Exception):
    """The file as a whole cannot be read."""


def rows(data: bytes) -> Iterator[list[Any]]:
    """The header, then every row, as lists of cells."""
    if data.startswith(ZIP_MAGIC):
        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        except Exception as exc:
            raise FileRejected(f"the XLSX file cannot be read: {exc}") from exc
        for row in book.active.iter_rows(values_only=True):
            yield list(row)
        return
    try:
        # UTF-8 (Excel's "CSV UTF-8" starts with a BOM), or UTF-16 told by its BOM (Excel's "Unicode Text").
        text = data.decode("utf-16") if data[:2] in (b"\xff\xfe", b"\xfe\xff") else data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRejected("the CSV file is not UTF-8 text: save it from Excel as 'CSV UTF-8', or upload the "
                           "XLSX file") from exc
    first = next(iter(text[:65536].splitlines()), "")
    delimiter = max((",", ";", "\t"), key=first.count)  # Excel in a Vietnamese locale separates with ";"
    lines = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)  # \r\n, \n or \r ends a line
    try:
        yield from lines
    except csv.Error as exc:
        raise FileRejected(f"the CSV file cannot be read at line {lines.line_num}: {exc}") from exc
