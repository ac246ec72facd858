"""Reading and validating import rows without a database: formats, the fast path, payload shapes."""

from __future__ import annotations

import pickle
import random
import re
from datetime import date
from pathlib import Path
from uuid import UUID

import orjson

from services.registry import events
from services.registry.classification.classifier import Standards
from services.registry.classification.standards import STANDARDS_DATA, parse_standards
from services.registry.households.models import Household, Member
from services.registry.households.rules import household_snapshot, member_snapshot
from services.registry.imports.batch_events import EventBatcher
from services.registry.imports.build import (
    ASSESSMENT_COLUMNS,
    HISTORY_COLUMNS,
    HOUSEHOLD_COLUMNS,
    MEMBER_COLUMNS,
    RecordBuilder,
)
from services.registry.imports.columns import COLUMN_NAMES
from services.registry.imports.places import Commune
from services.registry.imports.reader import open_sheet
from services.registry.imports.validation import HouseholdRow, RowValidator
from services.registry.imports.worker import receive, send
from shared.events import Event, uuid7
from shared.lines import Lines
from tests.kit import make_principal
from tests.registry.test_imports_support import CIPHER, csv_file, household, xlsx_file

TODAY = date(2026, 1, 1)

STANDARDS = Standards(parse_standards(STANDARDS_DATA))
indicator_codes = STANDARDS.indicator_codes


def _validator(index: dict[str, int] | None = None) -> RowValidator:
    return RowValidator(index or {name: i for i, name in enumerate(COLUMN_NAMES)}, len(COLUMN_NAMES),
                        indicator_codes, today=TODAY)


def _sheet_rows(tmp_path: Path, data: bytes) -> tuple[list[tuple[int, list[object]]], RowValidator]:
    path = tmp_path / "upload"
    path.write_bytes(data)
    sheet, problems = open_sheet(path)
    assert problems == []
    try:
        return list(sheet.rows), RowValidator(sheet.index, sheet.width, indicator_codes, today=TODAY)
    finally:
        sheet.close()


def test_csv_variants_read_the_same_values(tmp_path: Path) -> None:
    rows = [household(1), household(2, village="Thôn Đông, xóm 2")]
    plain = csv_file(rows)
    variants = {
        "utf-8 with BOM": b"\xef\xbb\xbf" + plain,
        "semicolons": csv_file(rows, delimiter=";"),
        "tabs, UTF-16 (Excel 'Unicode text')": csv_file(rows, delimiter="\t").decode().encode("utf-16"),
        "LF and trailing blank lines": plain.replace(b"\r\n", b"\n") + b"\n\n,,,,,,,,,,,\n",
        "columns in another order": csv_file(rows, columns=list(reversed(COLUMN_NAMES))),
    }
    expected, validator = _sheet_rows(tmp_path, plain)
    expected_values = [validator.check(n, c) for n, c in expected]
    assert all(isinstance(v, HouseholdRow) for v in expected_values)
    for name, data in variants.items():
        got, validator = _sheet_rows(tmp_path, data)
        assert [validator.check(n, c) for n, c in got] == expected_values, name


def test_row_numbers_are_the_spreadsheets(tmp_path: Path) -> None:
    data = csv_file([household(1)]) + b"\r\n" + csv_file([household(2)]).split(b"\r\n", 1)[1]
    got, _ = _sheet_rows(tmp_path, data)
    assert [n for n, _ in got] == [2, 4]  # the blank row 3 is skipped, not renumbered


def test_xlsx_cells_keep_their_types(tmp_path: Path) -> None:
    got, validator = _sheet_rows(tmp_path, xlsx_file([
        ["A-1", 7207, None, "Hà Thị Lan", 24085000011, date(1980, 1, 31), 3.0, True, 0, 1_500_000.0, None, 2024]]))
    [(number, cells)] = got
    row = validator.check(number, cells)
    assert isinstance(row, HouseholdRow)
    assert (row.commune_code, row.head_citizen_id, row.head_birth_date, row.member_count, row.ethnic_minority,
            row.policy_family, row.income_per_capita, row.village) == (
        "07207", "024085000011", date(1980, 1, 31), 3, True, False, 1_500_000, None)


