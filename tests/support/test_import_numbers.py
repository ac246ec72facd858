"""The delivery import's numbers, files and retries, through the API: numbers written the Vietnamese
way (dots group thousands, a comma marks decimals) or typed as numbers in XLSX are read as they say;
what reads two ways is refused naming row and column, and nothing is stored; the files Excel writes
(BOM, \\r\\n, `;` in a Vietnamese locale, UTF-16 text) are read; an upload retried with its
Idempotency-Key is stored once."""

from __future__ import annotations

import asyncio
import csv
import io
import unicodedata
from typing import Any

import asyncpg
import pytest
from openpyxl import Workbook

from services.support.imports.rules import COLUMNS
from shared.db import asyncpg_dsn
from tests.kit import eventually
from tests.support.conftest import A0, OFFICER_A0, Support

HEADERS = [title for _, title in COLUMNS]
MONEY, PERSONS, QUANTITY, FUNDING = "Số tiền (đồng)", "Số nhân khẩu", "Số lượng", "Nguồn kinh phí"


def _csv(rows: list[list[Any]], delimiter: str = ",", encoding: str = "utf-8-sig", ending: str = "\r\n") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator=ending).writerows([HEADERS, *rows])
    return out.getvalue().encode(encoding)


def _xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    for row in [HEADERS, *rows]:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _row(code: str, measure: str, quantity: Any, amount: Any, funding: Any = "state_central",
         persons: Any = None) -> list[Any]:
    return ["07207", code, "hardship_aid", "2024-05-10", measure, quantity, amount, funding, "mttq", persons]


async def _upload(support: Support, name: str, data: bytes, **kwargs: Any) -> Any:
    return await support.call("POST", "/support/imports", OFFICER_A0, files={"file": (name, data, "text/csv")},
                              **kwargs)


async def _stored(support: Support) -> list[tuple[Any, ...]]:
    items = (await support.call("GET", "/support/deliveries", OFFICER_A0, params={"year": 2024})).json()["items"]
    return sorted((i["quantities"][0]["quantity"] if i["quantities"] else None, i["amount_vnd"], i["persons"],
                   [(f["source"], f["amount_vnd"]) for f in i["funding"]]) for i in items)


async def _nothing_stored(support: Support) -> None:
    for table in ("deliveries", "delivery_history", "import_jobs"):
        assert await support.count(table) == 0, table
    assert await support.delivery_events() == 0


async def test_numbers_written_the_vietnamese_way_in_a_semicolon_csv_are_read_as_written(support: Support) -> None:
    """Seed 003's way ("5.410 kg", "4.756,25"), as Excel saves CSV in a Vietnamese locale: `;`, BOM, \\r\\n."""
    code = f"HH-{(await support.household(A0, 'poor'))[:6]}"
    rows = [_row(code, "kg", "5.410", "81.150.000", "state_central=80.000.000; enterprise=1.150.000", "1.200"),
            _row(code, "kg", "4.756,25", "81 150 000", persons="4"),
            _row(code, "kg", "0,5", "81150000", persons="")]
    response = await _upload(support, "ho-tro.csv", _csv(rows, delimiter=";"))
    assert response.status_code == 201, response.text
    assert response.json()["amount_vnd"] == 3 * 81_150_000
    assert await _stored(support) == [
        ("0.5", 81_150_000, None, [("state_central", 81_150_000)]),
        ("4756.25", 81_150_000, 4, [("state_central", 81_150_000)]),
        ("5410", 81_150_000, 1200, [("state_central", 80_000_000), ("enterprise", 1_150_000)])]


