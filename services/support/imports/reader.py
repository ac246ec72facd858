"""Rows out of an uploaded CSV or XLSX file. The format is told by the first bytes (a renamed file
reads right). CSV is UTF-8 (a BOM is fine); its delimiter (comma, semicolon or tab) is taken from
the header line. XLSX is read with openpyxl in read-only mode. Row numbers are a spreadsheet's: the
header is row 1."""

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
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRejected("the CSV file is not UTF-8 text") from exc
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    yield from csv.reader(io.StringIO(text), delimiter=delimiter)
