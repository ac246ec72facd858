"""The household use cases: register, list, change and remove households and their members, and
record their assessments.

Every change bumps the household's version (its ETag), writes a history entry and an outbox event in
the caller's transaction. Queries are in repository.py, rules in rules.py.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry import events
from services.registry.classification.classifier import Classification, NoStandardForYear, Standards, UnknownIndicator
from services.registry.households import repository, rules
from services.registry.households.models import Assessment, Household, Member
from services.registry.households.schemas import (
    AssessmentIn,
    HouseholdCreate,
    HouseholdPatch,
    MemberAdd,
    MemberIn,
    MemberPatch,
)
from services.registry.personal_data import PersonalDataCipher
from services.registry.reviews import rules as review_rules
from services.registry.units.models import Unit
from services.registry.units.names import search_key
from services.registry.units.repository import find_writable
from shared import clock
from shared.errors import Problem, conflict
from shared.events import record_event
from shared.principal import Principal


async def ensure_citizen_ids_free(session: AsyncSession, principal: Principal, hashes: list[bytes],
                                  except_member: UUID | None = None) -> None:
    """409 when a citizen ID already belongs to a living member anywhere.

    The commune is named only to a caller whose scope holds it; anyone else learns only that the ID is
    registered in another unit (which the province can look into), never where nor whose it is. The
    household's id and people are never revealed.
    """
    if not hashes:
        return
    for member_id, commune_code, path in await repository.citizen_id_holders(session, hashes):
        if member_id == except_member:
            continue
        if principal.can_reach(path):
            raise conflict("citizen_id_registered",
                           f"This citizen ID is already registered in a household of commune {commune_code}.",
                           commune_code=commune_code, field="citizen_id")
        raise conflict("citizen_id_registered", "This citizen ID is already registered in another unit — "
                       "ask the province.", field="citizen_id")


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


async def _record_updated(session: AsyncSession, household: Household) -> None:
    """`registry.household.updated` with the household's current members (after the change)."""
    await record_event(session, events.household_updated(household, await repository.member_ids_of(session,
                                                                                                   household.id)))


def _touch(household: Household) -> None:
    household.version += 1
    household.updated_at = clock.now()


async def register(session: AsyncSession, principal: Principal, body: HouseholdCreate,
                   cipher: PersonalDataCipher) -> tuple[Household, list[Member]]:
    """A household with its members in a commune the caller may write to."""
    commune = await find_writable(session, principal, body.commune_code, body.hierarchy)
    if commune.level != "commune":
        raise Problem(422, "not_a_commune", "Not a commune", f"{commune.code} is a {commune.level}; "
                      "households belong to a commune.", field="commune_code")
    return await _create(session, principal, body, commune, cipher)


async def _create(session: AsyncSession, principal: Principal, body: HouseholdCreate, commune: Unit,
                  cipher: PersonalDataCipher) -> tuple[Household, list[Member]]:
    head = next(m for m in body.members if m.relation == "head")
    await ensure_citizen_ids_free(session, principal, [cipher.hash(m.citizen_id) for m in body.members if m.citizen_id])
    ethnic = body.ethnic_minority
    if ethnic is None:
        ethnic = rules.is_ethnic_minority(search_key(head.ethnicity or ""))
    household = Household(
        unit_path=commune.path, commune_code=commune.code, household_code=body.household_code,
        village=body.village, address=body.address, head_name=head.full_name,
        head_name_search=search_key(head.full_name), area=rules.area_of(commune.urban), member_count=len(body.members),
        ethnic_minority=ethnic, policy_family=body.policy_family, social_protection=body.social_protection,
        no_labour_capacity=body.no_labour_capacity, status=None, status_year=None, ever_poor=False, version=1,
        created_by=principal.id,
    )
    session.add(household)
    await repository.flush(session)  # the household row first: members reference it
    members = [_new_member(household, m, cipher) for m in body.members]
    session.add_all(members)
    await repository.flush(session)
    after = rules.household_snapshot(household) | {
        "members": [rules.member_snapshot(m, cipher) for m in members]}
    repository.add_history(session, principal, household, "registered", None, after)
    head_first = sorted(members, key=lambda m: not m.is_head)
    await record_event(session, events.household_registered(household, [m.id for m in head_first]))
    return household, members


