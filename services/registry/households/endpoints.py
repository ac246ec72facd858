"""Households and members: /registry/households/..."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import Select, func, select

from services.registry.households import full_read, records, service
from services.registry.households.models import Assessment, HistoryEntry, Household, Member
from services.registry.households.schemas import (
    HistoryOut,
    HouseholdCreate,
    HouseholdOut,
    HouseholdPatch,
    HouseholdSummary,
    MemberAdd,
    MemberPatch,
    MemberWritten,
)
from services.registry.personal_data import InvalidCitizenId, PersonalDataCipher, normalize_citizen_id, request_cipher
from services.registry.units.names import search_key
from services.registry.units.repository import find_visible, find_writable
from shared import permissions
from shared.errors import Problem, forbidden, not_found
from shared.etag import check_if_match, etag_of, set_etag
from shared.http import DbSession, require
from shared.idempotency import idempotent
from shared.pagination import Page, PageParams, page_params
from shared.principal import Principal

router = APIRouter(prefix="/registry/households", tags=["households"])
Reader = Annotated[Principal, Depends(require(permissions.HOUSEHOLDS_READ))]
Writer = Annotated[Principal, Depends(require(permissions.HOUSEHOLDS_WRITE))]
Paging = Annotated[PageParams, Depends(page_params)]
IfMatch = Annotated[str | None, Header(description="the ETag you last read; required (428 without it)")]
Reason = Annotated[str, Query(min_length=3, max_length=500, description="why it is removed (kept in the history)")]
Purpose = Annotated[str | None, Query(max_length=300, description="why you read the record (access log)")]
Status = Annotated[str | None, Query(pattern="^(poor|near_poor|middle_income|not_poor)$")]


async def _cipher(request: Request) -> PersonalDataCipher:
    # async: a plain function dependency would cost a thread-pool hop on the hot GET path
    return request_cipher(request.app.state.settings)


Cipher = Annotated[PersonalDataCipher, Depends(_cipher)]


def _json(model: HouseholdOut | MemberWritten, status: int, version: int, location: str | None = None) -> JSONResponse:
    headers = {"ETag": etag_of(version)}
    if location:
        headers["Location"] = location
    return JSONResponse(model.model_dump(mode="json"), status_code=status, headers=headers)


@router.post("", status_code=201, response_model=HouseholdOut, summary="Register a household with its members",
             description="Accepts `Idempotency-Key`: a retry with the same key answers the first result.")
async def create_household(body: HouseholdCreate, request: Request, principal: Writer, session: DbSession,
                           cipher: Cipher) -> Response:
    async def run() -> Response:
        commune = await find_writable(session, principal, body.commune_code, body.hierarchy)
        if commune.level != "commune":
            raise Problem(422, "not_a_commune", "Not a commune", f"{commune.code} is a {commune.level}; "
                          "households belong to a commune.", field="commune_code")
        household, members = await service.create(session, principal, body, commune, cipher)
        out = records.full_record(household, members, cipher, records.may_read_personal_data(principal))
        return _json(out, 201, household.version, f"/registry/households/{household.id}")

    return await idempotent(request, session, principal, run)


@router.get("", response_model=Page[HouseholdSummary], summary="Households in your scope, filtered and paged")
async def list_households(
    request: Request, principal: Reader, session: DbSession, paging: Paging,
    unit: Annotated[str | None, Query(description="code of a province, district or commune")] = None,
    hierarchy: Annotated[str | None, Query(pattern="^v(2008|2025)$")] = None,
    status: Status = None,
    year: Annotated[int | None, Query(ge=2016, le=2100, description="status in this review year's assessment")] = None,
    village: str | None = None,
    name: Annotated[str | None, Query(description="part of the head's name, with or without diacritics")] = None,
    ethnic_minority: bool | None = None,
    policy_family: bool | None = None,
    social_protection: bool | None = None,
    no_labour_capacity: bool | None = None,
    include_removed: bool = False,
    citizen_id: Annotated[str | None, Query(description="needs registry.personal_data.read; logged")] = None,
    purpose: Purpose = None,
) -> Page[HouseholdSummary]:
    query: Select = select(Household)
    if year is not None:
        query = select(Household, Assessment.status, Assessment.review_year).join(
            Assessment, (Assessment.household_id == Household.id) & (Assessment.kind == "annual")
            & (Assessment.review_year == year))
        if status:
            query = query.where(Assessment.status == status)
    elif status:
        query = query.where(Household.status == status)
    if unit:
        scope_unit = await find_visible(session, principal, unit, hierarchy)
        query = query.where((Household.unit_path == scope_unit.path)
                            | Household.unit_path.startswith(scope_unit.path + ".", autoescape=True))
    if not include_removed:
        query = query.where(Household.removed_at.is_(None))
    if village:
        query = query.where(Household.village == village)
    if name and (key := search_key(name)):
        query = query.where(Household.head_name_search.contains(key, autoescape=True))
    for flag, value in (("ethnic_minority", ethnic_minority), ("policy_family", policy_family),
                        ("social_protection", social_protection), ("no_labour_capacity", no_labour_capacity)):
        if value is not None:
            query = query.where(getattr(Household, flag).is_(value))
    unmasked_lookup = False
    if citizen_id is not None:
        if not records.may_read_personal_data(principal):
            raise forbidden("Searching by citizen ID needs the permission 'registry.personal_data.read'.",
                            permission=permissions.PERSONAL_DATA_READ)
        try:
            digest = request_cipher(request.app.state.settings).hash(normalize_citizen_id(citizen_id))
        except InvalidCitizenId as exc:
            raise Problem(422, "validation_error", "Invalid request", str(exc), field="citizen_id") from exc
        query = query.where(Household.id.in_(select(Member.household_id).where(Member.citizen_id_hash == digest)))
        unmasked_lookup = True
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = (await session.execute(query.order_by(Household.unit_path, Household.household_code, Household.id)
                                  .limit(paging.limit).offset(paging.offset))).all()
    items = []
    for row in rows:
        household = row[0]
        if unmasked_lookup:
            await records.log_access(session, principal, household, True, purpose, action="lookup")
        if year is not None:
            items.append(records.summary(household, row[1], row[2], use_given_status=True))
        else:
            items.append(records.summary(household))
    return Page[HouseholdSummary](items=items, total=total, limit=paging.limit, offset=paging.offset)


@router.get("/{household_id}", response_model=HouseholdOut, summary="A household's full record (access logged)")
async def get_household(household_id: UUID, request: Request, principal: Reader,
                        purpose: Purpose = None) -> Response:
    cipher = request_cipher(request.app.state.settings)  # not a dependency: this read is the busiest one
    unmasked = records.may_read_personal_data(principal)
    found = await full_read.read_and_log(request.app.state.db, principal, household_id, unmasked, purpose)
    if found is None:
        raise not_found("household", household_id)
    household, members = found
    out = records.full_record(household, members, cipher, unmasked)  # type: ignore[arg-type]
    # Serialised by the model itself: FastAPI would validate the answer once more and encode it in Python.
    return Response(out.model_dump_json(), media_type="application/json", headers={"ETag": etag_of(household.version)})


@router.patch("/{household_id}", response_model=HouseholdOut, summary="Change a household (If-Match required)")
async def patch_household(household_id: UUID, body: HouseholdPatch, principal: Writer, session: DbSession,
                          cipher: Cipher, response: Response, if_match: IfMatch = None) -> HouseholdOut:
    household = await service.load(session, household_id, lock=True)
    check_if_match(if_match, household.version)
    await service.update(session, principal, household, body, cipher)
    set_etag(response, household.version)
    members = await service.members_of(session, household.id)
    return records.full_record(household, members, cipher, records.may_read_personal_data(principal))


@router.delete("/{household_id}", response_model=HouseholdSummary,
               summary="Remove a household with a reason (kept, marked removed; If-Match required)")
async def remove_household(household_id: UUID, reason: Reason, principal: Writer, session: DbSession,
                           response: Response, if_match: IfMatch = None) -> HouseholdSummary:
    household = await service.load(session, household_id, lock=True)
    check_if_match(if_match, household.version)
    await service.remove(session, principal, household, reason)
    set_etag(response, household.version)
    return records.summary(household)


@router.post("/{household_id}/members", status_code=201, response_model=MemberWritten,
             summary="Add a member (If-Match of the household required; Idempotency-Key accepted)")
async def add_member(household_id: UUID, body: MemberAdd, request: Request, principal: Writer, session: DbSession,
                     cipher: Cipher, if_match: IfMatch = None) -> Response:
    async def run() -> Response:
        household = await service.load(session, household_id, lock=True)
        check_if_match(if_match, household.version)
        member = await service.add_member(session, principal, household, body, cipher)
        return _json(_written(member, household, cipher, principal), 201, household.version,
                     f"/registry/households/{household.id}/members/{member.id}")

    return await idempotent(request, session, principal, run)


def _written(member: Member, household: Household, cipher: PersonalDataCipher, principal: Principal) -> MemberWritten:
    out = records.member_out(member, cipher, records.may_read_personal_data(principal))
    return MemberWritten(**out.model_dump(), household_version=household.version)


@router.patch("/{household_id}/members/{member_id}", response_model=MemberWritten,
              summary="Change a member (If-Match of the household required)")
async def patch_member(household_id: UUID, member_id: UUID, body: MemberPatch, principal: Writer, session: DbSession,
                       cipher: Cipher, response: Response, if_match: IfMatch = None) -> MemberWritten:
    household = await service.load(session, household_id, lock=True)
    check_if_match(if_match, household.version)
    member = await service.load_member(session, household, member_id)
    await service.update_member(session, principal, household, member, body, cipher)
    set_etag(response, household.version)
    return _written(member, household, cipher, principal)


@router.delete("/{household_id}/members/{member_id}", response_model=HouseholdSummary,
               summary="Remove a member with a reason (If-Match of the household required)")
async def remove_member(household_id: UUID, member_id: UUID, reason: Reason, principal: Writer, session: DbSession,
                        cipher: Cipher, response: Response, if_match: IfMatch = None) -> HouseholdSummary:
    household = await service.load(session, household_id, lock=True)
    check_if_match(if_match, household.version)
    member = await service.load_member(session, household, member_id)
    await service.remove_member(session, principal, household, member, reason, cipher)
    set_etag(response, household.version)
    return records.summary(household)


@router.get("/{household_id}/history", response_model=Page[HistoryOut],
            summary="Every change: who, when, before, after")
async def household_history(household_id: UUID, principal: Reader, session: DbSession,
                            paging: Paging) -> Page[HistoryOut]:
    household = await service.load(session, household_id, active=False)
    query = select(HistoryEntry).where(HistoryEntry.household_id == household.id)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(query.order_by(HistoryEntry.version, HistoryEntry.at)
                                 .limit(paging.limit).offset(paging.offset))
    return Page[HistoryOut](items=[HistoryOut.model_validate(r, from_attributes=True) for r in rows], total=total,
                            limit=paging.limit, offset=paging.offset)

