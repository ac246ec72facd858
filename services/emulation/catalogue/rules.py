"""The award catalogue by law, read from `awards.json` (data, not code): forms, the nominee kinds each
fits, which level awards it before and after 1 July 2025, the council vote, the prize as a multiple of
the base salary, and the base salary by date. Pure: every date is an argument."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Any

LEVELS = ("commune", "district", "province", "national")  # lowest first: nominations go upward
NOMINEE_KINDS = ("collective", "individual", "household")


@dataclass(frozen=True)
class Form:
    code: str
    name: str
    category: str  # emulation_title (danh hiệu thi đua) | award (hình thức khen thưởng)
    nominee_kinds: tuple[str, ...]
    council_vote: bool  # the emulation council votes before the decision
    before: tuple[str, ...]  # levels awarding it before the powers change (1/7/2025)
    after: tuple[str, ...]
    multipliers: dict[str, Decimal]


@dataclass(frozen=True)
class Catalogue:
    powers_change_on: date
    authorities: dict[str, str]
    forms: dict[str, Form]
    base_salary: tuple[tuple[date, int, str], ...]  # (from, amount, source), oldest first


def parse(data: dict[str, Any]) -> Catalogue:
    forms = {f["code"]: Form(f["code"], f["name"], f["category"], tuple(f["nominee_kinds"]), bool(f["council_vote"]),
                             tuple(f["awarded_by"]["before"]), tuple(f["awarded_by"]["after"]),
                             {k: Decimal(v) for k, v in f["multiplier"].items()}) for f in data["forms"]}
    salary = tuple(sorted((date.fromisoformat(s["from"]), int(s["amount_vnd"]), s["source"])
                          for s in data["base_salary"]))
    return Catalogue(date.fromisoformat(data["powers_change_on"]), dict(data["authorities"]), forms, salary)


@cache
def catalogue() -> Catalogue:
    return parse(json.loads((Path(__file__).parent / "awards.json").read_text(encoding="utf-8")))


def form(code: str) -> Form | None:
    return catalogue().forms.get(code)


def awarding_levels(f: Form, on: date) -> tuple[str, ...]:
    """The levels that award `f` on a date: the district's powers passed to the commune on 1/7/2025."""
    return f.after if on >= catalogue().powers_change_on else f.before


def can_award(level: str, f: Form, on: date) -> bool:
    return level in awarding_levels(f, on)


def powers(level: str, on: date) -> list[str]:
    """The forms a level awards on a date."""
    return [f.code for f in catalogue().forms.values() if can_award(level, f, on)]


def authority(level: str) -> str:
    return catalogue().authorities[level]


def base_salary(on: date) -> int | None:
    """The base salary (lương cơ sở) in force on a date; None before the first one known."""
    found = None
    for since, amount, _ in catalogue().base_salary:
        if since <= on:
            found = amount
    return found


def prize(f: Form, nominee_kind: str, on: date) -> tuple[Decimal | None, int | None, int | None]:
    """(multiplier, base salary, amount in VND rounded half up) on the decision date; None: no prize money."""
    multiplier = f.multipliers.get(nominee_kind)
    salary = base_salary(on)
    if multiplier is None or salary is None:
        return multiplier, salary, None
    return multiplier, salary, int((multiplier * salary).quantize(Decimal(1), rounding=ROUND_HALF_UP))
