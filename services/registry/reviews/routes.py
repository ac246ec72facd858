"""The annual review per commune and year (/registry/reviews/...), the certificates it issues
(/registry/certificates) and the monthly regular review (/registry/regular-reviews/...).

Steps are POSTs on the review; each answers the review with its new `ETag`. `If-Match` is optional on
steps (the state machine already refuses a step taken twice) and answers 412 when stale.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from services.registry.classification.service import CurrentStandards
from services.registry.reviews import repository, rules, schemas, service
from services.registry.reviews.models import Review
from services.registry.reviews.schemas import (
    CertificateOut,
    DecisionIn,
    MeetingIn,
    PostingIn,
    RegularDecisionIn,
    RegularRequestIn,
    RegularReviewOut,
    ReviewDetail,
    ReviewHouseholdOut,
    ReviewOpen,
    ReviewOut,
)
from services.registry.units.repository import find_visible
from shared import clock, permissions
from shared.etag import check_if_match, etag_of, set_etag
from shared.http import DbSession, require
from shared.idempotency import IdempotencyKey, idempotent
from shared.openapi import problems
from shared.pagination import Page, PageParams, page_params, paginate
from shared.principal import Principal

annual = APIRouter(prefix="/registry", tags=["reviews"])
regular = APIRouter(prefix="/registry/regular-reviews", tags=["regular reviews"])

Reader = Annotated[Principal, Depends(require(permissions.REVIEWS_READ))]
Writer = Annotated[Principal, Depends(require(permissions.REVIEWS_WRITE))]
Approver = Annotated[Principal, Depends(require(permissions.REVIEWS_APPROVE))]
Paging = Annotated[PageParams, Depends(page_params)]
IfMatch = Annotated[str | None, Header(description="optional: the review's ETag; 412 when stale")]
UnitQuery = Annotated[str | None, Query(description="code of a province, district or commune")]
HierarchyQuery = Annotated[str | None, Query(pattern="^v(2008|2025)$")]
YearQuery = Annotated[int | None, Query(ge=2016, le=2100, description="review year")]
AsOf = Annotated[date | None, Query(description="the day overdue is judged on; default today in Vietnam")]


async def _unit_path(session: DbSession, principal: Principal, unit: str | None, hierarchy: str | None) -> str | None:
    """The path of the unit a list is narrowed to (404 when the caller cannot see it), None for all."""
    return (await find_visible(session, principal, unit, hierarchy)).path if unit else None


async def _answer(session: DbSession, review: Review, response: Response) -> ReviewDetail:
    set_etag(response, review.version)
    return await service.detail(session, review)


async def _step(session: DbSession, review_id: UUID, if_match: str | None) -> Review:
    review = await repository.load(session, review_id, lock=True)
    check_if_match(if_match, review.version, required=False)
    return review


# ---- the annual review -------------------------------------------------------------------------------------
@annual.post("/reviews", responses=problems(400, 404, 409),
             status_code=201, response_model=ReviewDetail, summary="Open a commune's annual review",
             description="One review per commune and year. Accepts `Idempotency-Key`.")
async def open_review(body: ReviewOpen, request: Request, principal: Writer, session: DbSession,
                      standards: CurrentStandards, idempotency_key: IdempotencyKey = None) -> Response:
    async def run() -> Response:
        review = await service.open_review(session, principal, body.commune_code, body.hierarchy, body.year,
                                           standards)
        detail = await service.detail(session, review)
        return JSONResponse(detail.model_dump(mode="json"), status_code=201,
                            headers={"ETag": etag_of(review.version), "Location": f"/registry/reviews/{review.id}"})

    return await idempotent(request, session, principal, run)


@annual.get("/reviews", responses=problems(404), response_model=Page[ReviewOut], summary="Annual reviews in your scope")
async def list_reviews(principal: Reader, session: DbSession, paging: Paging, unit: UnitQuery = None,
                       hierarchy: HierarchyQuery = None, year: YearQuery = None,
                       state: Annotated[str | None, Query(pattern=f"^({'|'.join(rules.STATES)})$")] = None,
                       ) -> Page[ReviewOut]:
    query = repository.reviews_in(await _unit_path(session, principal, unit, hierarchy), year, state)
    return await paginate(session, query, paging, ReviewOut.model_validate)


@annual.get("/reviews/{review_id}", responses=problems(404),
            response_model=ReviewDetail, summary="One review with its meetings")
async def get_review(review_id: UUID, principal: Reader, session: DbSession, response: Response) -> ReviewDetail:
    return await _answer(session, await repository.load(session, review_id), response)


@annual.get("/reviews/{review_id}/households", responses=problems(404), response_model=Page[ReviewHouseholdOut],
            summary="The review's assessed households: status, transition, certificate")
async def review_households(review_id: UUID, principal: Reader, session: DbSession,
                            paging: Paging) -> Page[ReviewHouseholdOut]:
    review = await repository.load(session, review_id)
    return await paginate(session, repository.review_households(review), paging, schemas.review_household_out)


@annual.post("/reviews/{review_id}/assessments-recorded", responses=problems(404, 409, 412),
             response_model=ReviewDetail,
             summary="Close the assessment step (every poor or near-poor household must be assessed)")
async def close_assessments(review_id: UUID, principal: Writer, session: DbSession, response: Response,
                            if_match: IfMatch = None) -> ReviewDetail:
    review = await _step(session, review_id, if_match)
    await service.close_assessments(session, review)
    return await _answer(session, review, response)


@annual.post("/reviews/{review_id}/meetings", responses=problems(404, 409, 412),
             response_model=ReviewDetail, status_code=201,
             summary="Record a village meeting's minutes (under 50 % agreeing is refused)")
async def add_meeting(review_id: UUID, body: MeetingIn, principal: Writer, session: DbSession, response: Response,
                      if_match: IfMatch = None) -> ReviewDetail:
    review = await _step(session, review_id, if_match)
    await service.add_meeting(session, principal, review, body)
    return await _answer(session, review, response)


@annual.post("/reviews/{review_id}/posting", responses=problems(404, 409, 412),
             response_model=ReviewDetail, summary="Record the public posting")
async def post_list(review_id: UUID, body: PostingIn, principal: Writer, session: DbSession, response: Response,
                    if_match: IfMatch = None) -> ReviewDetail:
    review = await _step(session, review_id, if_match)
    await service.post_list(review, body)
    return await _answer(session, review, response)


@annual.post("/reviews/{review_id}/decision", responses=problems(404, 409, 412), response_model=ReviewDetail,
             summary="Record the commune chairman's decision (number, date)")
async def decide(review_id: UUID, body: DecisionIn, principal: Approver, session: DbSession, response: Response,
                 if_match: IfMatch = None) -> ReviewDetail:
    review = await _step(session, review_id, if_match)
    await service.decide(principal, review, body)
    return await _answer(session, review, response)


@annual.post("/reviews/{review_id}/approve", responses=problems(404, 409, 412), response_model=ReviewDetail,
             summary="Approve and lock: transitions, counts, certificates, events")
async def approve(review_id: UUID, principal: Approver, session: DbSession, response: Response,
                  if_match: IfMatch = None) -> ReviewDetail:
    review = await _step(session, review_id, if_match)
    await service.approve(session, principal, review)
    return await _answer(session, review, response)


@annual.get("/certificates", responses=problems(404),
            response_model=Page[CertificateOut], summary="Certificates issued in your scope")
async def list_certificates(principal: Reader, session: DbSession, paging: Paging, unit: UnitQuery = None,
                            hierarchy: HierarchyQuery = None, year: YearQuery = None,
                            household_id: UUID | None = None) -> Page[CertificateOut]:
    query = repository.certificates_in(await _unit_path(session, principal, unit, hierarchy), year, household_id)
    return await paginate(session, query, paging, CertificateOut.model_validate)


# ---- the regular review ------------------------------------------------------------------------------------
@regular.post("", responses=problems(400, 404, 409), status_code=201, response_model=RegularReviewOut,
              summary="Record a household's request; the decision is due within 15 days",
              description="Accepts `Idempotency-Key`.")
async def create_request(body: RegularRequestIn, request: Request, principal: Writer, session: DbSession,
                         idempotency_key: IdempotencyKey = None) -> Response:
    async def run() -> Response:
        item = await service.create_request(session, principal, body)
        return JSONResponse(schemas.regular_out(item, clock.today()).model_dump(mode="json"), status_code=201,
                            headers={"Location": f"/registry/regular-reviews/{item.id}"})

    return await idempotent(request, session, principal, run)


@regular.get("", responses=problems(404),
             response_model=Page[RegularReviewOut], summary="Regular-review requests in your scope")
async def list_requests(principal: Reader, session: DbSession, paging: Paging,
                        unit: str | None = None, hierarchy: HierarchyQuery = None,
                        state: Annotated[str | None, Query(pattern=f"^({'|'.join(rules.REQUEST_STATES)})$")] = None,
                        household_id: UUID | None = None, as_of: AsOf = None) -> Page[RegularReviewOut]:
    day = as_of or clock.today()
    query = repository.requests_in(await _unit_path(session, principal, unit, hierarchy), state=state,
                                   household_id=household_id)
    return await paginate(session, query, paging, lambda r: schemas.regular_out(r, day))


@regular.get("/overdue", responses=problems(404), response_model=Page[RegularReviewOut],
             summary="Pending requests whose 15-day deadline has passed")
async def overdue(principal: Reader, session: DbSession, paging: Paging, unit: str | None = None,
                  hierarchy: HierarchyQuery = None, as_of: AsOf = None) -> Page[RegularReviewOut]:
    day = as_of or clock.today()
    query = repository.requests_in(await _unit_path(session, principal, unit, hierarchy), due_before=day)
    return await paginate(session, query, paging, lambda r: schemas.regular_out(r, day))


@regular.get("/{request_id}", responses=problems(404), response_model=RegularReviewOut, summary="One request")
async def get_request(request_id: UUID, principal: Reader, session: DbSession) -> RegularReviewOut:
    return schemas.regular_out(await repository.load_request(session, request_id), clock.today())


@regular.post("/{request_id}/decision", responses=problems(404, 409), response_model=RegularReviewOut,
              summary="The chairman's decision: classify, recognise, certificate")
async def decide_request(request_id: UUID, body: RegularDecisionIn, principal: Approver,
                         session: DbSession, standards: CurrentStandards) -> RegularReviewOut:
    item = await service.decide_request(session, principal, request_id, body, standards)
    return schemas.regular_out(item, clock.today())


router = APIRouter()
for _part in (annual, regular):
    router.include_router(_part)