def test_the_fast_path_agrees_with_the_detailed_one() -> None:
    validator = _validator()
    rnd = random.Random(5)
    mutations = [
        ("head_name", " Nguyễn  Văn An "), ("head_name", "Nguyễn-Văn An"), ("head_name", "An2"), ("village", ""),
        ("village", " Thôn 1"), ("household_code", "=1+1"), ("household_code", "x" * 41), ("commune_code", "7207"),
        ("head_citizen_id", "02408500001x"), ("head_birth_date", "21/03/1975"), ("head_birth_date", "1975-02-30"),
        ("head_birth_date", "1899-12-31"), ("member_count", "+3"), ("member_count", "51"), ("ethnic_minority", "Có"),
        ("policy_family", "TRUE"), ("income_per_capita", "1.200.000"), ("income_per_capita", "-1"),
        ("deprived_indicators", "Latrine; telecom"), ("deprived_indicators", "latrine;latrine"),
        ("deprived_indicators", "latrine;;telecom"), ("deprived_indicators", "clean_water"), ("review_year", "2031"),
        ("review_year", "2020"), ("village", "Thôn\t1"), ("head_name", "@An"),
    ]
    validator.check(1, list(household(1).values()))  # first sight of the year goes the detailed way
    taken = 0
    for n in range(2, 3000):
        row = household(n)
        for column, value in rnd.sample(mutations, rnd.randint(0, 2)):
            row[column] = value
        cells = [row[c] for c in COLUMN_NAMES]
        fast, detailed = validator._fast(n, cells), validator._detailed(n, cells)
        if fast is not None:
            taken += 1
            assert fast == detailed, cells
    assert taken > 500  # canonical rows do take the fast path


_COPY_ESCAPES = {"\\\\": "\\", "\\t": "\t", "\\n": "\n", "\\r": "\r"}


def _copy_fields(line: bytes) -> list[str | None]:
    """A COPY text line back into its values (NULL → None, backslash escapes undone)."""
    fields = line.decode().removesuffix("\n").split("\t")
    return [None if f == "\\N" else re.sub(r"\\[\\tnr]", lambda m: _COPY_ESCAPES[m.group(0)], f) for f in fields]


def test_imported_payloads_have_the_shapes_of_the_services_builders() -> None:
    principal = make_principal("commune_officer", ["v2008.24.213.07207"])
    commune = Commune("v2008.24.213.07207", "v2008", "07207", "Phường Ngô Quyền", True)
    row = _validator().check(2, list(household(1).values()))
    assert isinstance(row, HouseholdRow)
    builder = RecordBuilder(uuid7(), principal.id, principal.role, CIPHER, "req-1", STANDARDS)
    records = builder.build([(row, CIPHER.hash("024085000001"), commune)])
    [item] = records.items
    h, m, a, history = (dict(zip(columns, _copy_fields(line), strict=True)) for columns, [line] in (
        (HOUSEHOLD_COLUMNS, records.households), (MEMBER_COLUMNS, records.members),
        (ASSESSMENT_COLUMNS, records.assessments), (HISTORY_COLUMNS, records.history)))
    household_obj = Household(id=UUID(h["id"]), unit_path=h["unit_path"], commune_code=h["commune_code"],
                              household_code=h["household_code"], village=h["village"], address=None,
                              head_name=h["head_name"], area=h["area"], member_count=int(h["member_count"]),
                              ethnic_minority=h["ethnic_minority"] == "t", policy_family=h["policy_family"] == "t",
                              social_protection=False, no_labour_capacity=False, status=None, status_year=None,
                              version=int(h["version"]))
    indicators = a["deprived_indicators"].strip("{}")
    assessment = {"id": a["id"], "review_year": a["review_year"], "status": a["status"], "standard": a["standard"],
                  "deprived_indicators": indicators.split(",") if indicators else []}
    expected = events.assessed_payload(household_obj, assessment, None, a["transition"])
    assert expected["deprived_indicators"] == ["health_insurance", "housing_quality", "latrine"]
    assert orjson.loads(item.removesuffix(b",")) == expected | {
        "version": 1, "unit_path": commune.path, "household_code": h["household_code"], "member_ids": [m["id"]]}
    assert m["household_id"] == a["household_id"] == history["household_id"] == h["id"]
    encrypted = bytes.fromhex(m["citizen_id_enc"].removeprefix("\\x"))
    assert CIPHER.decrypt(encrypted) == "024085000001"
    assert bytes.fromhex(m["citizen_id_hash"].removeprefix("\\x")) == CIPHER.hash("024085000001")
    member_obj = Member(id=UUID(m["id"]), full_name=m["full_name"], citizen_id_enc=encrypted,
                        birth_date=date.fromisoformat(m["birth_date"]), sex=None, ethnicity=None,
                        relation=m["relation"], is_head=True, no_labour_capacity=False, social_protection=False,
                        policy_person=False)
    after = orjson.loads(history["after"])
    assert after == household_snapshot(household_obj) | {"members": [member_snapshot(member_obj, CIPHER)]}
    assert (history["actor_id"], history["actor_role"], history["correlation_id"]) == (
        principal.id, principal.role, "req-1")


