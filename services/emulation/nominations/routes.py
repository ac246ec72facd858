"""Nominations (draft → submitted → under appraisal → voted → decided, or returned, forwarded upward,
rejected), quotas, the award book, certificates and revocations."""

from __future__ import annotations

from functools import partial
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.emulation.catalogue import rules as catalogue
from services.emulation.dependencies import (
    Board,
    DbSession,
    Hierarchy,
    IdempotencyKey,
    IfMatch,
    Page,
    Paging,
    Reader,
    UnitQuery,
    Writer,
    Year,
    check_if_match,
    created,
    idempotent,
    paginate,
    problems,
    set_etag,
)
from services.emulation.models import Award, Nomination, Quota
from services.emulation.nominations import repository, service
from services.emulation.nominations.schemas import (
    AwardOut,
    CertificateOut,
    Comment,
    Decision,
    NominationEdit,
    NominationIn,
    NominationOut,
    QuotaIn,
    QuotaOut,
    Revocation,
    Vote,
)
from services.emulation.units.service import locate

router = APIRouter(prefix="/emulation", tags=["nominations and awards"])
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def nomination_out(n: Nomination, award: Award | None = None) -> NominationOut:
    form = catalogue.form(n.form)
    return NominationOut(
        id=n.id, unit_path=n.unit_path, movement_id=n.movement_id, year=n.year, form=n.form,
        form_name=form.name if form else n.form, nominee_kind=n.nominee_kind, nominee_name=n.nominee_name,
        nominee_role=n.nominee_role, nominee_unit_path=n.nominee_unit_path, household_id=n.household_id,
        achievements=n.achievements, dossier=n.dossier, state=n.state, handler_path=n.handler_path,
        awarding_path=service.awarding_path(n), comment=n.comment, votes_for=n.votes_for,
        votes_against=n.votes_against, voted_on=n.voted_on, submitted_on=n.submitted_on, history=n.history,
        version=n.version, award_id=award.id if award else None)


def award_out(a: Award) -> AwardOut:
    form = catalogue.form(a.form)
    return AwardOut(id=a.id, nomination_id=a.nomination_id, unit_path=a.unit_path, movement_id=a.movement_id,
                    year=a.year, form=a.form, form_name=form.name if form else a.form,
                    category=form.category if form else "", nominee_kind=a.nominee_kind, nominee_name=a.nominee_name,
                    decision_number=a.decision_number, decision_date=a.decision_date, signer=a.signer,
                    awarding_path=a.awarding_path, awarding_level=a.awarding_level,
                    awarding_authority=a.awarding_authority, prize_multiplier=a.prize_multiplier,
                    base_salary=a.base_salary, prize_amount=a.prize_amount, certificate_number=a.certificate_number,
                    revoked_on=a.revoked_on, revocation=a.revocation)


def certificate_out(a: Award) -> CertificateOut:
    form = catalogue.form(a.form)
    return CertificateOut(certificate_number=a.certificate_number, form_name=form.name if form else a.form,
                          nominee_name=a.nominee_name, nominee_kind=a.nominee_kind, year=a.year,
                          decision_number=a.decision_number, decision_date=a.decision_date,
                          awarding_authority=a.awarding_authority, signer=a.signer, valid=a.revoked_on is None)


async def _answer(session: AsyncSession, item: Nomination, response: Response) -> NominationOut:
    set_etag(response, item.version)
    return nomination_out(item, await repository.award_of(session, item.id))


@router.post("/nominations", status_code=201, response_model=NominationOut, responses=problems(404),
             summary="Draft a nomination: nominee, form, year, achievements, dossier")
async def create_nomination(body: NominationIn, request: Request, principal: Writer, session: DbSession,
                            idempotency_key: IdempotencyKey = None) -> Response:
    """422 `form_does_not_fit` (the form is not for this nominee kind), `form_not_awardable` (no level
    from the unit upward awards it today); a household nominee: 404 `household_not_found` (unknown to the
    registry's events, or outside your units), 422 `household_removed`, `household_outside_unit`."""
    async def run() -> Response:
        item = await service.create(session, principal, body)
        return created(nomination_out(item), f"/emulation/nominations/{item.id}", item.version)
    return await idempotent(request, session, principal, run)


