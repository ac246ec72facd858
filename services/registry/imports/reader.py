"""Streaming rows out of a spooled CSV or XLSX file: never the whole file in memory.

The format is told by the first bytes, not the file name (a renamed file still reads right). CSV
must be UTF-8 (a BOM is fine; UTF-16 with a BOM, as Excel's "Unicode text", is read too); the
delimiter (comma, semicolon or tab) is taken from the header line. XLSX is read with openpyxl in
read-only mode, which streams the sheet's XML row by row; formulas come back as their text so that
they can be refused.

Row numbers are the ones a spreadsheet shows: the header is row 1, the first household row 2.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.registry.imports.columns import COLUMN_NAMES

Cell = Any  # str | int | float | bool | datetime | None (XLSX keeps its types)

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls


class FileRejected(Exception):
    """The file as a whole cannot be read: encoding, format, header. Carries (row, column, reason)."""

    def __init__(self, reason: str, row: int | None = None, column: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.row, self.column = reason, row, column


@dataclass
class HeaderProblem:
    row: int
    column: str | None
    reason: str


@dataclass
class Sheet:
    """An open file: its format, its header mapped to canonical columns, and its data rows."""

    format: str  # csv | xlsx
    index: dict[str, int]  # canonical column -> position in a row
    width: int  # number of header cells
    estimated_rows: int | None
    rows: Iterator[tuple[int, list[Cell]]]  # (row number, cells), blank rows skipped
    close: Any


def sniff_format(path: Path) -> str:
    with path.open("rb") as f:
        head = f.read(8)
    if not head.strip():
        raise FileRejected("The file is empty: it has no header and no household rows.")
    if head.startswith(ZIP_MAGIC):
        return "xlsx"
    if head.startswith(OLE_MAGIC):
        raise FileRejected("Old Excel .xls files are not read: save the sheet as .xlsx or as CSV UTF-8.")
    return "csv"


def map_header(cells: list[Cell]) -> tuple[dict[str, int], list[HeaderProblem]]:
    """Canonical column -> position; problems for missing, unknown, duplicated or blank names."""
    problems: list[HeaderProblem] = []
    index: dict[str, int] = {}
    for position, raw in enumerate(cells):
        name = str(raw).strip().lstrip("\ufeff").strip().lower() if raw is not None else ""
        if not name:
            # A trailing empty header cell (common in spreadsheets) is harmless; one in the middle is not.
            if any(c not in (None, "") for c in cells[position + 1:]):
                problems.append(HeaderProblem(1, None, f"Header cell {position + 1} is empty."))
            continue
        if name not in COLUMN_NAMES:
            problems.append(HeaderProblem(1, name, "Unknown column; the canonical columns are: "
                                          + ", ".join(COLUMN_NAMES) + "."))
        elif name in index:
            problems.append(HeaderProblem(1, name, "Column appears twice in the header."))
        else:
            index[name] = position
    for name in COLUMN_NAMES:
        if name not in index:
            problems.append(HeaderProblem(1, name, "Missing column."))
    return index, problems


def open_sheet(path: Path) -> tuple[Sheet, list[HeaderProblem]]:
    kind = sniff_format(path)
    return _open_xlsx(path) if kind == "xlsx" else _open_csv(path)


# --- CSV

def _encoding(path: Path) -> str:
    with path.open("rb") as f:
        head = f.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8"


def _count_lines(path: Path) -> int:
    lines = 0
    last = b"\n"
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (0 if last == b"\n" else 1)


def _open_csv(path: Path) -> tuple[Sheet, list[HeaderProblem]]:
    encoding = _encoding(path)
    lines = _utf16_lines(path) if encoding == "utf-16" else _decoded_lines(path, encoding)
    try:
        header_line = next(lines, "")
        if "\x00" in header_line:
            raise FileRejected("The file is not a text CSV (it contains NUL bytes); export the sheet as CSV UTF-8.",
                               1)
    except BaseException:
        lines.close()
        raise
    delimiter = max((",", ";", "\t"), key=header_line.count)
    header = next(csv.reader([header_line], delimiter=delimiter), [])
    index, problems = map_header(header)
    # Estimated from newlines: quoted line breaks make it a little high; the job sets the exact total.
    estimate = max(_count_lines(path) - 1, 0) if encoding != "utf-16" else None
    reader = csv.reader(lines, delimiter=delimiter, strict=True)

    def rows() -> Iterator[tuple[int, list[Cell]]]:
        number = 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise FileRejected(f"The CSV cannot be read: {exc}.", number + 1) from exc
            number += 1
            if cells and any(cells):
                yield number, cells

    return Sheet("csv", index, len(header), estimate, rows(), lines.close), problems


def _decoded_lines(path: Path, encoding: str) -> Generator[str, None, None]:
    """Decoded by the C text layer; a byte that is not UTF-8 is then looked up to report its line."""
    with path.open("r", encoding=encoding, errors="strict", newline="") as text:
        try:
            yield from text
        except UnicodeDecodeError as exc:
            raise _not_utf8(path, encoding) from exc


def _not_utf8(path: Path, encoding: str) -> FileRejected:
    advice = "in Excel choose 'Save as' → 'CSV UTF-8', or upload the .xlsx file."
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                raw.decode(encoding if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                byte = raw[exc.start:exc.start + 1].hex()
                return FileRejected(f"The file is not UTF-8 text (byte 0x{byte} on line {number}); {advice}", number)
    return FileRejected(f"The file is not UTF-8 text; {advice}")


def _utf16_lines(path: Path) -> Generator[str, None, None]:
    """Excel's "Unicode text" (UTF-16 with a BOM): decoded as a stream, lines split after decoding."""
    with path.open("r", encoding="utf-16", errors="strict", newline="") as text:
        try:
            yield from text
        except UnicodeDecodeError as exc:
            raise FileRejected("The file is not valid UTF-16 text; save it as CSV UTF-8.") from exc


# --- XLSX

def _open_xlsx(path: Path) -> tuple[Sheet, list[HeaderProblem]]:
    from openpyxl import load_workbook  # imported here: CSV imports never pay for it

    handle = path.open("rb")  # a file object: openpyxl would refuse the spool file's name for its extension
    try:
        wb = load_workbook(handle, read_only=True, data_only=False, keep_links=False)
    except Exception as exc:
        handle.close()
        raise FileRejected(f"The file is not a readable .xlsx workbook ({type(exc).__name__}).") from exc

    def close() -> None:
        wb.close()
        handle.close()

    ws = wb["households"] if "households" in wb.sheetnames else wb.worksheets[0]
    iterator = ws.iter_rows(values_only=True)
    try:
        header = list(next(iterator))
    except StopIteration:
        close()
        raise FileRejected("The file is empty: the sheet has no header and no household rows.") from None
    except Exception as exc:
        close()
        raise FileRejected(f"The workbook's sheet cannot be read ({type(exc).__name__}).") from exc
    while header and header[-1] is None:
        header.pop()
    index, problems = map_header(header)
    max_row = getattr(ws, "max_row", None)
    estimate = max_row - 1 if isinstance(max_row, int) and max_row > 1 else None

    def rows() -> Iterator[tuple[int, list[Cell]]]:
        number = 1
        try:
            for values in iterator:
                number += 1
                if any(v is not None and v != "" for v in values):
                    yield number, list(values)
        except Exception as exc:  # a damaged sheet part inside the zip
            raise FileRejected(f"The workbook's sheet cannot be read past row {number} "
                               f"({type(exc).__name__}).", number) from exc

    return Sheet("xlsx", index, len(header), estimate, rows(), close), problems

