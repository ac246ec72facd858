"""The delivery import file, pure: its columns (Vietnamese headers, as the template has them), and
one row read into a delivery's lines or the reasons it cannot be (each naming its column).

A row is one household delivery: the household is named by its commune and household codes, as an
officer knows it. The funding column holds one source code (it paid the whole amount) or parts
`code=amount; code=amount` that add up to the amount.
"""

from __future__ import annotations

import dataclasses
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any, NamedTuple

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


# The file's numbers are written the Vietnamese way: a dot (or a space) groups thousands, a comma marks
# decimals ("81.150.000" đồng, "4.756,25" kg); plain digits are fine too. A number typed as a number in
# XLSX (int or float) is taken as it is. What reads two ways ("5.41", "1,000") is refused, not guessed.
_NUMBER = re.compile(r"(\d+|\d{1,3}(?:\.\d{3})+|\d{1,3}(?: \d{3})+)(?:,(\d+))?", re.ASCII)
_DOTTED = re.compile(r"\d+(?:\.\d+)+", re.ASCII)  # dots that are not a grouping of thousands: a decimal point?
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " "})  # no-break spaces, as spreadsheets group with them
MAX_VND, MAX_COUNT = 10**14, 10_000_000  # as deliveries/schemas.py bounds Vnd and Count
MAX_QUANTITY_DIGITS, MAX_QUANTITY_DECIMALS = 16, 3  # as deliveries/schemas.py bounds a quantity
WHOLE = "write digits (81150000) or group thousands with dots (81.150.000)"
DECIMAL = "a comma marks decimals and dots group thousands (4.756,25)"


class NumberRefused(ValueError):
    """A cell that is not a number as this file writes them: its reason."""


def _number(value: Any, what: str | None) -> Decimal:
    """A cell as a number: an XLSX number as it is, text the Vietnamese way (_NUMBER). `what` a whole
    number counts (đồng, persons; None: a quantity) shapes the reason of a refusal. An XLSX TRUE/FALSE
    cell is read as its text (and refused)."""
    if type(value) is bool:
        value = str(value)
    if type(value) is int:
        return Decimal(value)
    if type(value) is float and math.isfinite(value):
        return Decimal(repr(value))
    text = " ".join(value.translate(_SPACES).split()) if isinstance(value, str) else _text(value)
    negative = text.startswith("-")
    unsigned = text[1:].lstrip() if negative else text
    match = _NUMBER.fullmatch(unsigned) if isinstance(value, str) else None
    if match is not None:
        whole, fraction = match.group(1).replace(".", "").replace(" ", ""), match.group(2)
        if fraction and what is not None:
            raise NumberRefused(f"'{text}' has a fractional part (a comma marks decimals): a whole number of "
                                 f"{what} is expected; {WHOLE}")
        number = Decimal(f"{whole}.{fraction}" if fraction else whole)
        return -number if negative else number
    if _DOTTED.fullmatch(unsigned):
        if what is not None:
            raise NumberRefused(f"'{text}' is not a whole number of {what}: a dot only groups three digits; {WHOLE}")
        raise NumberRefused(f"'{text}' is ambiguous: a dot groups thousands (5.410 is five thousand four hundred "
                            f"ten); write decimals with a comma ({unsigned.replace('.', ',')})")
    if unsigned and all(c.isdigit() or c in ".," for c in unsigned.replace(" ", "")):
        raise NumberRefused(f"'{text}' is not written the Vietnamese way: {WHOLE if what else DECIMAL}")
    raise NumberRefused(f"'{text}' is not a number")


def _integer(value: Any, what: str = "persons", limit: int = MAX_COUNT) -> int:
    """A whole number ≥ 0 of `what` (đồng, persons), at most `limit`: refused with its reason when it
    has a fractional part (even ",00" or an XLSX 1.5), is negative, too large or not a number."""
    number = _number(value, what)
    if number != number.to_integral_value():
        raise NumberRefused(f"'{_text(value)}' has a fractional part: a whole number of {what} is expected")
    if number < 0:
        raise NumberRefused(f"'{_text(value)}' is negative")
    if number > limit:
        raise NumberRefused(f"'{_text(value)}' is more than {limit:_} {what}".replace("_", "."))
    return int(number)


def _quantity(value: Any) -> Decimal:
    """A quantity > 0 with at most 3 decimals and 16 digits (as a delivery's quantity)."""
    number = _number(value, None)
    if number <= 0:
        raise NumberRefused(f"'{_text(value)}' is not a positive number")
    exponent = number.normalize().as_tuple().exponent
    decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if decimals > MAX_QUANTITY_DECIMALS or len(str(int(number))) + decimals > MAX_QUANTITY_DIGITS:
        raise NumberRefused(f"'{_text(value)}' has more than {MAX_QUANTITY_DECIMALS} decimals or "
                            f"{MAX_QUANTITY_DIGITS} digits")
    return number


# Parts are separated by ";" (or by "," before the next "code=": a comma inside an amount is a decimal mark).
_PARTS = re.compile(r";|,(?=\s*[a-z0-9_]+\s*=)")


def _funding(text: str, amount: int) -> list[tuple[str, int]]:
    if not text:
        return []
    if "=" not in text:
        return [(text, amount)]
    parts = []
    for piece in _PARTS.split(text):
        if piece.strip():
            code, _, value = piece.partition("=")
            parts.append((code.strip(), _integer(value.strip(), "đồng", MAX_VND)))
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


class Row(NamedTuple):  # one per row: a tuple is made in half the time of a frozen dataclass
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
            if values["measure"] in MONEY_MEASURES:
                bad("measure", f"'{values['measure']}' is money: write it in the amount column")
            elif programme is not None and values["measure"] not in programme.measures:
                bad("measure", f"programme {programme.code} does not use '{values['measure']}'")
            try:
                if not values["quantity"]:
                    raise NumberRefused("a quantity is required with its measure")
                quantity = _quantity(cells.get("quantity"))
                quantities.append({"measure": values["measure"], "quantity": format(quantity.normalize(), "f")})
            except NumberRefused as exc:
                bad("quantity", str(exc))
        amount = 0
        try:
            amount = _integer(cells.get("amount_vnd"), "đồng", MAX_VND) if values["amount_vnd"] else 0
        except NumberRefused as exc:
            bad("amount_vnd", str(exc))
        funding: list[tuple[str, int]] = []
        try:
            funding = _funding(values["funding"], amount)
            for problem in funding_problems(amount, funding, {s: s in catalogue.sources for s, _ in funding}):
                bad("funding", problem["reason"])
        except NumberRefused as exc:
            bad("funding", f"write one source code, or parts 'code=amount; code=amount': {exc}")
        persons = None
        if values["persons"]:
            try:
                persons = _integer(cells.get("persons"), "persons")
            except NumberRefused as exc:
                bad("persons", str(exc))
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
