"""Pure rules of the catalogue: what a programme allows (statuses, measures, period) and its dated
standard amounts. No I/O: the caller passes the programme's fields and the day in question."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from shared.scope import level_of, path_in_any, path_within

CATALOGUES = ("programme", "funding_source", "body", "measure", "activity_kind")
CATEGORIES = ("credit", "health_insurance", "education", "electricity", "housing", "sanitation", "water",
              "rice_food", "gifts", "production", "training_jobs", "information", "other")
# Who a programme serves: registry statuses, "escaped" (escaped poverty or near-poverty within the
# programme's `escaped_within_years` review years), or "all".
ELIGIBLE = ("poor", "near_poor", "middle_income", "escaped", "all")
ESCAPE_TRANSITIONS = ("escaped_poverty", "escaped_near_poverty")
LEVELS = ("central", "province", "district", "commune")
# Money travels as `amount_vnd` (split by funding source), never as a quantity: a delivery's or a
# sponsorship's quantity in these measures is refused, and a programme cannot list them. Activities
# count money as a named measure (seed 003: "income 250.4 million"), in whole VND.
MONEY_MEASURES = frozenset({"vnd", "vnd_given"})
# What each catalogue's entry is called in a refusal.
ENTRY_WORDS = {"programme": "programme", "funding_source": "funding source", "body": "delivering body",
               "measure": "measure", "activity_kind": "activity kind"}
VNN_FUND = "vnn_fund"  # the funding-source kind of the "Vì người nghèo" funds
SOURCE_KINDS = ("state_budget", VNN_FUND, "organisation_fund", "enterprise", "community", "policy_bank", "other")
BODY_KINDS = ("front", "mass_organisation", "government", "enterprise", "policy_bank", "other")


@dataclass(frozen=True)
class Programme:
    code: str
    name: str
    category: str
    measures: tuple[str, ...]
    eligible: tuple[str, ...]
    escaped_within_years: int | None
    active_from: date
    active_to: date | None
    standards: tuple[dict[str, Any], ...]
    active: bool = True

    @classmethod
    def of(cls, code: str, name: str, fields: dict[str, Any], active: bool = True) -> Programme:
        return cls(code=code, name=name, category=fields["category"], measures=tuple(fields.get("measures") or ()),
                   eligible=tuple(fields.get("eligible") or ()),
                   escaped_within_years=fields.get("escaped_within_years"),
                   active_from=date.fromisoformat(fields["active_from"]),
                   active_to=date.fromisoformat(fields["active_to"]) if fields.get("active_to") else None,
                   standards=tuple(fields.get("standards") or ()), active=active)

    def runs_on(self, day: date) -> bool:
        return self.active_from <= day and (self.active_to is None or day <= self.active_to)


def standard_on(programme: Programme, key: str, day: date) -> int | None:
    """The value of a dated standard (e.g. `per_house`) in force on `day`, or None."""
    for item in programme.standards:
        starts = date.fromisoformat(item["valid_from"])
        ends = date.fromisoformat(item["valid_to"]) if item.get("valid_to") else None
        if item["key"] == key and starts <= day and (ends is None or day <= ends):
            return int(item["value"])
    return None


@dataclass(frozen=True)
class Transition:
    review_year: int
    status: str
    transition: str | None


def eligibility_refusal(programme: Programme, status: str | None, transitions: list[Transition],
                        day: date) -> str | None:
    """Why a household of this status (and these recognised transitions) cannot receive this
    programme on `day`, or None when it can."""
    allowed = programme.eligible
    if "all" in allowed or (status is not None and status in allowed):
        return None
    if "escaped" in allowed:
        years = programme.escaped_within_years or 0
        if any(t.transition in ESCAPE_TRANSITIONS and day.year - years <= t.review_year <= day.year
               for t in transitions):
            return None
    wanted = ", ".join(allowed)
    if "escaped" in allowed:
        wanted = wanted.replace("escaped", f"escaped within {programme.escaped_within_years or 0} years")
    return (f"programme {programme.code} serves households that are {wanted}; this household's recognised "
            f"status is {status or 'none (never recognised)'}")


def owner_of_new_entry(scope_paths: list[str]) -> str | None:
    """Who owns an entry a caller adds: None (national) for a caller of the national level, else the
    caller's highest unit (a province officer's province)."""
    if not scope_paths or any(level_of(p) == "national" for p in scope_paths):
        return None
    return min(scope_paths, key=lambda p: (p.count("."), p))


def may_change(owner_path: str | None, scope_paths: list[str]) -> bool:
    """National entries (owner None) are changed by the national level only; an entry a unit owns by
    that unit's officers and those above it."""
    if owner_path is None:
        return any(level_of(p) == "national" for p in scope_paths)
    return path_in_any(owner_path, scope_paths)


def owner_level_refusal(owner_path: str | None, owner_level: str) -> str | None:
    """A programme's `owner_level` cannot be above the unit that owns the entry (a province's own
    programme is not a central one)."""
    owner = "central" if owner_path is None else level_of(owner_path)
    if LEVELS.index(owner_level) < LEVELS.index(owner):
        return f"an entry owned by a {owner} unit cannot have owner_level {owner_level}"
    return None


def use_refusal(catalogue: str, code: str, owner_path: str | None, unit_path: str) -> str | None:
    """Why an entry cannot be named by a record of `unit_path`, or None: a national entry (owner None)
    is used everywhere; a unit's own entry only within that unit's subtree."""
    if owner_path is None or path_within(unit_path, owner_path):
        return None
    return (f"{ENTRY_WORDS[catalogue]} {code} belongs to unit {owner_path} and is used only in that unit and "
            f"the units below it, not in {unit_path}")


def visible_to(owner_path: str | None, scope_paths: list[str]) -> bool:
    """Who reads an entry: a national entry every reader; a unit's own entry the callers whose scope is
    in that unit (they may use it) or above it (they oversee it)."""
    if owner_path is None:
        return True
    return any(path_within(s, owner_path) or path_within(owner_path, s) for s in scope_paths)


def usable_everywhere_in(owner_path: str | None, scope_paths: list[str]) -> bool:
    """True when every unit of the caller's scope may use the entry (an import reads its catalogue once,
    for the caller's whole scope, never per row)."""
    return owner_path is None or bool(scope_paths) and all(path_within(s, owner_path) for s in scope_paths)


def vnn_fund_levels(funding: Iterable[Mapping[str, Any]],
                    source_fields: Callable[[str], Mapping[str, Any] | None]) -> dict[str, str]:
    """The funding parts' sources that are "Vì người nghèo" funds (kind `vnn_fund`), each with its fund
    level; `source_fields(code)`: the funding source's catalogue fields (None: unknown)."""
    levels: dict[str, str] = {}
    for part in funding:
        fields = source_fields(part["source"])
        if fields is not None and fields.get("kind") == VNN_FUND:
            levels[part["source"]] = str(fields.get("level"))
    return levels
