"""The bulk delivery import: the template, an accepted CSV and XLSX (deliveries, history, batch
events reporting reads), and refused files that store nothing, naming row and column."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import datetime
from typing import Any

import asyncpg
import orjson
import psutil
import pytest
from openpyxl import Workbook, load_workbook

from services.reporting.support.rules import delivery_row
from services.support.imports import build, preparer
from services.support.imports.rules import COLUMNS
from shared.db import asyncpg_dsn
from shared.events import Event
from tests.kit import eventually
from tests.support.conftest import A0, A1, OFFICER_A0, OFFICER_A1, Support

HEADERS = [title for _, title in COLUMNS]


def _csv(rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([HEADERS, *rows])
    return out.getvalue().encode("utf-8-sig")


def _xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in [HEADERS, *rows]:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _household_code(household: str) -> str:
    return f"HH-{household[:6]}"  # as tests/support/conftest.household_event names it


async def test_the_template_has_the_vietnamese_headers(support: Support) -> None:
    xlsx = await support.call("GET", "/support/imports/template", OFFICER_A0)
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert [c.value for c in sheet[1]] == HEADERS and sheet["C2"].value == "housing_repair"
    text = (await support.call("GET", "/support/imports/template", OFFICER_A0, params={"format": "csv"})).content
    assert text.decode("utf-8-sig").splitlines()[0].split(",")[0] == "Mã xã"


async def test_an_accepted_file_records_every_row_with_history_and_batch_events(support: Support) -> None:
    first, second = await support.household(A0, "poor"), await support.household(A0, "near_poor")
    rows = [["07207", _household_code(first), "housing_repair", "10/05/2024", "house", "1",
             "20000000", "vnn_fund_district=12000000; hlhpn_mai_am=8000000", "hlhpn", "4", "Sửa mái", "QĐ 15"],
            ["07207", _household_code(second), "bhyt_near_poor", "2024-01-15", "card", "4", "",
             "", "bhxh", "", "", ""]]
    response = await support.call("POST", "/support/imports", OFFICER_A0,
                                  files={"file": ("ho-tro.csv", _csv(rows), "text/csv")})
    assert response.status_code == 201, response.text
    job = response.json()
    assert job["rows"] == 2 and job["amount_vnd"] == 20_000_000 and job["unit_path"] == A0
    listed = (await support.call("GET", "/support/deliveries", OFFICER_A0)).json()
    assert listed["total"] == 2
    housing = next(i for i in listed["items"] if i["programme"] == "housing_repair")
    assert housing["import_job_id"] == job["id"] and housing["household_id"] == first
    assert housing["funding"] == [{"source": "vnn_fund_district", "amount_vnd": 12_000_000},
                                  {"source": "hlhpn_mai_am", "amount_vnd": 8_000_000}]
    assert housing["delivered_on"] == "2024-05-10" and housing["persons"] == 4
    history = (await support.call("GET", f"/support/deliveries/{housing['id']}/history", OFFICER_A0)).json()
    assert history["items"][0]["action"] == "recorded"
    # Corrections work on imported deliveries like on the others.
    patched = await support.call("PATCH", f"/support/deliveries/{housing['id']}", OFFICER_A0,
                                 json={"note": "Đã kiểm tra"}, headers={"If-Match": '"1"'})
    assert patched.status_code == 200
    [batch] = await support.events("support.delivery.recorded_batch")
    event = Event.from_bytes(orjson.dumps(batch))
    parsed = [delivery_row(item, 1, event) for item in event.payload["items"]]
    assert {(p["programme"], p["amount_vnd"], p["import_job_id"]) for p in parsed} == {
        ("housing_repair", 20_000_000, job["id"]), ("bhyt_near_poor", 0, job["id"])}
    assert (await support.call("GET", f"/support/imports/{job['id']}", OFFICER_A1)).status_code == 404
    assert (await support.call("GET", f"/support/imports/{job['id']}", OFFICER_A0)).status_code == 200


async def test_an_xlsx_file_is_read_with_its_dates_and_numbers(support: Support) -> None:
    household = await support.household(A0, "poor")
    rows = [["07207", _household_code(household), "electricity", datetime(2024, 3, 31), "kwh", 90,
             150_000, "state_central", "dien_luc", None, None, None]]
    response = await support.call("POST", "/support/imports", OFFICER_A0, files={"file": ("ho-tro.xlsx", _xlsx(rows),
                                                                                         "application/octet-stream")})
    assert response.status_code == 201, response.text
    listed = (await support.call("GET", "/support/deliveries", OFFICER_A0)).json()["items"]
    assert listed[0]["delivered_on"] == "2024-03-31" and listed[0]["quantities"] == [{"measure": "kwh",
                                                                                      "quantity": "90"}]


async def test_a_file_with_any_bad_row_is_refused_whole_naming_rows_and_columns(support: Support) -> None:
    good, near_poor = await support.household(A0, "poor"), await support.household(A0, "near_poor")
    other = await support.household(A1, "poor")
    code = _household_code(good)
    rows = [["07207", code, "housing_repair", "2024-05-10", "house", "1", "20000000", "state_central", "hlhpn"],
            ["07207", code, "housing_repair", "2024-05-10", "kg", "1", "20000000", "state_central", "hlhpn"],
            ["07207", code, "housing_repair", "2024-05-10", "house", "1", "20000000", "state_central=1", "hlhpn"],
            ["07207", _household_code(near_poor), "bhyt_poor", "2024-05-10", "card", "1", "", "",
             "bhxh"],
            ["07210", _household_code(other), "tet_gifts", "2024-05-10", "portion", "1", "", "",
             "mttq"],
            ["07207", code, "tet_gifts", "31/02/2024", "portion", "1", "", "", "mttq"],
            ["07207", code, "tet_gifts", "2024-05-10", "portion", "1", "", "", "mttq", "", "=cmd()"]]
    response = await support.call("POST", "/support/imports", OFFICER_A0,
                                  files={"file": ("ho-tro.csv", _csv(rows), "text/csv")})
    assert response.status_code == 422, response.text
    problem = response.json()
    found = {(e["row"], e["column"]) for e in problem["errors"]}
    assert found == {(3, "Đơn vị tính"), (4, "Nguồn kinh phí"), (5, "Mã chương trình"), (6, "Mã hộ"),
                     (7, "Ngày hỗ trợ"), (8, "Ghi chú")}, problem["errors"]
    assert problem["error_count"] == 6
    assert await support.count("deliveries") == 0 and await support.delivery_events() == 0
    assert await support.count("import_jobs") == 0
    missing = await support.call("POST", "/support/imports", OFFICER_A0,
                                 files={"file": ("x.csv", b"Ma xa,Ghi chu\n07207,x\n", "text/csv")})
    assert missing.status_code == 422 and "missing column" in missing.json()["detail"]


def _import_workers() -> list[psutil.Process]:
    """Import worker processes: children of the multiprocessing forkserver this test process started."""
    servers = [p for p in psutil.Process().children() if "multiprocessing.forkserver" in " ".join(p.cmdline())]
    return [worker for server in servers for worker in server.children()]


async def test_an_import_whose_worker_process_dies_fails_and_stores_nothing(support: Support,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # Several batches (the first one event's worth), each larger than a pipe holds.
    monkeypatch.setattr(preparer, "BATCH_ROWS", 400)
    monkeypatch.setattr(build, "EVENT_ITEMS", 50)
    code = _household_code(await support.household(A0, "poor"))
    rows = [["07207", code, "tet_gifts", "2024-01-20", "portion", "1", "500000", "state_central", "mttq"]] * 2000
    holder = await asyncpg.connect(asyncpg_dsn(support.db_url))
    try:
        held = holder.transaction()
        await held.start()
        await holder.execute("LOCK TABLE delivery_history IN ACCESS EXCLUSIVE MODE")  # the first batch waits here
        upload = asyncio.create_task(support.call("POST", "/support/imports", OFFICER_A0,
                                                  files={"file": ("ho-tro.csv", _csv(rows), "text/csv")}))

        async def stalled_worker() -> list[psutil.Process]:
            waiting = await holder.fetchval("SELECT count(*) FROM pg_locks WHERE NOT granted "
                                            "AND relation = 'delivery_history'::regclass")
            return _import_workers() if waiting else []

        for worker in await eventually(stalled_worker):
            worker.kill()
        await held.rollback()
        response = await upload
    finally:
        await holder.close()
    assert response.status_code == 500, response.text
    assert "worker process ended unexpectedly" in response.json()["detail"]
    for table in ("deliveries", "delivery_history", "import_jobs"):
        assert await support.count(table) == 0, table
    assert await support.delivery_events() == 0
    # The service goes on: the next import gets a worker of its own and is stored.
    again = await support.call("POST", "/support/imports", OFFICER_A0,
                               files={"file": ("ho-tro.csv", _csv(rows[:3]), "text/csv")})
    assert again.status_code == 201 and again.json()["rows"] == 3


async def test_a_bad_row_after_batches_were_stored_refuses_the_whole_file(support: Support,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preparer, "BATCH_ROWS", 100)  # the first two batches are COPYed before row 232 is read
    monkeypatch.setattr(build, "EVENT_ITEMS", 50)
    code = _household_code(await support.household(A0, "poor"))
    good = ["07207", code, "tet_gifts", "2024-01-20", "portion", "1", "500000", "state_central", "mttq"]
    rows = [good] * 230 + [[*good[:3], "2024-13-01", *good[4:]]] + [good] * 20
    response = await support.call("POST", "/support/imports", OFFICER_A0,
                                  files={"file": ("ho-tro.csv", _csv(rows), "text/csv")})
    assert response.status_code == 422, response.text
    assert [(e["row"], e["column"]) for e in response.json()["errors"]] == [(232, "Ngày hỗ trợ")]
    for table in ("deliveries", "delivery_history", "import_jobs"):
        assert await support.count(table) == 0, table
    assert await support.delivery_events() == 0
    accepted = await support.call("POST", "/support/imports", OFFICER_A0,
                                  files={"file": ("ho-tro.csv", _csv([good] * 230), "text/csv")})
    assert accepted.status_code == 201 and accepted.json()["rows"] == 230
    assert await support.count("deliveries") == 230
    assert len(await support.events("support.delivery.recorded_batch")) == 5  # 50 deliveries each
