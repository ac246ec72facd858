"""A gap list as a file, whole: CSV sent as its rows come from the database's cursor (memory stays flat
however long the list), XLSX written row by row into a temporary file (openpyxl's write-only mode) and
sent from there. Column titles are the list's Vietnamese ones (`schemas.*_COLUMNS`); typed text goes
through `shared.text.neutralise_formula`; in XLSX, dates are dates and money is integer VND (`#,##0`)."""

from __future__ import annotations

import asyncio
import csv
import io
import tempfile
from collections.abc import AsyncIterator, Mapping
from datetime import date
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from pydantic import BaseModel

from shared.text import neutralise_formula

CHUNK = 64 * 1024


def cell(value: Any) -> Any:
    """A value as one export cell: a list (indicator codes) is joined by `;`."""
    return ";".join(value) if isinstance(value, list) else value


def _values(item: BaseModel, fields: tuple[str, ...]) -> list[Any]:
    return [neutralise_formula(cell(getattr(item, f))) for f in fields]


async def csv_chunks(items: AsyncIterator[list[BaseModel]], columns: Mapping[str, str]) -> AsyncIterator[bytes]:
    """UTF-8 with a BOM (Excel reads the Vietnamese titles right), one chunk per batch of rows."""
    fields = tuple(columns)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns.values())
    yield out.getvalue().encode("utf-8-sig")
    async for batch in items:
        out.seek(0)
        out.truncate()
        writer.writerows(_values(item, fields) for item in batch)
        yield out.getvalue().encode("utf-8")


def _append(sheet: Any, batch: list[BaseModel], fields: tuple[str, ...]) -> None:
    for item in batch:
        row: list[Any] = []
        for field, value in zip(fields, _values(item, fields), strict=True):
            if isinstance(value, date):
                value = WriteOnlyCell(sheet, value)
                value.number_format = "DD/MM/YYYY"
            elif field.endswith("_vnd"):
                value = WriteOnlyCell(sheet, value)
                value.number_format = "#,##0"
            row.append(value)
        sheet.append(row)


async def xlsx_file(items: AsyncIterator[list[BaseModel]], columns: Mapping[str, str],
                    title: str) -> tuple[IO[bytes], int]:
    """The workbook in an unnamed temporary file, positioned at its start, and its size. openpyxl's work
    runs in a thread, a batch at a time, so that other requests go on meanwhile."""
    fields = tuple(columns)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)
    header = []
    for text in columns.values():
        header_cell = WriteOnlyCell(sheet, text)
        header_cell.font = Font(bold=True)
        header.append(header_cell)
    sheet.append(header)
    async for batch in items:
        await asyncio.to_thread(_append, sheet, batch, fields)
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - returned open; file_chunks closes it
    try:
        await asyncio.to_thread(book.save, handle)
        size = handle.tell()
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    return handle, size


async def file_chunks(handle: IO[bytes]) -> AsyncIterator[bytes]:
    with handle:
        while data := await asyncio.to_thread(handle.read, CHUNK):
            yield data
