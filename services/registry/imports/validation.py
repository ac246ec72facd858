"""One row of an import file → the household's values, or every (row, column, reason) wrong with it.

Only what the row alone decides is checked here (formats, ranges, codes of the review year's
standard); what needs the database (the commune, the caller's scope, duplicates) is checked per
batch by the runner. Cells come as text from CSV and typed from XLSX (numbers, dates, booleans).
"""

from __future__ import annotations

import operator
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.registry.imports.columns import COLUMN_NAMES
from shared.text import REFUSED_ANYWHERE, UnsafeText, clean_text

MAX_CODE = 40
MAX_TEXT = 200
MAX_MEMBERS = 50
MAX_INCOME = 10_000_000_000  # VND per person per month: far above any real household
TRUE_WORDS = frozenset({"true", "1", "yes", "y", "x", "có", "co"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "không", "khong", ""})
FORMULA_LEADS = frozenset("=+-@\t\r")
_SIGNED_NUMBER = re.compile(r"[+-]?\d[\d.,\s]*\Z")
_GROUPED = re.compile(r"\d{1,3}(?:([.,\s])\d{3})(?:\1\d{3})*\Z")
_DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# The fast path steps aside for a control character anywhere, or a cell (NUL-separated) that starts
# with a space or like a formula, or ends with a space.
_CONTROL_INSIDE = REFUSED_ANYWHERE  # control characters and invisible direction marks (shared/text.py)
_EDGES = re.compile(r"\x00[\s=+\-@]|\s\x00")
_FAST_BOOLS = {"true": True, "false": False, "": False, "1": True, "0": False, "TRUE": True, "FALSE": False}

# year -> the standard's indicator codes; raises ValueError (NoStandardForYear) for a year without one.
IndicatorCodes = Callable[[int], frozenset[str]]


@dataclass(frozen=True, slots=True)
class RowError:
    row: int | None
    column: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "reason": self.reason}


@dataclass(slots=True)
class HouseholdRow:
    row: int
    household_code: str
    commune_code: str
    village: str | None
    head_name: str
    head_citizen_id: str
    head_birth_date: date
    member_count: int
    ethnic_minority: bool
    policy_family: bool
    income_per_capita: int
    deprived_indicators: tuple[str, ...]
    review_year: int


class Invalid(ValueError):
    """A cell's value is wrong; the message is the reason shown to the user."""


