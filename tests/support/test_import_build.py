"""The import's row work without a database: rows read once per distinct delivery yet each reported
under its own number, the COPY lines and event items built from pieces equal to what the generic
builders say (reporting reads the items with `delivery_row`, and a correction later reads the rows)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import orjson

from services.support import events
from services.support.catalogue.rules import Programme
from services.support.catalogue.service import read_file
from services.support.imports.build import DELIVERY_COLUMNS, HISTORY_COLUMNS, DeliveryBuilder
from services.support.imports.rules import COLUMNS, Catalogue, Row, RowReader, header_fields
from shared.events import unpacked

RAW = read_file()
ENTRIES: dict[tuple[str, str], dict[str, Any]] = {
    (catalogue, item["code"]): {k: v for k, v in item.items() if k not in ("code", "name")}
    for catalogue, key in (("programme", "programmes"), ("body", "bodies"), ("funding_source", "funding_sources"))
    for item in RAW[key]}
CATALOGUE = Catalogue(
    programmes={code: Programme.of(code, code, fields) for (kind, code), fields in ENTRIES.items()
                if kind == "programme"},
    bodies=frozenset(code for kind, code in ENTRIES if kind == "body"),
    sources=frozenset(code for kind, code in ENTRIES if kind == "funding_source"))
TODAY = date(2024, 12, 31)
GOOD = ["07207", "HN-1", "tet_gifts", "2024-01-20", "portion", "1", "500000",
        "vnn_fund_district=300000; enterprise=200000", "mttq", "4", "Quà Tết\tback\\slash", "QĐ 1"]


def _reader() -> RowReader:
    fields, problems = header_fields([title for _, title in COLUMNS])
    assert problems == []
    return RowReader(fields, CATALOGUE, TODAY)


def test_rows_repeating_a_delivery_share_its_check_and_keep_their_own_numbers() -> None:
    reader = _reader()
    first, _ = reader.read(2, GOOD)
    second, _ = reader.read(3, ["07207", "HN-2", *GOOD[2:]])
    assert isinstance(first, Row) and isinstance(second, Row)
    assert first.delivery is second.delivery and second.household_code == "HN-2"
    bad = [*GOOD[:3], "2025-06-01", *GOOD[4:]]  # in the future
    assert reader.read(4, bad) == (None, [(4, "Ngày hỗ trợ", "in the future")])
    assert reader.read(5, ["07207", "HN-3", *bad[2:]]) == (None, [(5, "Ngày hỗ trợ", "in the future")])
    assert reader.read(6, ["", "HN-4", *bad[2:]]) == (None, [(6, "Mã xã", "required")])
    assert reader.read(7, ["7207x", "HN-5", *GOOD[2:]]) == (None, [(7, "Mã xã", "'7207x' is not a commune code")])
    # A number typed as a number (XLSX) is not confused with the same text: "1.000" is 1000 đồng as text.
    thousand, _ = reader.read(8, [*GOOD[:5], "1", "1.000", "state_central", *GOOD[8:]])
    assert thousand is not None and thousand.delivery.amount_vnd == 1000
    assert reader.read(9, [*GOOD[:5], "1", 1.5, "state_central", *GOOD[8:]])[1][0][1:] == (
        "Số tiền (đồng)", "'1.5' has a fractional part: a whole number of đồng is expected")


def test_the_copy_lines_and_the_item_say_what_the_generic_builders_say() -> None:
    row, _ = _reader().read(2, GOOD)
    assert row is not None
    stamp = datetime(2024, 12, 30, 8, 0, tzinfo=UTC)
    builder = DeliveryBuilder("0190aaaa-0000-7000-8000-000000000001", stamp.isoformat(), "officer\\1",
                              "commune_officer", ENTRIES, correlation_id="req-1", traceparent="00-tp")
    path = "v2008.24.213.07207"
    builder.add(row.delivery, "0190bbbb-0000-7000-8000-000000000002", path, "poor")
    built = builder.take(last=True)
    [(event_id, subject, body)] = built.events
    event = orjson.loads(unpacked(body))
    assert (str(event_id), subject) == (event["id"], "support.delivery.recorded_batch")
    assert event["payload"]["job_id"] == event["subject_id"] == "0190aaaa-0000-7000-8000-000000000001"
    [item] = event["payload"]["items"]
    delivery = {"id": item["delivery_id"], "version": 1, "kind": "household", "status": "recorded", "unit_path": path,
                "programme": "tet_gifts", "delivered_on": date(2024, 1, 20), "period_from": None, "year": 2024,
                "households": 1, "persons": 4, "turns": None, "quantities": [{"measure": "portion", "quantity": "1"}],
                "amount_vnd": 500_000, "funding": [{"source": "vnn_fund_district", "amount_vnd": 300_000},
                                                   {"source": "enterprise", "amount_vnd": 200_000}],
                "body": "mttq", "body_detail": None, "household_id": "0190bbbb-0000-7000-8000-000000000002",
                "household_status": "poor", "member_ids": [], "eligibility_exception": False,
                "eligibility_rule": None, "sponsorship_id": None,
                "import_job_id": "0190aaaa-0000-7000-8000-000000000001", "recorded_at": stamp, "void_reason": None}
    expected = events.delivery_payload(delivery, ENTRIES)
    assert item == expected and list(item) == list(expected)
    assert item["funding"][0]["source_kind"] == "vnn_fund" and item["programme_category"] == "gifts"
    line = dict(zip(DELIVERY_COLUMNS, built.deliveries.decode().rstrip("\n").split("\t"), strict=True))
    assert line["note"] == "Quà Tết\\tback\\\\slash" and line["persons"] == "4" and line["unit_code"] == "07207"
    assert orjson.loads(line["funding"]) == delivery["funding"] and line["recorded_by"] == "officer\\\\1"
    history = dict(zip(HISTORY_COLUMNS, built.history.decode().rstrip("\n").split("\t"), strict=True))
    assert history["delivery_id"] == item["delivery_id"] and history["action"] == "recorded"
    assert orjson.loads(history["after"]) == {"import_job_id": "0190aaaa-0000-7000-8000-000000000001"}
    assert built.amount_vnd == 500_000 and built.paths == {path} and event["unit_path"] == path and built.last
    assert (event["unit_code"], event["correlation_id"], event["traceparent"]) == ("07207", "req-1", "00-tp")


def test_batches_hold_whole_events_and_the_last_takes_the_rest() -> None:
    row, _ = _reader().read(2, GOOD)
    assert row is not None
    builder = DeliveryBuilder("0190aaaa-0000-7000-8000-000000000001", "2024-12-30T08:00:00+00:00", "officer", None,
                              ENTRIES, event_items=2)
    for n in range(5):
        builder.add(row.delivery, f"0190bbbb-0000-7000-8000-00000000000{n}", "v2008.24.213.07207", "poor")
    first, rest = builder.take(last=False), builder.take(last=True)
    assert (first.rows, len(first.events), first.last) == (4, 2, False)
    assert (rest.rows, len(rest.events), rest.last) == (1, 1, True)
    assert [len(orjson.loads(unpacked(body))["payload"]["items"]) for _, _, body in first.events + rest.events] == [
        2, 2, 1]
    assert first.amount_vnd == 4 * 500_000 and len(first.deliveries.splitlines()) == 4


def test_a_column_the_header_lacks_reads_empty_even_when_a_row_runs_past_the_header() -> None:
    titles = [title for field, title in COLUMNS if field != "note"]
    fields, _ = header_fields(titles)
    reader = RowReader(fields, CATALOGUE, TODAY, plain=True)
    row, problems = reader.read(2, [*GOOD[:10], GOOD[11], "=stray()"])
    assert problems == [] and row is not None and row.delivery.note is None and row.delivery.document_ref == "QĐ 1"
