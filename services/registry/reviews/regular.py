"""The monthly regular review: /registry/regular-reviews/...

A household asks (form Mẫu số 04) to be recognised poor or near-poor, or to leave the list; the
commune chairman decides within 15 days. The decision classifies the household on the data gathered
(standard of the decision's year), recognises the result (transition, status, event) and issues a
certificate when the household is recognised poor or near-poor. Pending requests past their deadline
are listed as overdue.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import Select, func, select

from services.registry.classification.service import CurrentStandards
from services.registry.households import service as households
from services.registry.households.assessments import apply_classification, classify_or_problem
from services.registry.households.models import Assessment
from services.registry.reviews.models import RegularReview
from services.registry.reviews.recognition import recognise
from services.registry.reviews.schemas import RegularDecisionIn, RegularRequestIn, RegularReviewOut
from services.registry.units.repository import find_visible
from shared import permissions
from shared.db import load_by_id
from shared.errors import Problem, conflict
from shared.http import DbSession, require
from shared.idempotency import idempotent
from shared.openapi import problems
from shared.pagination import Page, PageParams, page_params
from shared.principal import Principal

DECISION_DAYS = 15
VIETNAM = timezone(timedelta(hours=7))  # Asia/Ho_Chi_Minh has no daylight saving

router = APIRouter(prefix="/registry/regular-reviews", tags=["regular reviews"])
Reader = Annotated[Principal, Depends(require(permissions.REVIEWS_READ))]
Writer = Annotated[Principal, Depends(require(permissions.REVIEWS_WRITE))]
Approver = Annotated[Principal, Depends(require(permissions.REVIEWS_APPROVE))]
Paging = Annotated[PageParams, Depends(page_params)]
AsOf = Annotated[date | None, Query(description="the day overdue is judged on; default today in Vietnam")]
HierarchyQuery = Annotated[str | None, Query(pattern="^v(2008|2025)$")]


def today() -> date:
    return datetime.now(VIETNAM).date()


def _out(request: RegularReview, as_of: date) -> RegularReviewOut:
    out = RegularReviewOut.model_validate(request)
    out.overdue = request.state == "pending" and request.deadline < as_of
    return out


async def _load(session: DbSession, request_id: UUID, *, lock: bool = False) -> RegularReview:
    return await load_by_id(session, RegularReview, request_id, "regular review", lock=lock)


@router.post("", status_code=201, response_model=RegularReviewOut, responses=problems(404),
             summary="Record a household's request; the decision is due within 15 days",
             description="Accepts `Idempotency-Key`.")
async def create_request(body: RegularRequestIn, request: Request, principal: Writer, session: DbSession) -> Response:
    async def run() -> Response:
        household = await households.load(session, body.household_id, lock=True)
        requested_on = body.requested_on or today()
        if requested_on > today():
            raise Problem(422, "validation_error", "Invalid request", "requested_on cannot be in the future",
                          field="requested_on")
        pending = await session.scalar(select(RegularReview.id).where(
            RegularReview.household_id == household.id, RegularReview.state == "pending"))
        if pending is not None:
            raise conflict("request_pending", "This household already has a pending request.",
                           regular_review_id=str(pending))
        item = RegularReview(household_id=household.id, unit_path=household.unit_path,
                             commune_code=household.commune_code, request=body.request, reason=body.reason,
                             requested_on=requested_on, deadline=requested_on + timedelta(days=DECISION_DAYS),
                             state="pending", created_by=principal.id)
        session.add(item)
        await session.flush()
        await session.refresh(item)
        return JSONResponse(_out(item, today()).model_dump(mode="json"), status_code=201,
                            headers={"Location": f"/registry/regular-reviews/{item.id}"})

    return await idempotent(request, session, principal, run)


async def _page(session: DbSession, query: Select[RegularReview], paging: PageParams,
                as_of: date) -> Page[RegularReviewOut]:
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(query.order_by(RegularReview.deadline, RegularReview.id)
                                 .limit(paging.limit).offset(paging.offset))
    return Page[RegularReviewOut](items=[_out(r, as_of) for r in rows], total=total, limit=paging.limit,
                                 offset=paging.offset)


async def _unit_filter(session: DbSession, principal: Principal, unit: str | None, hierarchy: str | None) -> object:
    found = await find_visible(session, principal, unit, hierarchy) if unit else None
    if found is None:
        return None
    return (RegularReview.unit_path == found.path) | RegularReview.unit_path.startswith(found.path + ".",
                                                                                       autoescape=True)


@router.get("", response_model=Page[RegularReviewOut], summary="Regular-review requests in your scope")
async def list_requests(principal: Reader, session: DbSession, paging: Paging,
                        unit: str | None = None, hierarchy: HierarchyQuery = None,
                        state: Annotated[str | None, Query(pattern="^(pending|decided)$")] = None,
                        household_id: UUID | None = None, as_of: AsOf = None) -> Page[RegularReviewOut]:
    query = select(RegularReview)
    if (clause := await _unit_filter(session, principal, unit, hierarchy)) is not None:
        query = query.where(clause)  # type: ignore[arg-type]
    if state:
        query = query.where(RegularReview.state == state)
    if household_id:
        query = query.where(RegularReview.household_id == household_id)
    return await _page(session, query, paging, as_of or today())


@router.get("/overdue", response_model=Page[RegularReviewOut],
            summary="Pending requests whose 15-day deadline has passed")
async def overdue(principal: Reader, session: DbSession, paging: Paging, unit: str | None = None,
                  hierarchy: HierarchyQuery = None,
                  as_of: AsOf = None) -> Page[RegularReviewOut]:
    day = as_of or today()
    query = select(RegularReview).where(RegularReview.state == "pending", RegularReview.deadline < day)
    if (clause := await _unit_filter(session, principal, unit, hierarchy)) is not None:
        query = query.where(clause)  # type: ignore[arg-type]
    return await _page(session, query, paging, day)


@router.get("/{request_id}", response_model=RegularReviewOut, summary="One request")
async def get_request(request_id: UUID, principal: Reader, session: DbSession) -> RegularReviewOut:
    return _out(await _load(session, request_id), today())


@router.post("/{request_id}/decision", response_model=RegularReviewOut,
             summary="The chairman's decision: classify, recognise, certificate")
async def decide(request_id: UUID, body: RegularDecisionIn, principal: Approver,
                 session: DbSession, standards: CurrentStandards) -> RegularReviewOut:
    item = await _load(session, request_id, lock=True)
    if item.state != "pending":
        raise conflict("request_decided", "This request is already decided.")
    if body.decided_on < item.requested_on or body.decided_on > today():
        raise Problem(422, "validation_error", "Invalid request",
                      "decided_on must be between the request date and today", field="decided_on")
    household = await households.load(session, item.household_id, lock=True)
    year = body.decided_on.year
    result = classify_or_problem(standards, year, household.area, body.income_per_capita, body.deprived_indicators)
    assessment = Assessment(household_id=household.id, unit_path=household.unit_path, review_year=year,
                            kind="regular", state="recorded", source="api", created_by=principal.id,
                            member_count=household.member_count)
    apply_classification(assessment, result, body.income_per_capita)
    session.add(assessment)
    await session.flush()
    await recognise(session, principal, [(household, assessment)], unit_path=household.unit_path,
                    commune_code=household.commune_code, year=year, decided_on=body.decided_on, source="regular",
                    regular_review_id=item.id)
    item.state, item.decided_on, item.decision_number = "decided", body.decided_on, body.decision_number
    item.outcome_status, item.assessment_id = assessment.status, assessment.id
    item.certificate_number, item.decided_by = assessment.certificate_number, principal.id
    await session.flush()
    return _out(item, today())