class RowValidator:
    def __init__(self, index: dict[str, int], width: int, indicator_codes: IndicatorCodes,
                 today: date | None = None) -> None:
        self.positions = [index[name] for name in COLUMN_NAMES]
        self._pick = operator.itemgetter(*self.positions)
        self.width = width
        self.today = today or date.today()
        self._codes_of = indicator_codes
        self._codes: dict[int, frozenset[str] | str] = {}  # year -> codes, or the reason there are none

    def check(self, number: int, cells: list[Any]) -> HouseholdRow | list[RowError]:
        """The row's values, or every problem of the row (one per column at most)."""
        return self._fast(number, cells) or self._detailed(number, cells)

    def _fast(self, number: int, cells: list[Any]) -> HouseholdRow | None:
        """The common case — an all-text row in canonical form — in a few C-level calls.

        Accepts a subset of what `_detailed` accepts and gives the same values; anything else
        (cells with surrounding spaces, numbers typed in XLSX, grouped digits, day/month dates,
        names with hyphens...) answers None and goes the detailed way, which also words the errors.
        """
        if len(cells) != self.width:
            return None
        try:
            joined = "\x00" + "\x00".join(cells) + "\x00"  # CSV cells never hold NUL; a non-text cell raises
        except TypeError:
            return None
        if (_CONTROL_INSIDE.search(joined) or _EDGES.search(joined)
                or not unicodedata.is_normalized("NFC", joined)):
            return None
        (code, commune, village, name, citizen_id, birth, members, ethnic, policy, income, deprived,
         year) = self._pick(cells)
        if not (code and len(code) <= MAX_CODE and len(commune) == 5 and commune.isdigit() and commune.isascii()
                and len(village) <= MAX_TEXT and len(name) <= MAX_TEXT and name.replace(" ", "").isalpha()
                and "  " not in name and len(citizen_id) == 12 and citizen_id.isdigit() and citizen_id.isascii()
                and len(birth) == 10 and birth[4] == "-" and members.isdigit() and members.isascii()
                and income.isdigit() and income.isascii() and year.isdigit() and year.isascii()):
            return None
        ethnic_flag, policy_flag = _FAST_BOOLS.get(ethnic), _FAST_BOOLS.get(policy)
        member_count, income_value, review_year = int(members), int(income), int(year)
        allowed = self._codes.get(review_year)
        if (ethnic_flag is None or policy_flag is None or not 1 <= member_count <= MAX_MEMBERS
                or income_value > MAX_INCOME or not isinstance(allowed, frozenset)):
            return None
        try:
            born = date.fromisoformat(birth)
        except ValueError:
            return None
        if born > self.today or born.year < 1900:
            return None
        indicators: tuple[str, ...] = ()
        if deprived:
            indicators = tuple(deprived.split(";"))
            if not allowed.issuperset(indicators) or len(set(indicators)) != len(indicators):
                return None
        return HouseholdRow(number, code, commune, village or None, name, citizen_id, born, member_count,
                            ethnic_flag, policy_flag, income_value, indicators, review_year)

    def _detailed(self, number: int, cells: list[Any]) -> HouseholdRow | list[RowError]:
        errors: list[RowError] = []
        if len(cells) != self.width and (len(cells) < self.width or any(c not in (None, "") for c in
                                                                         cells[self.width:])):
            return [RowError(number, None, f"The row has {len(cells)} values; the header has {self.width} columns.")]
        values: list[Any] = []
        for name, position in zip(COLUMN_NAMES, self.positions, strict=True):
            value = cells[position]
            if type(value) is str:
                value = value.strip()
                if value and value[0] in FORMULA_LEADS and not _SIGNED_NUMBER.match(value):
                    errors.append(RowError(number, name, "Spreadsheet formulas are not accepted (the cell starts "
                                                         f"with '{value[0]}'); type the value itself."))
                    values.append(None)
                    continue
            elif value is not None and not isinstance(value, int | float | datetime | date | bool):
                errors.append(RowError(number, name, "Spreadsheet formulas are not accepted; type the value itself."))
                values.append(None)
                continue
            values.append(value)
        if errors:
            return errors
        (code, commune, village, head_name, citizen_id, birth, members, ethnic, policy, income, deprived,
         year) = values
        parsed: list[Any] = []
        for name, parse, value in (
            ("household_code", _household_code, code),
            ("commune_code", _commune_code, commune),
            ("village", _village, village),
            ("head_name", _head_name, head_name),
            ("head_citizen_id", _citizen_id, citizen_id),
            ("head_birth_date", self._birth_date, birth),
            ("member_count", _member_count, members),
            ("ethnic_minority", _boolean, ethnic),
            ("policy_family", _boolean, policy),
            ("income_per_capita", _income, income),
            ("review_year", self._year, year),
        ):
            try:
                parsed.append(parse(value))
            except Invalid as exc:
                errors.append(RowError(number, name, str(exc)))
                parsed.append(None)
        review_year = parsed[-1]
        indicators: tuple[str, ...] = ()
        if review_year is not None:
            try:
                indicators = self._indicators(deprived, review_year)
            except Invalid as exc:
                errors.append(RowError(number, "deprived_indicators", str(exc)))
        if errors:
            return errors
        return HouseholdRow(number, parsed[0], parsed[1], parsed[2], parsed[3], parsed[4], parsed[5], parsed[6],
                            parsed[7], parsed[8], parsed[9], indicators, review_year)

    def _birth_date(self, value: Any) -> date:
        born = _date(value)
        if born > self.today:
            raise Invalid(f"The birth date {born.isoformat()} is in the future.")
        if born.year < 1900:
            raise Invalid(f"The birth date {born.isoformat()} is before 1900.")
        return born

    def _year(self, value: Any) -> int:
        year = _whole(value, "The review year")
        known = self._codes.get(year)
        if known is None:
            try:
                known = self._codes_of(year)
            except ValueError:
                known = f"No poverty standard covers the review year {year}."
            self._codes[year] = known
        if isinstance(known, str):
            raise Invalid(known)
        return year

    def _indicators(self, value: Any, year: int) -> tuple[str, ...]:
        if value is None:
            return ()
        text = str(value).strip().lower()
        if not text:
            return ()
        codes = tuple(dict.fromkeys(c.strip() for c in text.split(";") if c.strip()))
        allowed = self._codes[year]
        assert not isinstance(allowed, str)
        unknown = [c for c in codes if c not in allowed]
        if unknown:
            raise Invalid(f"Unknown indicator code(s) {', '.join(unknown)} for {year}; separate codes with ';'. "
                          f"Allowed: {', '.join(sorted(allowed))}.")
        return codes