async def test_xlsx_cells_typed_as_numbers_are_taken_as_numbers(support: Support) -> None:
    code = f"HH-{(await support.household(A0, 'poor'))[:6]}"
    rows = [_row(code, "kg", 5.41, 81_150_000, persons=4),
            _row(code, "kg", 12, 81_150_000.0, persons=4.0),
            _row(code, "kg", "5.410", "81.150.000", persons="4")]  # cells typed as text: read as the CSV's
    response = await _upload(support, "ho-tro.xlsx", _xlsx(rows))
    assert response.status_code == 201, response.text
    assert await _stored(support) == [
        ("12", 81_150_000, 4, [("state_central", 81_150_000)]),
        ("5.41", 81_150_000, 4, [("state_central", 81_150_000)]),
        ("5410", 81_150_000, 4, [("state_central", 81_150_000)])]


CSV_REFUSED = [  # (cells, column, what the reason says)
    (("kg", "1", "81150000.00"), MONEY, "is not a whole number of đồng: a dot only groups three digits"),
    (("kg", "1", "81150000", "state_central", "4.0"), PERSONS, "is not a whole number of persons"),
    (("kg", "5.41", "81150000"), QUANTITY, "'5.41' is ambiguous: a dot groups thousands (5.410 is five thousand "
                                           "four hundred ten); write decimals with a comma (5,41)"),
    (("kg", "1", "20,000"), MONEY, "has a fractional part (a comma marks decimals)"),
    (("kg", "1", "1,000,000"), MONEY, "is not written the Vietnamese way"),
    (("kg", "1,000,000", "1000"), QUANTITY, "is not written the Vietnamese way"),
    (("kg", "1", "81.150.000,00"), MONEY, "has a fractional part"),
    (("kg", "1", "-5000"), MONEY, "is negative"),
    (("kg", "1", "1000", "state_central=1.000,5"), FUNDING, "has a fractional part"),
    (("kg", "1,2345", "1000"), QUANTITY, "more than 3 decimals"),
    (("kg", "", "1000"), QUANTITY, "a quantity is required with its measure"),
]
XLSX_REFUSED = [
    (("kg", 1, 81_150_000.5), MONEY, "'81150000.5' has a fractional part: a whole number of đồng is expected"),
    (("kg", 1, 1000, "state_central", 4.5), PERSONS, "'4.5' has a fractional part"),
    (("kg", "5.41", 1000), QUANTITY, "is ambiguous"),
    (("kg", 1, "81150000.00"), MONEY, "is not a whole number of đồng"),
    (("kg", 1, True), MONEY, "is not a number"),
    (("kg", 1, 10**15), MONEY, "is more than 100.000.000.000.000 đồng"),
]


@pytest.mark.parametrize(("kind", "cases"), [("csv", CSV_REFUSED), ("xlsx", XLSX_REFUSED)])
async def test_numbers_that_read_two_ways_are_refused_naming_row_and_column(
        support: Support, kind: str, cases: list[tuple[tuple[Any, ...], str, str]]) -> None:
    code = f"HH-{(await support.household(A0, 'poor'))[:6]}"
    good = _row(code, "kg", "1", "1000")
    rows = [good] + [_row(code, *cells) for cells, _, _ in cases]
    data = _csv(rows) if kind == "csv" else _xlsx(rows)
    response = await _upload(support, f"ho-tro.{kind}", data)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [(n, column) for n, (_, column, _) in
                                                         enumerate(cases, start=3)], errors
    for error, (_, _, reason) in zip(errors, cases, strict=True):
        assert reason in error["reason"], error
    await _nothing_stored(support)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8"])
async def test_excel_text_files_and_line_endings_are_read(support: Support, encoding: str) -> None:
    """Excel's "Unicode Text" (UTF-16 with its BOM, tab-separated); a file ending its lines with \\r alone."""
    code = f"HH-{(await support.household(A0, 'poor'))[:6]}"
    rows = [_row(code, "kg", "2,5", "1.000.000"), _row(code, "kg", "3", "1.000")]
    data = _csv(rows, delimiter="\t", encoding="utf-16") if encoding == "utf-16" else _csv(rows, ending="\r")
    response = await _upload(support, "ho-tro.txt", data)
    assert response.status_code == 201, response.text
    assert response.json()["rows"] == 2 and response.json()["amount_vnd"] == 1_001_000


