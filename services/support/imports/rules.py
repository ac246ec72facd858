"""The delivery import file, pure: its columns (Vietnamese headers, as the template has them), and
one row read into a delivery's lines or the reasons it cannot be (each naming its column).

A row is one household delivery: the household is named by its commune and household codes, as an
officer knows it. The funding column holds one source code (it paid the whole amount) or parts
`code=amount; code=amount` that add up to the amount.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from operator import itemgetter
from typing import Any

from services.support.catalogue.rules import MONEY_MEASURES, Programme
from services.support.deliveries.rules import funding_problems
from shared.text import UnsafeText, clean_text

# (field, header in the template). A header is matched by either, case and spacing aside.
COLUMNS = (
    ("commune_code", "Mã xã"), ("household_code", "Mã hộ"), ("programme", "Mã chương trình"),
    ("delivered_on", "Ngày hỗ trợ"), ("measure", "Đơn vị tính"), ("quantity", "Số lượng"),
    ("amount_vnd", "Số tiền (đồng)"), ("funding", "Nguồn kinh phí"), ("body", "Đơn vị thực hiện"),
    ("persons", "Số nhân khẩu"), ("note", "Ghi chú"), ("document_ref", "Số văn bản"),
)
REQUIRED = ("commune_code", "household_code", "programme", "delivered_on", "body")
EXAMPLE = ("07207", "HN-0001", "housing_repair", "2024-05-10", "house", "1", "20000000",
           "vnn_fund_district=12000000; hlhpn_mai_am=8000000", "hlhpn", "4", "Sửa mái nhà", "QĐ 15/2024")
MAX_ERRORS_LISTED = 1000


def _key(header: Any) -> str:
    return " ".join(unicodedata.normalize("NFC", str(header or "")).lower().split())


HEADERS = {_key(field): field for field, _ in COLUMNS} | {_key(title): field for field, title in COLUMNS}


def header_fields(header: list[Any]) -> tuple[list[str | None], list[str]]:
    """The field of each header cell (None: a column this import does not read), and the problems."""
    fields = [HEADERS.get(_key(h)) for h in header]
    missing = [dict(COLUMNS)[f] for f in REQUIRED if f not in fields]
    doubled = sorted({f for f in fields if f and fields.count(f) > 1})
    problems = [f"missing column '{m}'" for m in missing] + [f"column '{dict(COLUMNS)[d]}' appears twice"
                                                             for d in doubled]
    return fields, problems


@dataclass(frozen=True)
class Catalogue:
    """The active entries the importing caller's whole scope may use (read once per import)."""
    programmes: Mapping[str, Programme]
    bodies: frozenset[str]
    sources: frozenset[str]
    # (catalogue, code) → why an entry of another unit is left out (a province's own programme).
    refused: Mapping[tuple[str, str], str] = dataclasses.field(default_factory=dict)


FIELDS = tuple(field for field, _ in COLUMNS)
TITLES = dict(COLUMNS)


def _text(value: Any) -> str:
    if type(value) is str:  # the common case (every CSV cell): one check
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    if "/" in text:
        d, m, y = text.split("/")
        return date(int(y), int(m), int(d))
    return date.fromisoformat(text)


def _integer(value: Any) -> int:
    text = _text(value).replace(".", "").replace(",", "").replace(" ", "") if isinstance(value, str) else _text(value)
    number = int(text)
    if number < 0:
        raise ValueError
    return number


def _funding(text: str, amount: int) -> list[tuple[str, int]]:
    if not text:
        return []
    if "=" not in text:
        return [(text, amount)]
    parts = []
    for piece in text.replace(",", ";").split(";"):
        if piece.strip():
            code, _, value = piece.partition("=")
            parts.append((code.strip(), _integer(value.strip())))
    return parts



@dataclass(frozen=True, slots=True)
class Delivery:
    """What a row delivers, apart from to whom: shared by every row that gives the same cells."""
    programme: Programme
    delivered_on: date
    quantities: list[dict[str, str]]
    amount_vnd: int
    funding: list[dict[str, Any]]
    body: str
    persons: int | None
    note: str | None
    document_ref: str | None


@dataclass(frozen=True, slots=True)
class Row:
    number: int
    commune_code: str
    household_code: str
    delivery: Delivery


@dataclass(frozen=True, slots=True)
class _Checked:
    required: tuple[str, ...]  # fields left empty (nothing else is checked then)
    problems: tuple[tuple[str, str], ...]  # (field, reason)
    delivery: Delivery | None


HOUSEHOLD_FIELDS = ("commune_code", "household_code")
DELIVERY_FIELDS = tuple(f for f in FIELDS if f not in HOUSEHOLD_FIELDS)