@router.get("/nominations", response_model=Page[NominationOut], responses=problems(404),
            summary="Nominations of your units and the units below")
async def list_nominations(principal: Reader, session: DbSession, paging: Paging,
                           unit: UnitQuery = None, hierarchy: Hierarchy | None = None,
                           year: Year = None, state: Annotated[str | None, Query(max_length=16)] = None,
                           with_me: Annotated[bool, Query(description="Only those your level handles")] = False,
                           ) -> Page[NominationOut]:
    path = (await locate(session, principal, unit, hierarchy)).path if unit else None
    handler = principal.scope_paths[0] if with_me and principal.scope_paths else None
    return await paginate(session, repository.nominations(path, year, state, handler), paging, nomination_out)


@router.get("/nominations/{nomination_id}", response_model=NominationOut, responses=problems(404),
            summary="A nomination, its dossier and history")
async def read_nomination(nomination_id: UUID, principal: Reader, session: DbSession,
                          response: Response) -> NominationOut:
    return await _answer(session, await repository.nomination(session, nomination_id), response)


@router.patch("/nominations/{nomination_id}", response_model=NominationOut, responses=problems(404, 409, 412, 428),
              summary="Fix a draft or returned nomination: achievements, dossier (If-Match)")
async def edit_nomination(nomination_id: UUID, body: NominationEdit, principal: Writer, session: DbSession,
                          response: Response, if_match: IfMatch = None) -> NominationOut:
    item = await service.edit(session, principal, nomination_id, body, partial(check_if_match, if_match))
    return await _answer(session, item, response)


@router.post("/nominations/{nomination_id}/submit", response_model=NominationOut, responses=problems(404, 409),
             summary="Submit (or resubmit after a return) to the level's emulation board")
async def submit(nomination_id: UUID, principal: Writer, session: DbSession, response: Response) -> NominationOut:
    """409 `quota_exceeded` when the unit's quota for the form and year is used up (submissions against
    one quota take turns); 422 `incomplete_dossier` naming what is missing."""
    return await _answer(session, await service.submit(session, principal, nomination_id), response)


@router.post("/nominations/{nomination_id}/appraise", response_model=NominationOut, responses=problems(404, 409),
             summary="Start the appraisal (the handling level's emulation board)")
async def appraise(nomination_id: UUID, principal: Board, session: DbSession, response: Response) -> NominationOut:
    return await _answer(session, await service.act(session, principal, nomination_id, "appraise"), response)


@router.post("/nominations/{nomination_id}/return", response_model=NominationOut, responses=problems(404, 409),
             summary="Return for fixes, with comments")
async def return_nomination(nomination_id: UUID, body: Comment, principal: Board, session: DbSession,
                            response: Response) -> NominationOut:
    return await _answer(session, await service.act(session, principal, nomination_id, "return", body), response)


@router.post("/nominations/{nomination_id}/forward", response_model=NominationOut, responses=problems(404, 409),
             summary="Forward upward a nomination beyond this level's power")
async def forward(nomination_id: UUID, principal: Board, session: DbSession, response: Response) -> NominationOut:
    """409 `within_power` when this level awards the form itself."""
    return await _answer(session, await service.act(session, principal, nomination_id, "forward"), response)


@router.post("/nominations/{nomination_id}/vote", response_model=NominationOut, responses=problems(404, 409),
             summary="Record the emulation council's vote")
async def vote(nomination_id: UUID, body: Vote, principal: Board, session: DbSession,
               response: Response) -> NominationOut:
    return await _answer(session, await service.act(session, principal, nomination_id, "vote", body), response)


@router.post("/nominations/{nomination_id}/decision", status_code=201, response_model=AwardOut,
             responses=problems(404, 409), summary="Record the decision: the award, its prize and certificate")