async def test_files_that_cannot_be_read_are_refused_saying_why(support: Support) -> None:
    code = f"HH-{(await support.household(A0, 'poor'))[:6]}"
    text = _csv([_row(code, "kg", "1", "1000")]).decode("utf-8-sig")  # as Excel's plain "CSV" in Vietnamese Windows
    ansi = unicodedata.normalize("NFD", text).encode("cp1258", errors="replace")
    response = await _upload(support, "ho-tro.csv", ansi)
    assert response.status_code == 422 and "save it from Excel as 'CSV UTF-8'" in response.json()["detail"]
    huge = _csv([[*_row(code, "kg", "1", "1000"), "x" * 200_000]])  # a note past the CSV reader's limit
    response = await _upload(support, "ho-tro.csv", huge)
    assert response.status_code == 422, response.text
    assert "cannot be read at line 2: field larger than field limit" in response.json()["detail"]
    await _nothing_stored(support)


async def test_an_upload_retried_with_its_idempotency_key_is_stored_once(support: Support) -> None:
    code = f"HH-{(await support.household(A0, 'poor'))[:6]}"
    data = _csv([_row(code, "kg", "10", "500.000")] * 3)
    key = {"Idempotency-Key": "import-2024-05-10-a"}
    first = await _upload(support, "ho-tro.csv", data, headers=key)
    assert first.status_code == 201, first.text
    retry = await _upload(support, "ho-tro.csv", data, headers=key)  # another multipart boundary, the same file
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json() and retry.headers["Location"] == first.headers["Location"]
    assert await support.count("deliveries") == 3 and await support.count("import_jobs") == 1
    other = await _upload(support, "ho-tro.csv", _csv([_row(code, "kg", "11", "500.000")]), headers=key)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused", other.text
    assert await support.count("deliveries") == 3
    # A refused file leaves its key free: corrected, it is stored under the same key.
    bad_key = {"Idempotency-Key": "import-2024-05-10-b"}
    refused = await _upload(support, "ho-tro.csv", _csv([_row(code, "kg", "5.41", "500.000")]), headers=bad_key)
    assert refused.status_code == 422
    fixed = await _upload(support, "ho-tro.csv", _csv([_row(code, "kg", "5,41", "500.000")]), headers=bad_key)
    assert fixed.status_code == 201 and "Idempotent-Replayed" not in fixed.headers
    assert await support.count("deliveries") == 4


async def test_a_retry_sent_while_the_first_upload_still_runs_waits_for_it_and_gets_its_answer(
        support: Support) -> None:
    """The client timed out and sent the file again while the service was still storing it: the retry
    waits on the first one's key and answers what the first one did."""
    code = f"HH-{(await support.household(A0, 'poor'))[:6]}"
    data = _csv([_row(code, "kg", "10", "500.000")] * 300)
    key = {"Idempotency-Key": "import-2024-05-10-c"}
    holder = await asyncpg.connect(asyncpg_dsn(support.db_url))
    try:
        held = holder.transaction()
        await held.start()
        await holder.execute("LOCK TABLE delivery_history IN ACCESS EXCLUSIVE MODE")  # the first upload waits here

        async def waiting(locktype: str) -> bool:
            return bool(await holder.fetchval(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = $1 AND pid IN "
                "(SELECT pid FROM pg_stat_activity WHERE datname = current_database())", locktype))

        first = asyncio.create_task(_upload(support, "ho-tro.csv", data, headers=key))
        await eventually(lambda: waiting("relation"))  # its COPY into delivery_history
        retry = asyncio.create_task(_upload(support, "ho-tro.csv", data, headers=key))
        await eventually(lambda: waiting("transactionid"))  # the retry waits on the first one's claim of the key
        await held.rollback()
        answers = [await first, await retry]
    finally:
        await holder.close()
    assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
    assert [a.headers.get("Idempotent-Replayed") for a in answers] == [None, "true"]
    assert answers[0].json() == answers[1].json()
    assert await support.count("deliveries") == 300 and await support.count("import_jobs") == 1