async def update(session: AsyncSession, principal: Principal, household: Household, patch: HouseholdPatch,
                 cipher: PersonalDataCipher) -> bool:
    """Apply the change; False when it changes nothing (no new version, no history, no event)."""
    fields: dict[str, Any] = patch.model_dump(exclude_unset=True, exclude={"head_member_id", "former_head_relation"})
    before = rules.household_snapshot(household)
    for name, value in fields.items():
        if value is None and name not in rules.CLEARABLE_HOUSEHOLD_FIELDS:
            raise Problem(422, "validation_error", "Invalid request", f"{name} cannot be null", field=name)
        setattr(household, name, value)
    member_changes: list[tuple[dict[str, Any], dict[str, Any]]] = []
    if patch.head_member_id is not None:
        member_changes = await _change_head(session, household, patch.head_member_id, patch.former_head_relation,
                                            cipher)
    old, new = rules.changes(before, rules.household_snapshot(household))
    if not old and not member_changes:
        return False
    if member_changes:
        old["members"], new["members"] = [c[0] for c in member_changes], [c[1] for c in member_changes]
    _touch(household)
    await repository.flush(session)
    repository.add_history(session, principal, household, "updated", old, new)
    await _record_updated(session, household)
    return True


async def _change_head(session: AsyncSession, household: Household, member_id: UUID, former_relation: str,
                       cipher: PersonalDataCipher) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    members = await repository.members_of(session, household.id)
    new_head = next((m for m in members if m.id == member_id), None)
    if new_head is None:
        raise Problem(422, "unknown_member", "Unknown member", "head_member_id is not a member of this household.",
                      field="head_member_id")
    if new_head.is_head:
        return []
    old_head = next(m for m in members if m.is_head)
    snaps = [rules.member_snapshot(old_head, cipher), rules.member_snapshot(new_head, cipher)]
    old_head.is_head, old_head.relation = False, former_relation
    await repository.flush(session)  # the partial unique index allows one head at a time
    new_head.is_head, new_head.relation = True, "head"
    household.head_name, household.head_name_search = new_head.full_name, search_key(new_head.full_name)
    return list(zip(snaps, [rules.member_snapshot(old_head, cipher), rules.member_snapshot(new_head, cipher)],
                    strict=True))


async def remove(session: AsyncSession, principal: Principal, household: Household, reason: str) -> None:
    """Soft delete: the household and its members stay, marked removed with the reason."""
    now = clock.now()
    household.removed_at, household.removed_reason, household.removed_by = now, reason, principal.id
    for member in await repository.members_of(session, household.id):
        member.removed_at, member.removed_reason = now, "household removed"
    _touch(household)
    await repository.flush(session)
    repository.add_history(session, principal, household, "removed", {"removed": False},
                           {"removed": True, "removed_at": now.isoformat()}, reason=reason)
    await record_event(session, events.household_removed(household, reason))


async def add_member(session: AsyncSession, principal: Principal, household: Household, data: MemberAdd,
                     cipher: PersonalDataCipher) -> Member:
    if data.citizen_id:
        await ensure_citizen_ids_free(session, principal, [cipher.hash(data.citizen_id)])
    member = _new_member(household, data, cipher)
    session.add(member)
    household.member_count += 1
    _touch(household)
    await repository.flush(session)
    repository.add_history(session, principal, household, "member_added", None,
                           {"members": [rules.member_snapshot(member, cipher)], "member_count": household.member_count})
    await _record_updated(session, household)
    return member


async def update_member(session: AsyncSession, principal: Principal, household: Household, member: Member,
                        patch: MemberPatch, cipher: PersonalDataCipher) -> bool:
    """Apply the change; False when it changes nothing."""
    fields: dict[str, Any] = patch.model_dump(exclude_unset=True)
    before = rules.member_snapshot(member, cipher)
    if "citizen_id" in fields:
        cid = fields.pop("citizen_id")
        if cid is None:
            member.citizen_id_enc = member.citizen_id_hash = None
        elif member.citizen_id_enc is None or cipher.decrypt(member.citizen_id_enc) != cid:
            await ensure_citizen_ids_free(session, principal, [cipher.hash(cid)], except_member=member.id)
            member.citizen_id_enc, member.citizen_id_hash = cipher.protect(cid)
    for name, value in fields.items():
        if value is None and name not in rules.CLEARABLE_MEMBER_FIELDS:
            raise Problem(422, "validation_error", "Invalid request", f"{name} cannot be null", field=name)
        setattr(member, name, value)
    if "full_name" in fields:
        member.name_search = search_key(member.full_name)
        if member.is_head:
            household.head_name, household.head_name_search = member.full_name, member.name_search
    old, new = rules.changes(before, rules.member_snapshot(member, cipher))
    if not old:
        return False
    member.updated_at = clock.now()
    _touch(household)
    await repository.flush(session)
    repository.add_history(session, principal, household, "member_updated",
                           {"members": [{"member_id": str(member.id), **old}]},
                           {"members": [{"member_id": str(member.id), **new}]})
    await _record_updated(session, household)
    return True