# --- cell parsers: each returns the value or raises Invalid with the reason

def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _household_code(value: Any) -> str:
    text = _text(value)
    if not text:
        raise Invalid("The household code is required.")
    if len(text) > MAX_CODE:
        raise Invalid(f"The household code is longer than {MAX_CODE} characters.")
    if _CONTROL.search(text):
        raise Invalid("The household code contains control characters.")
    return text


def _digits(value: Any, length: int, what: str) -> str:
    if isinstance(value, bool):
        raise Invalid(f"{what} must be {length} digits.")
    if isinstance(value, int | float) and float(value).is_integer() and value >= 0:
        text = str(int(value)).zfill(length)  # a spreadsheet dropped the leading zeros of a code typed as number
    else:
        text = _text(value)
    if not text:
        raise Invalid(f"{what} is required.")
    if len(text) != length or not text.isascii() or not text.isdigit():
        raise Invalid(f"{what} must be exactly {length} digits (got {text[:20]!r}).")
    return text


def _commune_code(value: Any) -> str:
    return _digits(value, 5, "The commune code")


def _citizen_id(value: Any) -> str:
    return _digits(value, 12, "The citizen ID")


def _personal(value: Any, what: str) -> str:
    """Text people typed, by the one rule of every way in (shared/text.py): trimmed, NFC, no control
    characters, no invisible direction marks, no leading formula character."""
    try:
        return clean_text(_text(value))
    except UnsafeText as exc:
        raise Invalid(f"{what} {exc}.") from exc


def _village(value: Any) -> str | None:
    text = _personal(value, "The village")
    if len(text) > MAX_TEXT:
        raise Invalid(f"The village is longer than {MAX_TEXT} characters.")
    return text or None


def _head_name(value: Any) -> str:
    text = " ".join(_personal(value, "The head's name").split())
    if not text:
        raise Invalid("The head's name is required.")
    if len(text) > MAX_TEXT:
        raise Invalid(f"The head's name is longer than {MAX_TEXT} characters.")
    if not any(ch.isalpha() for ch in text) or any(ch.isdigit() for ch in text):
        raise Invalid("The head's name must be letters (no digits).")
    return text


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    if not text:
        raise Invalid("The date is required.")
    try:
        if len(text) == 10 and text[4] == "-":
            return date.fromisoformat(text)
        match = _DMY.match(text)
        if match:
            day, month, year = (int(g) for g in match.groups())
            return date(year, month, day)
    except ValueError as exc:
        raise Invalid(f"{text!r} is not a real date ({exc}).") from exc
    raise Invalid(f"{text!r} is not a date; write YYYY-MM-DD or DD/MM/YYYY.")


def _whole(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise Invalid(f"{what} must be a whole number.")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise Invalid(f"{what} must be a whole number (got {value}).")
    text = _text(value)
    if not text:
        raise Invalid(f"{what} is required.")
    sign = -1 if text[0] == "-" else 1
    digits = text.lstrip("+-").strip()
    if digits.isascii() and digits.isdigit():
        return sign * int(digits)
    if _GROUPED.match(digits):  # 1.500.000 / 1,500,000 / 1 500 000
        return sign * int(re.sub(r"\D", "", digits))
    raise Invalid(f"{what} must be a whole number (got {text[:20]!r}).")


def _member_count(value: Any) -> int:
    count = _whole(value, "The member count")
    if not 1 <= count <= MAX_MEMBERS:
        raise Invalid(f"The member count must be between 1 and {MAX_MEMBERS} (got {count}).")
    return count


def _income(value: Any) -> int:
    income = _whole(value, "The income per capita")
    if income < 0:
        raise Invalid(f"The income per capita must not be negative (got {income}).")
    if income > MAX_INCOME:
        raise Invalid(f"The income per capita {income} is not plausible (VND per person per month).")
    return income


def _boolean(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise Invalid(f"{text[:20]!r} is not true or false (also 1/0, yes/no, có/không).")
