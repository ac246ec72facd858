"""The annual review per commune and year: /registry/reviews/...

Steps are POSTs on the review; each answers the review with its new `ETag`. `If-Match` is optional on
steps (the state machine already refuses a step taken twice) and answers 412 when stale.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import func, select

from services.registry.classification.service import CurrentStandards
from services.registry.households.models import Assessment, Household
from services.registry.reviews import service
from services.registry.reviews.models import Certificate, Meeting, Review
from services.registry.reviews.schemas import (
    CertificateOut,
    DecisionIn,
    MeetingIn,
    MeetingOut,
    PostingIn,
    ReviewDetail,
    ReviewHouseholdOut,
    ReviewOpen,
    ReviewOut,
)
from services.registry.units.repository import find_visible, find_writable
from shared import permissions
from shared.etag import check_if_match, etag_of, set_etag
from shared.http import DbSession, require
from shared.idempotency import idempotent
from shared.pagination import Page, PageParams, page_params
from shared.principal import Principal

router = APIRouter(prefix="/registry", tags=["reviews"])
Reader = Annotated[Principal, Depends(require(permissions.REVIEWS_READ))]
Writer = Annotated[Principal, Depends(require(permissions.REVIEWS_WRITE))]
Approver = Annotated[Principal, Depends(require(permissions.REVIEWS_APPROVE))]
Paging = Annotated[PageParams, Depends(page_params)]
IfMatch = Annotated[str | None, Header(description="optional: the review's ETag; 412 when stale")]
UnitQuery = Annotated[str | None, Query(description="code of a province, district or commune")]
HierarchyQuery = Annotated[str | None, Query(pattern="^v(2008|2025)$")]
YearQuery = Annotated[int | None, Query(ge=2016, le=2100, description="review year")]


async def _detail(session: DbSession, review: Review, response: Response | None = None) -> ReviewDetail:
    meetings = (await session.scalars(select(Meeting).where(Meeting.review_id == review.id)
                                      .order_by(Meeting.held_on, Meeting.recorded_at))).all()
    if response is not None:
        set_etag(response, review.version)
    return ReviewDetail(**ReviewOut.model_validate(review).model_dump(),
                        meetings=[MeetingOut.model_validate(m) for m in meetings],
                        assessed=await service.assessed_count(session, review))


async def _within(session: DbSession, principal: Principal, unit: str | None, hierarchy: str | None,
                  column: object) -> object | None:
    if not unit:
        return None
    found = await find_visible(session, principal, unit, hierarchy)
    return (column == found.path) | column.startswith(found.path + ".", autoescape=True)  # type: ignore[attr-defined]


@router.post("/reviews", status_code=201, response_model=ReviewDetail, summary="Open a commune's annual review",
             description="One review per commune and year. Accepts `Idempotency-Key`.")
async def open_review(body: ReviewOpen, request: Request, principal: Writer, session: DbSession,
                      standards: CurrentStandards) -> Response:
    async def run() -> Response:
        commune = await find_writable(session, principal, body.commune_code, body.hierarchy)
        review = await service.open_review(session, principal, commune, body.year, standards)
        detail = await _detail(session, review)
        return JSONResponse(detail.model_dump(mode="json"), status_code=201,
                            headers={"ETag": etag_of(review.version), "Location": f"/registry/reviews/{review.id}"})

    return await idempotent(request, session, principal, run)


@router.get("/reviews", response_model=Page[ReviewOut], summary="Annual reviews in your scope")
async def list_reviews(principal: Reader, session: DbSession, paging: Paging, unit: UnitQuery = None,
                       hierarchy: HierarchyQuery = None, year: YearQuery = None,
                       state: str | None = None) -> Page[ReviewOut]:
    query = select(Review)
    if (clause := await _within(session, principal, unit, hierarchy, Review.unit_path)) is not None:
        query = query.where(clause)  # type: ignore[arg-type]
    if year is not None:
        query = query.where(Review.year == year)
    if state:
        query = query.where(Review.state == state)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(query.order_by(Review.year.desc(), Review.unit_path)
                                 .limit(paging.limit).offset(paging.offset))
    return Page[ReviewOut](items=[ReviewOut.model_validate(r) for r in rows], total=total, limit=paging.limit,
                           offset=paging.offset)


@router.get("/reviews/{review_id}", response_model=ReviewDetail, summary="One review with its meetings")
async def get_review(review_id: UUID, principal: Reader, session: DbSession, response: Response) -> ReviewDetail:
    return await _detail(session, await service.load(session, review_id), response)


@router.get("/reviews/{review_id}/households", response_model=Page[ReviewHouseholdOut],
            summary="The review's assessed households: status, transition, certificate")
async def review_households(review_id: UUID, principal: Reader, session: DbSession,
                            paging: Paging) -> Page[ReviewHouseholdOut]:
    review = await service.load(session, review_id)
    query = (select(Assessment, Household.household_code, Household.head_name)
             .join(Household, Household.id == Assessment.household_id)
             .where(Assessment.unit_path == review.unit_path, Assessment.review_year == review.year,
                    Assessment.kind == "annual"))
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = (await session.execute(query.order_by(Household.household_code).limit(paging.limit)
                                  .offset(paging.offset))).all()
    items = [ReviewHouseholdOut(household_id=a.household_id, household_code=code, head_name=head, assessment_id=a.id,
                                status=a.status, previous_status=a.previous_status, transition=a.transition,
                                certificate_number=a.certificate_number, state=a.state) for a, code, head in rows]
    return Page[ReviewHouseholdOut](items=items, total=total, limit=paging.limit, offset=paging.offset)


async def _step(session: DbSession, review_id: UUID, if_match: str | None) -> Review:
    review = await service.load(session, review_id, lock=True)
    check_if_match(if_match, review.version, required=False)
    return review


@router.post("/reviews/{review_id}/assessments-recorded", response_model=ReviewDetail,
             summary="Close the assessment step (every poor or near-poor household must be assessed)")
async def close_assessments(review_id: UUID, principal: Writer, session: DbSession, response: Response,
                            if_match: IfMatch = None) -> ReviewDetail:
    review = await _step(session, review_id, if_match)
    await service.close_assessments(session, review)
    return await _detail(session, review, response)


@router.post("/reviews/{review_id}/meetings", response_model=ReviewDetail, status_code=201,
             summary="Record a village meeting's minutes (under 50 % agreeing is refused)")
async def add_meeting(review_id: UUID, body: MeetingIn, principal: Writer, session: DbSession, response: Response,
                      if_match: IfMatch = None) -> ReviewDetail:
    review = await _step(session, review_id, if_match)
    await service.add_meeting(session, principal, review, body)
    return await _detail(session, review, response)


@router.post("/reviews/{review_id}/posting", response_model=ReviewDetail, summary="Record the public posting")
async def post_list(review_id: UUID, body: PostingIn, principal: Writer, session: DbSession, response: Response,
                    if_match: IfMatch = None) -> ReviewDetail:
    review = await _step(session, review_id, if_match)
    await service.post_list(review, body)
    return await _detail(session, review, response)


@router.post("/reviews/{review_id}/decision", response_model=ReviewDetail,
             summary="Record the commune chairman's decision (number, date)")
async def decide(review_id: UUID, body: DecisionIn, principal: Approver, session: DbSession, response: Response,
                 if_match: IfMatch = None) -> ReviewDetail:
    review = await _step(session, review_id, if_match)
    await service.decide(principal, review, body)
    return await _detail(session, review, response)


@router.post("/reviews/{review_id}/approve", response_model=ReviewDetail,
             summary="Approve and lock: transitions, counts, certificates, events")
async def approve(review_id: UUID, principal: Approver, session: DbSession, response: Response,
                  if_match: IfMatch = None) -> ReviewDetail:
    review = await _step(session, review_id, if_match)
    await service.approve(session, principal, review)
    return await _detail(session, review, response)


@router.get("/certificates", response_model=Page[CertificateOut], summary="Certificates issued in your scope")
async def list_certificates(principal: Reader, session: DbSession, paging: Paging, unit: UnitQuery = None,
                            hierarchy: HierarchyQuery = None, year: YearQuery = None,
                            household_id: UUID | None = None) -> Page[CertificateOut]:
    query = select(Certificate)
    if (clause := await _within(session, principal, unit, hierarchy, Certificate.unit_path)) is not None:
        query = query.where(clause)  # type: ignore[arg-type]
    if year is not None:
        query = query.where(Certificate.year == year)
    if household_id is not None:
        query = query.where(Certificate.household_id == household_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(query.order_by(Certificate.unit_path, Certificate.year, Certificate.seq)
                                 .limit(paging.limit).offset(paging.offset))
    return Page[CertificateOut](items=[CertificateOut.model_validate(c) for c in rows], total=total,
                                limit=paging.limit, offset=paging.offset)
