"""Household representations: masking personal data and logging every read of a full record.

Without `registry.personal_data.read` a caller sees citizen IDs masked (`0012******45`) and birth
years instead of birth dates. Every read of a full record (with its members) writes an access-log
row, masked or not, with the purpose the caller gives.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.households.models import AccessLogEntry, Household, Member
from services.registry.households.schemas import HouseholdOut, HouseholdSummary, MemberOut
from services.registry.personal_data import PersonalDataCipher, mask_citizen_id
from shared.context import request_id_var
from shared.events import uuid7
from shared.permissions import PERSONAL_DATA_READ
from shared.principal import Principal


def may_read_personal_data(principal: Principal) -> bool:
    return principal.has(PERSONAL_DATA_READ)


def member_out(member: Member, cipher: PersonalDataCipher, unmasked: bool) -> MemberOut:
    citizen_id = None
    if member.citizen_id_enc is not None:
        plain = cipher.decrypt(member.citizen_id_enc)
        citizen_id = plain if unmasked else mask_citizen_id(plain)
    birth = member.birth_date
    return MemberOut(
        id=member.id, full_name=member.full_name, citizen_id=citizen_id, citizen_id_masked=not unmasked,
        birth_date=birth if unmasked else None, birth_year=birth.year if birth else None, sex=member.sex,
        ethnicity=member.ethnicity, relation=member.relation, is_head=member.is_head,
        no_labour_capacity=member.no_labour_capacity, social_protection=member.social_protection,
        policy_person=member.policy_person,
    )


def _summary_fields(household: Household, status: str | None, status_year: int | None,
                    use_given_status: bool) -> dict[str, Any]:
    return {
        "id": household.id, "household_code": household.household_code, "commune_code": household.commune_code,
        "unit_path": household.unit_path, "village": household.village, "head_name": household.head_name,
        "member_count": household.member_count, "area": household.area,
        "ethnic_minority": household.ethnic_minority, "policy_family": household.policy_family,
        "social_protection": household.social_protection, "no_labour_capacity": household.no_labour_capacity,
        "status": status if use_given_status else household.status,
        "status_year": status_year if use_given_status else household.status_year,
        "version": household.version, "removed": household.removed_at is not None,
    }


def summary(household: Household, status: str | None = None, status_year: int | None = None,
            use_given_status: bool = False) -> HouseholdSummary:
    return HouseholdSummary(**_summary_fields(household, status, status_year, use_given_status))


def full_record(household: Household, members: list[Member], cipher: PersonalDataCipher,
                unmasked: bool) -> HouseholdOut:
    return HouseholdOut(
        **_summary_fields(household, None, None, False), address=household.address,
        created_at=household.created_at, updated_at=household.updated_at, removed_at=household.removed_at,
        removed_reason=household.removed_reason, members=[member_out(m, cipher, unmasked) for m in members],
    )


async def log_access(session: AsyncSession, principal: Principal, household: Household, unmasked: bool,
                     purpose: str | None, action: str = "read") -> None:
    """One row in the caller's transaction: the read is answered only if its log row commits."""
    await session.execute(insert(AccessLogEntry).values(
        id=uuid7(), household_id=household.id, unit_path=household.unit_path, principal_id=principal.id,
        principal_role=principal.role, action=action, unmasked=unmasked, purpose=purpose,
        request_id=request_id_var.get(),
    ))
