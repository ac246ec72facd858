"""Assessments: a household classified for a review year, keeping inputs, standard and result.

An assessment is `recorded` when the reviewers score the household; it becomes `recognised` (and the
household's status changes, and `registry.household.assessed` is published) only when the commune's
annual review is approved or a regular-review decision is made. Once the annual review of the
commune and year has passed the assessment step, its annual assessments are frozen.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.classification.classifier import Classification, NoStandardForYear, UnknownIndicator
from services.registry.classification.service import CurrentStandards, Standards
from services.registry.households import history, service
from services.registry.households.models import Assessment, Household
from services.registry.reviews.models import Review
from shared import permissions
from shared.errors import Problem, conflict
from shared.http import DbSession, require
from shared.idempotency import idempotent
from shared.pagination import Page
from shared.principal import Principal

router = APIRouter(prefix="/registry/households", tags=["assessments"])
Assessor = Annotated[Principal, Depends(require(permissions.ASSESSMENTS_WRITE))]
Reader = Annotated[Principal, Depends(require(permissions.HOUSEHOLDS_READ))]


class AssessmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    review_year: int = Field(ge=2016, le=2100)
    income_per_capita: int = Field(ge=0, le=10_000_000_000, description="VND per person per month")
    deprived_indicators: list[str] = Field(default_factory=list, max_length=20,
                                           description="canonical indicator codes of the year's standard")


class AssessmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: UUID
    household_id: UUID
    review_year: int
    kind: Literal["annual", "regular"] | str
    area: str
    income_per_capita: int
    deprived_indicators: list[str]
    deprived_count: int
    standard: str
    status: str
    poverty_line: int
    near_poverty_line: int | None
    middle_income_line: int | None
    explanation: str
    member_count: int
    state: str
    previous_status: str | None
    transition: str | None
    recognised_at: datetime | None
    certificate_number: str | None
    source: str
    created_at: datetime
    created_by: str | None


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


async def _check_review_open(session: AsyncSession, household: Household, year: int) -> None:
    review = await session.scalar(select(Review).where(Review.unit_path == household.unit_path, Review.year == year))
    if review is None or review.state == "opened":
        return
    if review.state == "approved":
        raise conflict("review_locked", f"The {year} review of this commune is approved and locked.",
                       review_id=str(review.id))
    raise conflict("review_step_passed", f"The {year} review of this commune has closed its assessments "
                   f"(state {review.state}).", review_id=str(review.id))


async def record(session: AsyncSession, principal: Principal, household: Household,
                 body: AssessmentIn, standards: Standards) -> tuple[Assessment, bool]:
    """Record (or re-record) the household's annual assessment of `body.review_year`; True when new."""
    result = classify_or_problem(standards, body.review_year, household.area, body.income_per_capita,
                                 body.deprived_indicators)
    await _check_review_open(session, household, body.review_year)
    assessment = await session.scalar(select(Assessment).where(
        Assessment.household_id == household.id, Assessment.kind == "annual",
        Assessment.review_year == body.review_year).with_for_update())
    created = assessment is None
    before = None
    if assessment is None:
        assessment = Assessment(household_id=household.id, unit_path=household.unit_path,
                                review_year=body.review_year, kind="annual", state="recorded", source="api",
                                created_by=principal.id)
        session.add(assessment)
    else:
        if assessment.state == "recognised":
            raise conflict("assessment_recognised", "This assessment is already recognised by a decision.")
        before = _brief(assessment)
        assessment.updated_at = datetime.now(UTC)
    apply_classification(assessment, result, body.income_per_capita)
    assessment.member_count = household.member_count
    await service.flush(session)
    history.record(session, principal, household, "assessed", before, _brief(assessment))
    return assessment, created


def _brief(a: Assessment) -> dict[str, object]:
    return {"review_year": a.review_year, "income_per_capita": a.income_per_capita,
            "deprived_indicators": list(a.deprived_indicators), "status": a.status, "standard": a.standard}


@router.post("/{household_id}/assessments", status_code=201, response_model=AssessmentOut,
             summary="Record the household's assessment for a review year (201 new, 200 re-recorded)",
             description="Classifies by the year's standard and the commune's area. Accepts `Idempotency-Key`.")
async def post_assessment(household_id: UUID, body: AssessmentIn, request: Request, principal: Assessor,
                          session: DbSession, standards: CurrentStandards) -> Response:
    async def run() -> Response:
        household = await service.load(session, household_id, lock=True)
        assessment, created = await record(session, principal, household, body, standards)
        out = AssessmentOut.model_validate(assessment)
        return JSONResponse(out.model_dump(mode="json"), status_code=201 if created else 200,
                            headers={"Location": f"/registry/households/{household.id}/assessments/{assessment.id}"})

    return await idempotent(request, session, principal, run)


@router.get("/{household_id}/assessments", response_model=Page[AssessmentOut],
            summary="The household's assessments, newest year first")
async def list_assessments(household_id: UUID, principal: Reader, session: DbSession) -> Page[AssessmentOut]:
    household = await service.load(session, household_id, active=False)
    rows = list((await session.scalars(select(Assessment).where(Assessment.household_id == household.id)
                                       .order_by(Assessment.review_year.desc(), Assessment.created_at.desc()))).all())
    return Page[AssessmentOut](items=[AssessmentOut.model_validate(a) for a in rows], total=len(rows),
                               limit=len(rows), offset=0)


@router.get("/{household_id}/assessments/{assessment_id}", response_model=AssessmentOut, summary="One assessment")
async def get_assessment(household_id: UUID, assessment_id: UUID, principal: Reader,
                         session: DbSession) -> AssessmentOut:
    assessment = await session.scalar(select(Assessment).where(
        Assessment.id == assessment_id, Assessment.household_id == household_id))
    if assessment is None:
        raise Problem(404, "not_found", "assessment not found", f"No assessment with id {assessment_id} in your scope.")
    return AssessmentOut.model_validate(assessment)
