"""Registering, changing and removing households and their members.

Every change bumps the household's version (its ETag), writes a history entry and an outbox event in
the caller's transaction. Queries go through the scope filter of the principal's session; the one
deliberate exception is the citizen-ID duplicate check, which must see every commune.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry import events
from services.registry.households import history
from services.registry.households.models import Household, Member
from services.registry.households.schemas import HouseholdCreate, HouseholdPatch, MemberAdd, MemberIn, MemberPatch
from services.registry.personal_data import PersonalDataCipher
from services.registry.units.models import Unit
from services.registry.units.names import search_key
from shared.db import load_by_id
from shared.errors import Problem, conflict, not_found
from shared.events import record_event
from shared.principal import Principal

NON_MINORITY_ETHNICITY = "kinh"


def area_of(unit: Unit) -> str:
    return "urban" if unit.urban else "rural"


def _now() -> datetime:
    return datetime.now(UTC)


async def flush(session: AsyncSession) -> None:
    """Flush now so a unique index answers 409 here, not as a 500 at commit."""
    try:
        await session.flush()
    except IntegrityError as exc:
        message = str(exc.orig)
        if "ux_households_commune_code" in message:
            raise conflict("household_code_taken", "Another household of this commune has this code.") from exc
        if "ux_household_members_citizen" in message:
            raise conflict("citizen_id_registered", "This citizen ID belongs to a member of another household.") \
                from exc
        if "ux_household_members_head" in message:
            raise conflict("one_head", "A household has exactly one head.") from exc
        raise


async def load(session: AsyncSession, household_id: UUID, *, lock: bool = False, active: bool = True) -> Household:
    """The household if it lies in the caller's scope (404 otherwise: a foreign row is not revealed)."""
    household = await load_by_id(session, Household, household_id, "household", lock=lock)
    if active and household.removed_at is not None:
        raise Problem(409, "household_removed", "Household removed",
                      f"The household was removed ({household.removed_reason}); it can no longer change.")
    return household


async def members_of(session: AsyncSession, household_id: UUID) -> list[Member]:
    query = (select(Member).where(Member.household_id == household_id, Member.removed_at.is_(None))
             .order_by(Member.is_head.desc(), Member.created_at, Member.id))
    return list((await session.scalars(query)).all())


async def ensure_citizen_ids_free(session: AsyncSession, hashes: list[bytes],
                                  except_member: UUID | None = None) -> None:
    """409 naming the commune when a citizen ID already belongs to a living member anywhere.

    Unscoped on purpose: a duplicate in another province is still a duplicate. Only the other
    household's commune code is revealed, never its id or people.
    """
    if not hashes:
        return
    query = (select(Member.id, Household.commune_code, Household.unit_path)
             .join(Household, Household.id == Member.household_id)
             .where(Member.citizen_id_hash.in_(hashes), Member.removed_at.is_(None))
             .execution_options(skip_scope=True))
    for member_id, commune_code, _path in (await session.execute(query)).all():
        if member_id != except_member:
            raise conflict("citizen_id_registered",
                           f"This citizen ID is already registered in a household of commune {commune_code}.",
                           commune_code=commune_code, field="citizen_id")


def _new_member(household: Household, data: MemberIn, cipher: PersonalDataCipher) -> Member:
    enc = digest = None
    if data.citizen_id:
        enc, digest = cipher.protect(data.citizen_id)
    return Member(
        household_id=household.id, unit_path=household.unit_path, full_name=data.full_name,
        name_search=search_key(data.full_name), citizen_id_enc=enc, citizen_id_hash=digest,
        birth_date=data.birth_date, sex=data.sex, ethnicity=data.ethnicity, relation=data.relation,
        is_head=data.relation == "head", no_labour_capacity=data.no_labour_capacity,
        social_protection=data.social_protection, policy_person=data.policy_person,
    )


def _touch(household: Household) -> None:
    household.version += 1
    household.updated_at = _now()


async def create(session: AsyncSession, principal: Principal, body: HouseholdCreate, commune: Unit,
                 cipher: PersonalDataCipher) -> tuple[Household, list[Member]]:
    head = next(m for m in body.members if m.relation == "head")
    await ensure_citizen_ids_free(session, [cipher.hash(m.citizen_id) for m in body.members if m.citizen_id])
    ethnic = body.ethnic_minority
    if ethnic is None:
        ethnic = bool(head.ethnicity) and search_key(head.ethnicity or "") != NON_MINORITY_ETHNICITY
    household = Household(
        unit_path=commune.path, commune_code=commune.code, household_code=body.household_code,
        village=body.village, address=body.address, head_name=head.full_name,
        head_name_search=search_key(head.full_name), area=area_of(commune), member_count=len(body.members),
        ethnic_minority=ethnic, policy_family=body.policy_family, social_protection=body.social_protection,
        no_labour_capacity=body.no_labour_capacity, status=None, status_year=None, ever_poor=False, version=1,
        created_by=principal.id,
    )
    session.add(household)
    await flush(session)  # the household row first: members reference it
    members = [_new_member(household, m, cipher) for m in body.members]
    session.add_all(members)
    await flush(session)
    after = history.household_snapshot(household) | {
        "members": [history.member_snapshot(m, cipher) for m in members]}
    history.record(session, principal, household, "registered", None, after)
    await record_event(session, events.household_registered(household))
    return household, members