async def remove_member(session: AsyncSession, principal: Principal, household: Household, member: Member,
                        reason: str, cipher: PersonalDataCipher) -> None:
    if member.is_head:
        raise conflict("one_head", "The head cannot be removed; make another member the head first.")
    before = rules.member_snapshot(member, cipher)
    member.removed_at, member.removed_reason = clock.now(), reason
    household.member_count -= 1
    _touch(household)
    await repository.flush(session)
    repository.add_history(session, principal, household, "member_removed", {"members": [before]},
                           {"member_count": household.member_count}, reason=reason)
    await _record_updated(session, household)


# ---- answers holding personal data: each one logged like a read -------------------------------------------
async def log_answer(session: AsyncSession, principal: Principal, household: Household, changed: bool) -> None:
    """A change answers the record with its personal data: logged as `update`, or as a `read` when the
    change changed nothing (so an empty or same-value PATCH is never an unlogged full read)."""
    await repository.log_access(session, principal, household, rules.may_read_personal_data(principal), None,
                                action="update" if changed else "read")


async def log_replay(session: AsyncSession, principal: Principal, household_id: UUID, stored_unmasked: bool) -> bool:
    """An Idempotency-Key replay answers a stored record: logged like any read, and unmasked only if the
    caller still may read personal data (True). 404 when the household has left the caller's scope."""
    household = await repository.load(session, household_id, active=False)
    unmasked = stored_unmasked and rules.may_read_personal_data(principal)
    await repository.log_access(session, principal, household, unmasked, None, action="replay")
    return unmasked


# ---- listing ---------------------------------------------------------------------------------------------------
async def log_lookups(session: AsyncSession, principal: Principal, households: list[Household],
                      purpose: str | None) -> None:
    """A search by citizen ID reads personal data: one access-log row per household it found."""
    for household in households:
        await repository.log_access(session, principal, household, True, purpose, action="lookup")


# ---- assessments -------------------------------------------------------------------------------------------------
def classify_or_problem(standards: Standards, review_year: int, area: str, income: int,
                        indicators: list[str]) -> Classification:
    """The classifier's verdict, or a 422 naming the field that is wrong."""
    try:
        return standards.classify(review_year, area, income, indicators)
    except NoStandardForYear as exc:
        raise Problem(422, "no_standard_for_year", "No poverty standard for this year", str(exc),
                      field="review_year") from exc
    except UnknownIndicator as exc:
        raise Problem(422, "unknown_indicator", "Unknown deprivation indicator", str(exc),
                      field="deprived_indicators", codes=exc.codes, allowed=exc.allowed) from exc
    except ValueError as exc:
        raise Problem(422, "validation_error", "Invalid request", str(exc)) from exc


def apply_classification(assessment: Assessment, result: Classification, income: int) -> None:
    assessment.area = result.area
    assessment.income_per_capita = income
    assessment.deprived_indicators = list(result.deprived_indicators)
    assessment.deprived_count = result.deprived_count
    assessment.standard = result.standard
    assessment.status = result.status
    assessment.poverty_line = result.poverty_line
    assessment.near_poverty_line = result.near_poverty_line
    assessment.middle_income_line = result.middle_income_line
    assessment.explanation = result.explanation


async def record_assessment(session: AsyncSession, principal: Principal, household_id: UUID,
                            body: AssessmentIn, standards: Standards) -> tuple[Assessment, bool]:
    """Record (or re-record) the household's annual assessment of `body.review_year`; True when new.

    An assessment is `recorded` when the reviewers score the household; it is recognised (and the
    household's status changes) only by the commune's annual review's approval or a regular-review
    decision. Once the year's review has passed the assessment step, its annual assessments are frozen.
    """
    household = await repository.load(session, household_id, lock=True)
    result = classify_or_problem(standards, body.review_year, household.area, body.income_per_capita,
                                 body.deprived_indicators)
    review = await repository.review_of(session, household.unit_path, body.review_year)
    review_rules.may_record_assessments(review.state if review else None, body.review_year,
                                        str(review.id) if review else None)
    assessment = await repository.annual_assessment(session, household.id, body.review_year)
    created = assessment is None
    before = None
    if assessment is None:
        assessment = Assessment(household_id=household.id, unit_path=household.unit_path,
                                review_year=body.review_year, kind=rules.ANNUAL, state=rules.RECORDED, source="api",
                                created_by=principal.id)
        session.add(assessment)
    else:
        if assessment.state == rules.RECOGNISED:
            raise conflict("assessment_recognised", "This assessment is already recognised by a decision.")
        before = rules.assessment_brief(assessment)
        assessment.updated_at = clock.now()
    apply_classification(assessment, result, body.income_per_capita)
    assessment.member_count = household.member_count
    await repository.flush(session)
    repository.add_history(session, principal, household, "assessed", before, rules.assessment_brief(assessment))
    return assessment, created