class RowReader:
    """The rows of one file, read by its header's fields, against the catalogue on `today`.

    A file repeats its delivery cells row after row (one programme, its amount and sources, a few
    dates, the same body and note): each distinct combination of them is checked once and its
    result shared; only the household's two cells are read per row."""

    def __init__(self, fields: list[str | None], catalogue: Catalogue, today: date, plain: bool = False) -> None:
        """`plain`: every cell is text or None (a CSV file), so cells are their own cache key."""
        self.catalogue, self.today, self.plain = catalogue, today, plain
        # Where each field's cell is; a field the header lacks reads a None put past the header's width.
        width = len(fields)
        at = {f: fields.index(f) if f in fields else width for f in FIELDS}
        self._commune, self._household = at["commune_code"], at["household_code"]
        self._cells = itemgetter(*(at[f] for f in DELIVERY_FIELDS))
        self._width, self._lacking = width, any(f not in fields for f in FIELDS)
        self._checked: dict[tuple[Any, ...], _Checked] = {}

    def read(self, number: int, cells: list[Any]) -> tuple[Row | None, list[tuple[int, str, str]]]:
        """One row's delivery, or its problems as (row, column header, reason)."""
        width = self._width
        if self._lacking or len(cells) < width:  # cells past the header are not read
            cells = cells[:width] + [None] * (width + 1 - min(len(cells), width))
        raw = self._cells(cells)
        key = raw if self.plain else (raw, tuple(map(type, raw)))  # 1, 1.0 and True are one key, not one cell
        checked = self._checked.get(key)
        if checked is None:
            checked = self._checked[key] = self._check(dict(zip(DELIVERY_FIELDS, raw, strict=True)))
        commune, household = cells[self._commune], cells[self._household]
        commune = commune.strip() if type(commune) is str else _text(commune)
        household = household.strip() if type(household) is str else _text(household)
        if not commune or not household or checked.required:
            empty = [f for f, v in (("commune_code", commune), ("household_code", household)) if not v]
            return None, [(number, TITLES[f], "required") for f in (*empty, *checked.required)]
        if checked.problems or not commune.isdigit() or len(commune) > 5:
            problems = [(number, TITLES[f], reason) for f, reason in checked.problems]
            if not commune.isdigit() or len(commune) > 5:
                problems.append((number, TITLES["commune_code"], f"'{commune}' is not a commune code"))
            return None, problems
        assert checked.delivery is not None
        return Row(number, commune, household, checked.delivery), []

    def _check(self, cells: Mapping[str, Any]) -> _Checked:
        catalogue, today = self.catalogue, self.today
        problems: list[tuple[str, str]] = []

        def bad(field: str, reason: str) -> None:
            problems.append((field, reason))

        values = {field: _text(cells.get(field)) for field in DELIVERY_FIELDS}
        required = tuple(f for f in REQUIRED if f in values and not values[f])
        if required:
            return _Checked(required, (), None)
        programme = catalogue.programmes.get(values["programme"])
        if programme is None:
            bad("programme", catalogue.refused.get(("programme", values["programme"]))
                or f"no active programme '{values['programme']}'")
        if values["body"] not in catalogue.bodies:
            bad("body", catalogue.refused.get(("body", values["body"])) or f"no delivering body '{values['body']}'")
        try:
            delivered_on = _day(cells.get("delivered_on"))
            if delivered_on > today:
                bad("delivered_on", "in the future")
            elif programme is not None and not programme.runs_on(delivered_on):
                bad("delivered_on", f"outside programme {programme.code}'s period")
        except (ValueError, TypeError):
            bad("delivered_on", f"'{values['delivered_on']}' is not a date (dd/mm/yyyy or yyyy-mm-dd)")
            delivered_on = today
        quantities: list[dict[str, str]] = []
        if values["measure"] or values["quantity"]:
            try:
                quantity = Decimal(values["quantity"].replace(",", "."))
                if not quantity.is_finite() or quantity <= 0:
                    raise InvalidOperation
                if values["measure"] in MONEY_MEASURES:
                    bad("measure", f"'{values['measure']}' is money: write it in the amount column")
                elif programme is not None and values["measure"] not in programme.measures:
                    bad("measure", f"programme {programme.code} does not use '{values['measure']}'")
                quantities.append({"measure": values["measure"], "quantity": format(quantity.normalize(), "f")})
            except InvalidOperation:
                bad("quantity", f"'{values['quantity']}' is not a positive number")
        amount = 0
        try:
            amount = _integer(cells.get("amount_vnd")) if values["amount_vnd"] else 0
        except ValueError:
            bad("amount_vnd", f"'{values['amount_vnd']}' is not a whole number of đồng")
        funding: list[tuple[str, int]] = []
        try:
            funding = _funding(values["funding"], amount)
        except ValueError:
            bad("funding", "write one source code, or parts 'code=amount; code=amount'")
        for problem in funding_problems(amount, funding, {s: s in catalogue.sources for s, _ in funding}):
            bad("funding", problem["reason"])
        persons = None
        if values["persons"]:
            try:
                persons = _integer(cells.get("persons"))
            except ValueError:
                bad("persons", "not a count")
        texts: dict[str, str | None] = {}
        for field in ("note", "document_ref"):
            try:
                texts[field] = clean_text(values[field], multiline=field == "note") or None
            except UnsafeText as exc:
                bad(field, f"the text {exc}")
        if not quantities and not amount:
            bad("quantity", "a row must count a quantity or an amount")
        if problems or programme is None:
            return _Checked((), tuple(problems), None)
        return _Checked((), (), Delivery(
            programme=programme, delivered_on=delivered_on, quantities=quantities, amount_vnd=amount,
            funding=[{"source": s, "amount_vnd": a} for s, a in funding], body=values["body"], persons=persons,
            note=texts.get("note"), document_ref=texts.get("document_ref")))