def test_events_carry_at_most_the_batch_size_and_every_item_once() -> None:
    batcher = EventBatcher(uuid7(), 3)
    paths = [f"v2008.24.213.0720{i % 2}" for i in range(7)]
    items = [orjson.dumps({"unit_path": path, "status": "poor", "n": i}) + b"," for i, path in enumerate(paths)]
    first = batcher.add(Lines.join(items[:4]), paths[:4])
    rest = batcher.add(Lines.join(items[4:]), paths[4:]) + batcher.rest()

    def sent(event: Event) -> list[int]:
        return [i["n"] for i in orjson.loads(event.to_bytes())["payload"]["items"]]

    assert [sent(e) for e in first] == [[0, 1, 2]]
    assert [sent(e) for e in rest] == [[3, 4, 5], [6]]
    assert first[0].unit_path == "v2008.24.213" and first[0].type == "registry.household.assessed_batch"


def test_the_documentation_lists_the_canonical_columns_in_order() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "registry-imports.md").read_text(encoding="utf-8")
    table = doc.split("## Canonical columns", 1)[1].split("\n## ", 1)[0]
    documented = [line.split("`")[1] for line in table.splitlines() if line.startswith("| `")]
    assert documented == list(COLUMN_NAMES)


def test_a_batch_of_lines_drops_cuts_and_joins_rows_and_survives_the_trip_to_the_service() -> None:
    lines = Lines.join([b"a\n", b"bb\n", b"ccc\n"])
    assert list(lines) == [b"a\n", b"bb\n", b"ccc\n"] and lines.data == b"a\nbb\nccc\n"
    assert list(lines.without({1})) == [b"a\n", b"ccc\n"]
    assert lines.span(1, 3) == b"bb\nccc\n" and lines.span(2, 2) == b""
    assert list(lines.tail(2)) == [b"ccc\n"]
    assert list(lines.tail(1) + Lines.join([b"d\n"])) == [b"bb\n", b"ccc\n", b"d\n"]
    sent: list[bytes] = []

    class Pipe:  # what the worker's messages go through: a header, then each buffer as it is
        def send(self, value: object) -> None:
            sent.append(pickle.dumps(value))

        def send_bytes(self, value: memoryview) -> None:
            sent.append(bytes(value))

        def recv(self) -> object:
            return pickle.loads(sent.pop(0))

        def recv_bytes(self) -> bytes:
            return sent.pop(0)

    pipe = Pipe()
    send(pipe, {"batch": lines})  # type: ignore[arg-type]
    assert len(sent) == 2 and sent[1] == lines.data  # the lines went out of band, not pickled
    assert list(receive(pipe)["batch"]) == list(lines)  # type: ignore[arg-type]
