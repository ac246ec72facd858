"""The household's rules, pure: status words, transitions between statuses, defaults taken from the
commune and the head, what the change history keeps, and who sees personal data unmasked.

No database, no `async`, no clock, no environment: "today" is an argument. Tested without a database
in tests/registry/test_households_rules.py.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Protocol

from services.registry.classification.classifier import MIDDLE_INCOME, NEAR_POOR, NOT_POOR, POOR, STATUSES
from shared.permissions import PERSONAL_DATA_READ
from shared.principal import Principal

__all__ = ["MIDDLE_INCOME", "NEAR_POOR", "NOT_POOR", "POOR", "STATUSES"]  # the status words, defined once

# ---- statuses and transitions (DOMAIN.md) -----------------------------------------------------------
RECOGNISED_STATUSES = frozenset({POOR, NEAR_POOR})  # on a list: a certificate (form 03), re-assessed yearly
STATUS_PATTERN = f"^({'|'.join(STATUSES)})$"
TRANSITIONS = ("newly_poor", "re_poor", "escaped_poverty", "escaped_near_poverty", "became_near_poor", "stayed")

# An assessment is recorded by the reviewers, recognised by a decision (annual review or regular review).
RECORDED, RECOGNISED = "recorded", "recognised"
ANNUAL, REGULAR = "annual", "regular"  # assessment kinds: the annual review's, or a regular-review decision's

# ---- registering --------------------------------------------------------------------------------------
NON_MINORITY_ETHNICITY = "kinh"  # the search key of "Kinh": every other ethnicity is a minority
OLDEST_BIRTH_DATE = date(1900, 1, 1)
# Nullable columns a PATCH may clear; every other field sent as null is refused.
CLEARABLE_HOUSEHOLD_FIELDS = frozenset({"village", "address"})
CLEARABLE_MEMBER_FIELDS = frozenset({"citizen_id", "birth_date", "sex", "ethnicity"})


def transition(previous: str | None, current: str, ever_poor: bool) -> str:
    """A household's transition between its previous recognised status and the new one.

    `previous` is None for a household never recognised before; `ever_poor` says it was poor at
    some earlier review (so poor again is re-poor, not newly poor). Leaving poverty for near-poverty
    counts as escaping poverty (thoát nghèo), as the ministry counts it.
    """
    if current == previous:
        return "stayed"
    if current == POOR:
        return "re_poor" if ever_poor else "newly_poor"
    if previous == POOR:
        return "escaped_poverty"
    if previous == NEAR_POOR:
        return "escaped_near_poverty"
    if current == NEAR_POOR:
        return "became_near_poor"
    return "stayed"  # between middle-income, not poor and never assessed: not a poverty transition


def area_of(urban: bool | None) -> str:
    """A household's area is its commune's: a ward or town is urban, a commune (xã) rural."""
    return "urban" if urban else "rural"


def is_ethnic_minority(head_ethnicity_key: str) -> bool:
    """The default when the form does not say: the head's ethnicity (its search key) is not Kinh."""
    return bool(head_ethnicity_key) and head_ethnicity_key != NON_MINORITY_ETHNICITY


def birth_date_problem(value: date, today: date) -> str | None:
    """Why a birth date is implausible, or None."""
    if not OLDEST_BIRTH_DATE <= value <= today:
        return f"birth date must be between {OLDEST_BIRTH_DATE.isoformat()} and today"
    return None


def may_read_personal_data(principal: Principal) -> bool:
    """Without `registry.personal_data.read` citizen IDs are masked and birth dates shown as years."""
    return principal.has(PERSONAL_DATA_READ)


# ---- the change history ----------------------------------------------------------------------------------
# What a history entry keeps of a household and of a member; citizen IDs only masked, so the history
# never becomes a second copy of the personal data.
HOUSEHOLD_FIELDS = ("household_code", "commune_code", "village", "address", "head_name", "area", "member_count",
                    "ethnic_minority", "policy_family", "social_protection", "no_labour_capacity", "status",
                    "status_year")
MEMBER_FIELDS = ("full_name", "birth_date", "sex", "ethnicity", "relation", "is_head", "no_labour_capacity",
                 "social_protection", "policy_person")


class Masker(Protocol):
    def masked(self, blob: bytes | None) -> str | None: ...


def _plain(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def household_snapshot(household: Any) -> dict[str, Any]:
    return {f: _plain(getattr(household, f)) for f in HOUSEHOLD_FIELDS}


def member_snapshot(member: Any, cipher: Masker) -> dict[str, Any]:
    snap = {"member_id": str(member.id), **{f: _plain(getattr(member, f)) for f in MEMBER_FIELDS}}
    snap["citizen_id"] = cipher.masked(member.citizen_id_enc)
    return snap


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields that changed, on both sides."""
    keys = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def assessment_brief(assessment: Any) -> dict[str, Any]:
    """What the history keeps of an assessment."""
    return {"review_year": assessment.review_year, "income_per_capita": assessment.income_per_capita,
            "deprived_indicators": list(assessment.deprived_indicators), "status": assessment.status,
            "standard": assessment.standard}
