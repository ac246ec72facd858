"""The change history of a household: who changed what, when, before and after.

Written by the service layer in the same transaction as the change (no triggers, so bulk imports can
COPY their own rows). Citizen IDs appear only masked: the history must not become a second copy of
the personal data.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.households.models import HistoryEntry, Household, Member
from services.registry.personal_data import PersonalDataCipher
from shared.context import request_id_var
from shared.principal import Principal

HOUSEHOLD_FIELDS = ("household_code", "commune_code", "village", "address", "head_name", "area", "member_count",
                    "ethnic_minority", "policy_family", "social_protection", "no_labour_capacity", "status",
                    "status_year")
MEMBER_FIELDS = ("full_name", "birth_date", "sex", "ethnicity", "relation", "is_head", "no_labour_capacity",
                 "social_protection", "policy_person")


def _plain(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def household_snapshot(household: Household) -> dict[str, Any]:
    return {f: _plain(getattr(household, f)) for f in HOUSEHOLD_FIELDS}


def member_snapshot(member: Member, cipher: PersonalDataCipher) -> dict[str, Any]:
    snap = {"member_id": str(member.id), **{f: _plain(getattr(member, f)) for f in MEMBER_FIELDS}}
    snap["citizen_id"] = cipher.masked(member.citizen_id_enc)
    return snap


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields that changed, on both sides."""
    keys = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def record(session: AsyncSession, principal: Principal, household: Household, action: str,
           before: dict[str, Any] | None, after: dict[str, Any] | None, reason: str | None = None) -> None:
    session.add(HistoryEntry(
        household_id=household.id, unit_path=household.unit_path, version=household.version, action=action,
        actor_id=principal.id, actor_role=principal.role, reason=reason, before=before, after=after,
        correlation_id=request_id_var.get(),
    ))
