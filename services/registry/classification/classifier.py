"""Classification of a household by the official standard of its review year.

(review year, urban/rural, income per person per month, deprived indicators) → poor, near_poor,
middle_income or not_poor, with the lines applied and a one-sentence explanation.

Pure: `Standards` is built from the standards the service loaded once at start-up
(classification/service.py `load_standards`) and handed to whoever classifies; nothing here reads the
environment or a file. Three entry points share one rule:
- `classify()` answers the full, explained `Classification` (API, assessments);
- `classify_status()` and `classify_many()` answer the status alone for bulk work (imports):
  per-(year, area) lines are precomputed and indicators are checked with one frozenset subset test.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from services.registry.classification.standards import AREAS, Standard

POOR, NEAR_POOR, MIDDLE_INCOME, NOT_POOR = "poor", "near_poor", "middle_income", "not_poor"
STATUSES = (POOR, NEAR_POOR, MIDDLE_INCOME, NOT_POOR)
_STATUS_WORDS = {POOR: "poor", NEAR_POOR: "near-poor", MIDDLE_INCOME: "middle-income", NOT_POOR: "not poor"}


class Classification(NamedTuple):  # a tuple: a million of them are made per bulk import
    status: str                 # poor | near_poor | middle_income | not_poor
    standard: str               # the standard's code, e.g. "decree-07-2021"
    standard_name: str          # e.g. "Nghị định 07/2021/NĐ-CP (2022–2026)"
    area: str                   # urban | rural
    poverty_line: int           # VND / person / month applied
    near_poverty_line: int | None
    middle_income_line: int | None
    deprived_count: int
    deprived_indicators: tuple[str, ...]  # deduplicated, in the standard's order
    deprivation_threshold: int
    explanation: str


class UnknownIndicator(ValueError):
    def __init__(self, codes: list[str], allowed: list[str], standard: str) -> None:
        super().__init__(f"unknown deprivation indicator(s) {', '.join(codes)} for standard {standard}; "
                         f"allowed: {', '.join(allowed)}")
        self.codes = codes
        self.allowed = allowed
        self.standard = standard


class NoStandardForYear(ValueError):
    def __init__(self, year: int, standards: Sequence[Standard]) -> None:
        ranges = ", ".join(f"{s.year_from}–{s.year_to}" for s in standards)
        super().__init__(f"no poverty standard covers review year {year} (standards cover {ranges})")
        self.year = year


@dataclass(frozen=True)
class _Plan:
    """Everything the hot path needs for one (standard, area)."""

    standard: Standard
    area: str
    poverty: int
    near: int | None
    middle: int | None
    threshold: int
    income_alone_poor: bool
    allowed: frozenset[str]
    order: dict[str, int]

    def band(self, income: int) -> int:
        """0: at most the poverty line; 1: at most the near-poverty line; 2: at most the middle-income
        line; 3: above every line."""
        if income <= self.poverty:
            return 0
        if self.near is not None and income <= self.near:
            return 1
        if self.middle is not None and income <= self.middle:
            return 2
        return 3


def _make_plan(standard: Standard, area: str) -> _Plan:
    lines = standard.lines[area]
    codes = standard.indicator_codes
    return _Plan(standard, area, lines.poverty_line, lines.near_poverty_line, lines.middle_income_line,
                 standard.deprivation_threshold, standard.income_alone_poor, frozenset(codes),
                 {c: i for i, c in enumerate(codes)})


def _unknown(plan: _Plan, given: Iterable[str]) -> UnknownIndicator:
    unknown = sorted({c for c in given if c not in plan.allowed})
    return UnknownIndicator(unknown, list(plan.standard.indicator_codes), plan.standard.code)


def _band_status(plan: _Plan, band: int, deprived_count: int) -> str:
    if band == 0:
        return POOR if plan.income_alone_poor or deprived_count >= plan.threshold else NEAR_POOR
    if band == 1:
        return POOR if deprived_count >= plan.threshold else NEAR_POOR
    return MIDDLE_INCOME if band == 2 else NOT_POOR


def _check_income(income: int) -> None:
    if income < 0:
        raise ValueError(f"income per capita must be 0 or more, not {income}")


# Everything a classification says but the income amount itself depends on the plan, where the income
# falls between the lines (the band) and the indicators: worked out and worded once per case, so that
# a bulk import (a million classifications) pays a dictionary look-up and one format each.
_Case = tuple[str, tuple[Any, ...], str]  # explanation head, the fields before it, explanation tail
_MAX_CASES = 50_000  # a few thousand in practice: most households lack at most three of 10-12 indicators


def _case(plan: _Plan, band: int, given: frozenset[str]) -> _Case:
    if not given <= plan.allowed:
        raise _unknown(plan, given)
    deprived = tuple(sorted(given, key=plan.order.__getitem__))
    status = _band_status(plan, band, len(deprived))
    fields = (status, plan.standard.code, plan.standard.name, plan.area, plan.poverty, plan.near, plan.middle,
              len(deprived), deprived, plan.threshold)
    return f"Under {plan.standard.name}, {plan.area}: income ", fields, _tail(plan, status, band, deprived)


class Standards:
    """The poverty standards in force and the classification rule applied with them.

    Built once per process from the table the service loaded at start-up (or the one a worker
    received), then shared: its plans are read-only and its case cache only grows to a bound."""

    def __init__(self, standards: Sequence[Standard]) -> None:
        self.all: tuple[Standard, ...] = tuple(standards)
        self._by_year: dict[int, Standard] = {y: s for s in self.all for y in range(s.year_from, s.year_to + 1)}
        self._plans: dict[tuple[int, str], _Plan] = {
            (year, area): _make_plan(standard, area) for year, standard in self._by_year.items() for area in AREAS}
        self._cases: dict[tuple[int, int, frozenset[str]], _Case] = {}

    def standard_for(self, review_year: int) -> Standard:
        try:
            return self._by_year[review_year]
        except KeyError:
            raise NoStandardForYear(review_year, self.all) from None

    def indicator_codes(self, review_year: int) -> frozenset[str]:
        return frozenset(self.standard_for(review_year).indicator_codes)

    def _plan(self, review_year: int, area: str) -> _Plan:
        plan = self._plans.get((review_year, area))
        if plan is None:
            if area not in AREAS:
                raise ValueError(f"area must be 'urban' or 'rural', not {area!r}")
            raise NoStandardForYear(review_year, self.all)
        return plan

    def classify(self, review_year: int, area: str, income_per_capita: int,
                 deprived_indicators: Sequence[str]) -> Classification:
        """The explained classification; raises NoStandardForYear, UnknownIndicator or ValueError."""
        plan = self._plans.get((review_year, area)) or self._plan(review_year, area)
        if income_per_capita < 0:
            _check_income(income_per_capita)
        # A set: the same indicators in another order are the same case (a bulk import lists them in any order).
        given = deprived_indicators if isinstance(deprived_indicators, frozenset) else frozenset(deprived_indicators)
        key = (id(plan), plan.band(income_per_capita), given)
        cases = self._cases
        case = cases.get(key)
        if case is None:
            if len(cases) >= _MAX_CASES:
                cases.clear()
            case = cases[key] = _case(plan, key[1], given)
        head, fields, tail = case
        return Classification._make((*fields, f"{head}{income_per_capita:,} VND{tail}"))

    def classify_status(self, review_year: int, area: str, income_per_capita: int,
                        deprived_indicators: Iterable[str]) -> str:
        """The status alone (same rule, same errors as `classify`), for bulk work."""
        plan = self._plans.get((review_year, area)) or self._plan(review_year, area)
        given = deprived_indicators if isinstance(deprived_indicators, frozenset) else frozenset(deprived_indicators)
        if not given <= plan.allowed:
            raise _unknown(plan, given)
        if income_per_capita < 0:
            _check_income(income_per_capita)
        return _band_status(plan, plan.band(income_per_capita), len(given))

    def classify_many(self, rows: Iterable[tuple[int, str, int, Iterable[str]]]) -> list[str]:
        """Statuses of (review_year, area, income_per_capita, deprived_indicators) rows, in order.

        Raises on the first invalid row; callers that report errors row by row use `classify_status`.
        """
        plans = self._plans
        out: list[str] = []
        append = out.append
        for year, area, income, codes in rows:
            plan = plans.get((year, area)) or self._plan(year, area)
            given = codes if isinstance(codes, frozenset) else frozenset(codes)
            if not given <= plan.allowed:
                raise _unknown(plan, given)
            if income < 0:
                _check_income(income)
            n = len(given)
            if income <= plan.poverty:
                append(POOR if plan.income_alone_poor or n >= plan.threshold else NEAR_POOR)
            elif plan.near is not None and income <= plan.near:
                append(POOR if n >= plan.threshold else NEAR_POOR)
            elif plan.middle is not None and income <= plan.middle:
                append(MIDDLE_INCOME)
            else:
                append(NOT_POOR)
        return out


def _vnd(amount: int) -> str:
    return f"{amount:,} VND"


def _tail(plan: _Plan, status: str, band: int, deprived: tuple[str, ...]) -> str:
    listed = f"({', '.join(deprived)})" if deprived else "(none)"
    count = f"{len(deprived)} deprived indicator{'' if len(deprived) == 1 else 's'} {listed}"
    compare = "≥" if len(deprived) >= plan.threshold else "<"
    deprivation = f"{count} {compare} threshold {plan.threshold}"
    if band == 0:
        if plan.income_alone_poor:
            reason = f" ≤ poverty line {_vnd(plan.poverty)}, which alone makes it poor ({count})"
        else:
            reason = f" ≤ poverty line {_vnd(plan.poverty)} and {deprivation}"
    elif band == 1:
        reason = (f" > poverty line {_vnd(plan.poverty)} and ≤ near-poverty line {_vnd(plan.near or 0)}, "
                  f"with {deprivation}")
    else:
        upper = plan.near if plan.near is not None else plan.poverty
        upper_name = "near-poverty line" if plan.near is not None else "poverty line"
        if band == 2:
            reason = f" > {upper_name} {_vnd(upper)} and ≤ middle-income line {_vnd(plan.middle or 0)}; {count}"
        elif plan.middle is not None:
            reason = f" > middle-income line {_vnd(plan.middle)}; {count}"
        else:
            reason = f" > {upper_name} {_vnd(upper)} and the standard sets no middle-income line; {count}"
    return f"{reason}, so the household is {_STATUS_WORDS[status]}."