async def update(session: AsyncSession, principal: Principal, household: Household, patch: HouseholdPatch,
                 cipher: PersonalDataCipher) -> None:
    fields: dict[str, Any] = patch.model_dump(exclude_unset=True, exclude={"head_member_id", "former_head_relation"})
    before = history.household_snapshot(household)
    for name, value in fields.items():
        if value is None and name != "village" and name != "address":
            raise Problem(422, "validation_error", "Invalid request", f"{name} cannot be null", field=name)
        setattr(household, name, value)
    member_changes: list[tuple[dict[str, Any], dict[str, Any]]] = []
    if patch.head_member_id is not None:
        member_changes = await _change_head(session, household, patch.head_member_id, patch.former_head_relation,
                                            cipher)
    old, new = history.changes(before, history.household_snapshot(household))
    if not old and not member_changes:
        return  # nothing changed: no new version, no event
    if member_changes:
        old["members"], new["members"] = [c[0] for c in member_changes], [c[1] for c in member_changes]
    _touch(household)
    await flush(session)
    history.record(session, principal, household, "updated", old, new)
    await record_event(session, events.household_updated(household))


async def _change_head(session: AsyncSession, household: Household, member_id: UUID, former_relation: str,
                       cipher: PersonalDataCipher) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    members = await members_of(session, household.id)
    new_head = next((m for m in members if m.id == member_id), None)
    if new_head is None:
        raise Problem(422, "unknown_member", "Unknown member", "head_member_id is not a member of this household.",
                      field="head_member_id")
    if new_head.is_head:
        return []
    old_head = next(m for m in members if m.is_head)
    snaps = [history.member_snapshot(old_head, cipher), history.member_snapshot(new_head, cipher)]
    old_head.is_head, old_head.relation = False, former_relation
    await flush(session)  # the partial unique index allows one head at a time
    new_head.is_head, new_head.relation = True, "head"
    household.head_name, household.head_name_search = new_head.full_name, search_key(new_head.full_name)
    return list(zip(snaps, [history.member_snapshot(old_head, cipher), history.member_snapshot(new_head, cipher)],
                    strict=True))


async def remove(session: AsyncSession, principal: Principal, household: Household, reason: str) -> None:
    """Soft delete: the household and its members stay, marked removed with the reason."""
    now = _now()
    household.removed_at, household.removed_reason, household.removed_by = now, reason, principal.id
    for member in await members_of(session, household.id):
        member.removed_at, member.removed_reason = now, "household removed"
    _touch(household)
    await flush(session)
    history.record(session, principal, household, "removed", {"removed": False},
                   {"removed": True, "removed_at": now.isoformat()}, reason=reason)
    await record_event(session, events.household_removed(household, reason))


async def add_member(session: AsyncSession, principal: Principal, household: Household, data: MemberAdd,
                     cipher: PersonalDataCipher) -> Member:
    if data.citizen_id:
        await ensure_citizen_ids_free(session, [cipher.hash(data.citizen_id)])
    member = _new_member(household, data, cipher)
    session.add(member)
    household.member_count += 1
    _touch(household)
    await flush(session)
    history.record(session, principal, household, "member_added", None,
                   {"members": [history.member_snapshot(member, cipher)], "member_count": household.member_count})
    await record_event(session, events.household_updated(household))
    return member


async def load_member(session: AsyncSession, household: Household, member_id: UUID) -> Member:
    member = await session.scalar(select(Member).where(
        Member.id == member_id, Member.household_id == household.id, Member.removed_at.is_(None)))
    if member is None:
        raise not_found("member", member_id)
    return member


async def update_member(session: AsyncSession, principal: Principal, household: Household, member: Member,
                        patch: MemberPatch, cipher: PersonalDataCipher) -> None:
    fields: dict[str, Any] = patch.model_dump(exclude_unset=True)
    before = history.member_snapshot(member, cipher)
    if "citizen_id" in fields:
        cid = fields.pop("citizen_id")
        if cid is None:
            member.citizen_id_enc = member.citizen_id_hash = None
        elif member.citizen_id_enc is None or cipher.decrypt(member.citizen_id_enc) != cid:
            await ensure_citizen_ids_free(session, [cipher.hash(cid)], except_member=member.id)
            member.citizen_id_enc, member.citizen_id_hash = cipher.protect(cid)
    for name, value in fields.items():
        if value is None and name in ("full_name", "relation", "no_labour_capacity", "social_protection",
                                      "policy_person"):
            raise Problem(422, "validation_error", "Invalid request", f"{name} cannot be null", field=name)
        setattr(member, name, value)
    if "full_name" in fields:
        member.name_search = search_key(member.full_name)
        if member.is_head:
            household.head_name, household.head_name_search = member.full_name, member.name_search
    old, new = history.changes(before, history.member_snapshot(member, cipher))
    if not old:
        return
    member.updated_at = _now()
    _touch(household)
    await flush(session)
    history.record(session, principal, household, "member_updated", {"members": [{"member_id": str(member.id), **old}]},
                   {"members": [{"member_id": str(member.id), **new}]})
    await record_event(session, events.household_updated(household))


async def remove_member(session: AsyncSession, principal: Principal, household: Household, member: Member,
                        reason: str, cipher: PersonalDataCipher) -> None:
    if member.is_head:
        raise conflict("one_head", "The head cannot be removed; make another member the head first.")
    before = history.member_snapshot(member, cipher)
    member.removed_at, member.removed_reason = _now(), reason
    household.member_count -= 1
    _touch(household)
    await flush(session)
    history.record(session, principal, household, "member_removed", {"members": [before]},
                   {"member_count": household.member_count}, reason=reason)
    await record_event(session, events.household_updated(household))
