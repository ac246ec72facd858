"""Households, members, assessments and the personal-data access log: /registry/households/...,
/registry/audit/access-log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AfterValidator

from services.registry.classification.service import CurrentStandards
from services.registry.households import repository, rules, schemas, service
from services.registry.households.models import Household
from services.registry.households.schemas import (
    AccessLogOut,
    AssessmentIn,
    AssessmentOut,
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
from services.registry.units.repository import find_visible
from shared import permissions
from shared.errors import Problem, forbidden, not_found
from shared.etag import check_if_match, etag_of, set_etag, versioned_json
from shared.http import DbSession, require
from shared.idempotency import REPLAYED_HEADER, IdempotencyKey, idempotent
from shared.openapi import problems
from shared.pagination import Page, PageParams, page_params, paginate
from shared.principal import Principal
from shared.text import TEXT

households = APIRouter(prefix="/registry/households", tags=["households"])
assessments = APIRouter(prefix="/registry/households", tags=["assessments"])
audit = APIRouter(prefix="/registry/audit", tags=["audit"])

Reader = Annotated[Principal, Depends(require(permissions.HOUSEHOLDS_READ))]
Writer = Annotated[Principal, Depends(require(permissions.HOUSEHOLDS_WRITE))]
Assessor = Annotated[Principal, Depends(require(permissions.ASSESSMENTS_WRITE))]
Auditor = Annotated[Principal, Depends(require(permissions.AUDIT_READ))]
Paging = Annotated[PageParams, Depends(page_params)]
IfMatch = Annotated[str | None, Header(description="the ETag you last read; required (428 without it)")]
# Words kept in the history and the access log: checked like any personal text (shared.text).
Reason = Annotated[str, Query(min_length=3, max_length=500, description="why it is removed (kept in the history)"),
                   TEXT]
Purpose = Annotated[str | None, Query(max_length=300, description="why you read the record (access log)"),
                    AfterValidator(lambda v: v if v is None else TEXT.func(v))]
Status = Annotated[str | None, Query(pattern=rules.STATUS_PATTERN)]


async def _cipher(request: Request) -> PersonalDataCipher:
    # async: a plain function dependency would cost a thread-pool hop on the hot GET path
    return request_cipher(request.app.state.settings)


Cipher = Annotated[PersonalDataCipher, Depends(_cipher)]


async def _replayed(session: DbSession, principal: Principal, response: Response, household_id: UUID | None,
                    many: bool) -> Response:
    """An Idempotency-Key replay of a record holding personal data: logged, and masked per the caller's
    permission now, like any read. Other answers pass through."""
    if response.headers.get(REPLAYED_HEADER) != "true" or response.status_code >= 300:
        return response
    body = orjson.loads(bytes(response.body))
    members = body["members"] if many else [body]
    stored_unmasked = any(m.get("citizen_id_masked") is False for m in members)
    if not await service.log_replay(session, principal, household_id or UUID(body["id"]), stored_unmasked) \
            and stored_unmasked:
        schemas.mask_stored(members)
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return Response(orjson.dumps(body), status_code=response.status_code, headers=headers)


async def _locked(session: DbSession, household_id: UUID, if_match: str | None) -> Household:
    """The household, locked for a change, at the version the caller read (428 without If-Match, 412
    when stale, 404 outside the scope, 409 when removed)."""
    household = await repository.load(session, household_id, lock=True)
    check_if_match(if_match, household.version)
    return household


def _json(model: HouseholdOut | MemberWritten, status: int, version: int, location: str | None = None) -> JSONResponse:
    return versioned_json(model, version, status, location)


# ---- households --------------------------------------------------------------------------------------------
@households.post("", responses=problems(400, 404, 409),
                 status_code=201, response_model=HouseholdOut, summary="Register a household with its members",
                 description="Accepts `Idempotency-Key`: a retry with the same key answers the first result.")
async def create_household(body: HouseholdCreate, request: Request, principal: Writer, session: DbSession,
                           cipher: Cipher, idempotency_key: IdempotencyKey = None) -> Response:
    async def run() -> Response:
        household, members = await service.register(session, principal, body, cipher)
        out = schemas.full_record(household, members, cipher, rules.may_read_personal_data(principal))
        return _json(out, 201, household.version, f"/registry/households/{household.id}")

    return await _replayed(session, principal, await idempotent(request, session, principal, run), None, many=True)


@households.get("", responses=problems(404),
                response_model=Page[HouseholdSummary], summary="Households in your scope, filtered and paged")
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
    unit_path = (await find_visible(session, principal, unit, hierarchy)).path if unit else None
    digest = None
    if citizen_id is not None:
        if not rules.may_read_personal_data(principal):
            raise forbidden("Searching by citizen ID needs the permission 'registry.personal_data.read'.",
                            permission=permissions.PERSONAL_DATA_READ)
        try:
            digest = request_cipher(request.app.state.settings).hash(normalize_citizen_id(citizen_id))
        except InvalidCitizenId as exc:
            raise Problem(422, "validation_error", "Invalid request", str(exc), field="citizen_id") from exc
    query = repository.households_query(
        year=year, status=status, unit_path=unit_path, include_removed=include_removed, village=village,
        name_key=search_key(name) if name else None, citizen_id_hash=digest,
        flags={"ethnic_minority": ethnic_minority, "policy_family": policy_family,
               "social_protection": social_protection, "no_labour_capacity": no_labour_capacity})
    shown: list[Household] = []

    def item(row: Any) -> HouseholdSummary:
        if year is None:
            shown.append(row)
            return schemas.summary(row)
        shown.append(row[0])
        return schemas.summary(row[0], row[1], row[2], use_given_status=True)

    page = await paginate(session, query, paging, item)
    if digest is not None:
        await service.log_lookups(session, principal, shown, purpose)
    return page


@households.get("/{household_id}", responses=problems(404),
                response_model=HouseholdOut, summary="A household's full record (access logged)")
async def get_household(household_id: UUID, request: Request, principal: Reader,
                        purpose: Purpose = None) -> Response:
    cipher = request_cipher(request.app.state.settings)  # not a dependency: this read is the busiest one
    unmasked = rules.may_read_personal_data(principal)
    found = await repository.read_and_log(request.app.state.db, principal, household_id, unmasked, purpose)
    if found is None:
        raise not_found("household", household_id)
    household, members = found
    out = schemas.full_record(household, members, cipher, unmasked)
    # Serialised by the model itself: FastAPI would validate the answer once more and encode it in Python.
    return Response(out.model_dump_json(), media_type="application/json", headers={"ETag": etag_of(household.version)})


@households.patch("/{household_id}", responses=problems(404, 409, 412, 428),
                  response_model=HouseholdOut, summary="Change a household (If-Match required)")
async def patch_household(household_id: UUID, body: HouseholdPatch, principal: Writer, session: DbSession,
                          cipher: Cipher, response: Response, if_match: IfMatch = None) -> HouseholdOut:
    household = await _locked(session, household_id, if_match)
    changed = await service.update(session, principal, household, body, cipher)
    await service.log_answer(session, principal, household, changed)
    set_etag(response, household.version)
    members = await repository.members_of(session, household.id)
    return schemas.full_record(household, members, cipher, rules.may_read_personal_data(principal))


@households.delete("/{household_id}", responses=problems(404, 409, 412, 428), response_model=HouseholdSummary,
                   summary="Remove a household with a reason (kept, marked removed; If-Match required)")
async def remove_household(household_id: UUID, reason: Reason, principal: Writer, session: DbSession,
                           response: Response, if_match: IfMatch = None) -> HouseholdSummary:
    household = await _locked(session, household_id, if_match)
    await service.remove(session, principal, household, reason)
    set_etag(response, household.version)
    return schemas.summary(household)


@households.get("/{household_id}/history", responses=problems(404), response_model=Page[HistoryOut],
                summary="Every change: who, when, before, after")
async def household_history(household_id: UUID, principal: Reader, session: DbSession,
                            paging: Paging) -> Page[HistoryOut]:
    household = await repository.load(session, household_id, active=False)
    return await paginate(session, repository.history_query(household.id), paging,
                          lambda r: HistoryOut.model_validate(r, from_attributes=True))


# ---- members ------------------------------------------------------------------------------------------------
@households.post("/{household_id}/members", responses=problems(400, 404, 409, 412, 428),
                 status_code=201, response_model=MemberWritten,
                 summary="Add a member (If-Match of the household required; Idempotency-Key accepted)")
async def add_member(household_id: UUID, body: MemberAdd, request: Request, principal: Writer, session: DbSession,
                     cipher: Cipher, if_match: IfMatch = None, idempotency_key: IdempotencyKey = None) -> Response:
    async def run() -> Response:
        household = await _locked(session, household_id, if_match)
        member = await service.add_member(session, principal, household, body, cipher)
        out = schemas.member_written(member, household.version, cipher, rules.may_read_personal_data(principal))
        return _json(out, 201, household.version, f"/registry/households/{household.id}/members/{member.id}")

    return await _replayed(session, principal, await idempotent(request, session, principal, run), household_id,
                           many=False)


@households.patch("/{household_id}/members/{member_id}", responses=problems(404, 409, 412, 428),
                  response_model=MemberWritten,
                  summary="Change a member (If-Match of the household required)")
async def patch_member(household_id: UUID, member_id: UUID, body: MemberPatch, principal: Writer, session: DbSession,
                       cipher: Cipher, response: Response, if_match: IfMatch = None) -> MemberWritten:
    household = await _locked(session, household_id, if_match)
    member = await repository.load_member(session, household, member_id)
    changed = await service.update_member(session, principal, household, member, body, cipher)
    await service.log_answer(session, principal, household, changed)
    set_etag(response, household.version)
    return schemas.member_written(member, household.version, cipher, rules.may_read_personal_data(principal))


@households.delete("/{household_id}/members/{member_id}", responses=problems(404, 409, 412, 428),
                   response_model=HouseholdSummary,
                   summary="Remove a member with a reason (If-Match of the household required)")
async def remove_member(household_id: UUID, member_id: UUID, reason: Reason, principal: Writer, session: DbSession,
                        cipher: Cipher, response: Response, if_match: IfMatch = None) -> HouseholdSummary:
    household = await _locked(session, household_id, if_match)
    member = await repository.load_member(session, household, member_id)
    await service.remove_member(session, principal, household, member, reason, cipher)
    set_etag(response, household.version)
    return schemas.summary(household)


# ---- assessments ----------------------------------------------------------------------------------------------
@assessments.post("/{household_id}/assessments", responses=problems(400, 404, 409),
                  status_code=201, response_model=AssessmentOut,
                  summary="Record the household's assessment for a review year (201 new, 200 re-recorded)",
                  description="Classifies by the year's standard and the commune's area. Accepts `Idempotency-Key`.")
async def post_assessment(household_id: UUID, body: AssessmentIn, request: Request, principal: Assessor,
                          session: DbSession, standards: CurrentStandards,
                          idempotency_key: IdempotencyKey = None) -> Response:
    async def run() -> Response:
        assessment, created = await service.record_assessment(session, principal, household_id, body, standards)
        out = AssessmentOut.model_validate(assessment)
        return JSONResponse(out.model_dump(mode="json"), status_code=201 if created else 200,
                            headers={"Location": f"/registry/households/{household_id}/assessments/{assessment.id}"})

    return await idempotent(request, session, principal, run)


@assessments.get("/{household_id}/assessments", responses=problems(404), response_model=Page[AssessmentOut],
                 summary="The household's assessments, newest year first")
async def list_assessments(household_id: UUID, principal: Reader, session: DbSession) -> Page[AssessmentOut]:
    household = await repository.load(session, household_id, active=False)
    rows = await repository.assessments_of(session, household.id)
    return Page[AssessmentOut](items=[AssessmentOut.model_validate(a) for a in rows], total=len(rows),
                               limit=len(rows), offset=0)


@assessments.get("/{household_id}/assessments/{assessment_id}", responses=problems(404), response_model=AssessmentOut,
                 summary="One assessment")
async def get_assessment(household_id: UUID, assessment_id: UUID, principal: Reader,
                         session: DbSession) -> AssessmentOut:
    return AssessmentOut.model_validate(await repository.load_assessment(session, household_id, assessment_id))


# ---- the access log -------------------------------------------------------------------------------------------
@audit.get("/access-log", response_model=Page[AccessLogOut],
           summary="Who read which household's personal data, when and why (newest first)")
async def access_log(
    principal: Auditor, session: DbSession, paging: Paging,
    household_id: UUID | None = None,
    principal_id: Annotated[str | None, Query(description="the reader")] = None,
    unmasked: bool | None = None,
    since: Annotated[datetime | None, Query(description="from this instant (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="before this instant (ISO 8601)")] = None,
) -> Page[AccessLogOut]:
    query = repository.access_log_query(household_id=household_id, principal_id=principal_id, unmasked=unmasked,
                                        since=since, until=until)
    return await paginate(session, query, paging, lambda r: AccessLogOut.model_validate(r, from_attributes=True))


router = APIRouter()
for _part in (households, assessments, audit):
    router.include_router(_part)