async def decide(nomination_id: UUID, body: Decision, principal: Board, session: DbSession) -> Response:
    """422 `not_within_power` (this level does not award the form on the decision date),
    `council_vote_required`, `council_voted_against`."""
    award = await service.decide(session, principal, nomination_id, body)
    return created(award_out(award), f"/emulation/awards/{award.id}")


@router.post("/nominations/{nomination_id}/rejection", response_model=NominationOut, responses=problems(404, 409),
             summary="Reject, with the written reason")
async def reject(nomination_id: UUID, body: Comment, principal: Board, session: DbSession,
                 response: Response) -> NominationOut:
    return await _answer(session, await service.act(session, principal, nomination_id, "reject", body), response)


@router.post("/quotas", response_model=QuotaOut, responses=problems(404),
             summary="Set how many nominations of a form a unit below may submit for a year")
async def set_quota(body: QuotaIn, principal: Board, session: DbSession) -> QuotaOut:
    quota = await service.set_quota(session, principal, body)
    return QuotaOut(id=quota.id, unit_path=quota.unit_path, form=quota.form, year=quota.year, quota=quota.quota,
                    used=await repository.used(session, quota.unit_path, quota.form, quota.year),
                    set_by_path=quota.set_by_path)


def _quota_out(row: tuple[Quota, int]) -> QuotaOut:
    q, used = row
    return QuotaOut(id=q.id, unit_path=q.unit_path, form=q.form, year=q.year, quota=q.quota, used=used,
                    set_by_path=q.set_by_path)


@router.get("/quotas", response_model=Page[QuotaOut], responses=problems(404),
            summary="Quotas of your units and the units below, and how much of each is used")
async def list_quotas(principal: Reader, session: DbSession, paging: Paging,
                      unit: UnitQuery = None, hierarchy: Hierarchy | None = None,
                      year: Year = None) -> Page[QuotaOut]:
    path = (await locate(session, principal, unit, hierarchy)).path if unit else None
    return await paginate(session, repository.quotas(path, year), paging, _quota_out)


@router.get("/awards", response_model=Page[AwardOut], responses=problems(404),
            summary="The award book: who got what, when, by which decision (your units and below)")
async def award_book(principal: Reader, session: DbSession, paging: Paging,
                     unit: UnitQuery = None, hierarchy: Hierarchy | None = None,
                     year: Year = None, form: Annotated[str | None, Query(max_length=40)] = None) -> Page[AwardOut]:
    path = (await locate(session, principal, unit, hierarchy)).path if unit else None
    return await paginate(session, repository.awards(path, year, form), paging, award_out)


@router.get("/certificates", response_model=Page[CertificateOut], responses=problems(404),
            summary="Certificates issued (a revoked award's certificate is shown not valid)")
async def certificates(principal: Reader, session: DbSession, paging: Paging,
                       unit: UnitQuery = None, hierarchy: Hierarchy | None = None,
                       year: Year = None) -> Page[CertificateOut]:
    path = (await locate(session, principal, unit, hierarchy)).path if unit else None
    return await paginate(session, repository.awards(path, year, None), paging, certificate_out)


@router.get("/awards/{award_id}/certificate.docx", response_class=Response,
            responses={200: {"description": "The certificate", "content": {DOCX: {}}}, **problems(404, 409)},
            summary="The award's certificate (giấy khen, bằng khen) as a DOCX in the official layout")
async def certificate_docx(award_id: UUID, principal: Reader, session: DbSession) -> Response:
    """Whoever reads the award reads its certificate (the nominating unit and the units above it);
    409 `award_revoked` once the award is revoked."""
    award, body = await service.certificate(session, award_id)
    return Response(body, media_type=DOCX, headers={
        "Content-Disposition": f'attachment; filename="certificate_{award.id}.docx"', "ETag": f'"{award.version}"'})


@router.post("/awards/{award_id}/revocation", response_model=AwardOut, responses=problems(404, 409),
             summary="Revoke an award obtained by false claims, and record the prize recovered")
async def revoke(award_id: UUID, body: Revocation, principal: Board, session: DbSession) -> AwardOut:
    return award_out(await service.revoke(session, principal, award_id, body))
