"""Request and response bodies of the review endpoints, and the functions shaping rows into answers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from services.registry.reviews import rules
from shared import clock
from shared.text import MULTILINE_TEXT, TEXT, PlainText


def _not_future(value: date) -> date:
    if problem := rules.future_date_problem(value, clock.today()):
        raise ValueError(problem)
    return value


# A date of something that has happened (a meeting, a decision): 2000-01-01 or later, not after today.
PastDate = Annotated[date, Field(ge=rules.DATE_FLOOR, description="2000-01-01 or later, not in the future"),
                     AfterValidator(_not_future)]
# A date that may lie ahead (the end of a posting): 2000-01-01 to 2100-12-31.
SaneDate = Annotated[date, Field(ge=rules.DATE_FLOOR, le=rules.DATE_CEILING,
                                 description="between 2000-01-01 and 2100-12-31")]
# A decision's number as printed, e.g. 125/QĐ-UBND (no control characters, no leading formula character).
DecisionNumber = Annotated[str, Field(min_length=1, max_length=60, description="e.g. 125/QĐ-UBND"), TEXT]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReviewOpen(Strict):
    commune_code: str = Field(pattern=r"^\d{5}$")
    hierarchy: Literal["v2008", "v2025"] | None = None
    year: int = Field(ge=2016, le=2100)


class MeetingIn(Strict):
    model_config = ConfigDict(json_schema_extra={"description": "agreeing ≤ attendees; the list needs at least "
                                                                "half the attendees agreeing (409 otherwise)"})
    village: PlainText
    held_on: PastDate
    attendees: int = Field(ge=1, le=100_000)
    agreeing: int = Field(ge=0, le=100_000, description="at most attendees; at least half of them (409 below)")
    minutes_ref: Annotated[str, Field(max_length=200, description="number or reference of the signed minutes"),
                           TEXT] | None = None

    @model_validator(mode="after")
    def _agreeing_le_attendees(self) -> MeetingIn:
        if self.agreeing > self.attendees:
            raise ValueError("agreeing cannot exceed attendees")
        return self


class PostingIn(Strict):
    posted_from: PastDate
    posted_to: SaneDate = Field(description="not before posted_from; between 2000-01-01 and 2100-12-31")
    places: Annotated[str, Field(max_length=300, description="where the list was posted (village, commune)"),
                      TEXT] | None = None

    @model_validator(mode="after")
    def _order(self) -> PostingIn:
        if self.posted_to < self.posted_from:
            raise ValueError("posted_to must not be before posted_from")
        return self


class DecisionIn(Strict):
    decision_number: DecisionNumber
    decision_date: PastDate = Field(description="not before the posting ended (422); 2000-01-01 or later, "
                                                "not in the future")
    signer: Annotated[str, Field(max_length=200, description="the commune chairman who signed"), TEXT] | None = None


class MeetingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: UUID
    village: str
    held_on: date
    attendees: int
    agreeing: int
    minutes_ref: str | None
    recorded_at: datetime
    recorded_by: str


class ReviewOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: UUID
    unit_path: str
    commune_code: str
    year: int
    state: str
    version: int
    opened_at: datetime
    opened_by: str
    assessments_recorded_at: datetime | None
    posted_from: date | None
    posted_to: date | None
    posting_places: str | None
    decision_number: str | None
    decision_date: date | None
    decision_signer: str | None
    approved_at: datetime | None
    approved_by: str | None
    counts: dict[str, int] | None = Field(description="households per status after approval")
    members: dict[str, int] | None = Field(description="persons per status after approval")
    transitions: dict[str, int] | None = Field(description="households per transition code")


class ReviewDetail(ReviewOut):
    meetings: list[MeetingOut]
    assessed: int = Field(description="annual assessments recorded for this commune and year")


class ReviewHouseholdOut(BaseModel):
    household_id: UUID
    household_code: str
    head_name: str
    assessment_id: UUID
    status: str
    previous_status: str | None
    transition: str | None
    certificate_number: str | None
    state: str


class CertificateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: UUID
    number: str
    commune_code: str
    year: int
    household_id: UUID
    status: str
    source: str
    issued_on: date
    review_id: UUID | None
    regular_review_id: UUID | None


class RegularRequestIn(Strict):
    household_id: UUID
    request: Literal["enter", "exit"] = Field(description="enter: be recognised poor/near-poor; exit: leave the list")
    requested_on: PastDate | None = Field(None, description="date of the form (Mẫu số 04), 2000-01-01 or later, "
                                                          "not in the future; default today")
    reason: Annotated[str, Field(max_length=1000), MULTILINE_TEXT] | None = None


class RegularDecisionIn(Strict):
    decision_number: DecisionNumber
    decided_on: PastDate = Field(description="between the request's date and today")
    income_per_capita: int = Field(ge=0, le=10_000_000_000)
    deprived_indicators: list[str] = Field(default_factory=list, max_length=20)


class RegularReviewOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: UUID
    household_id: UUID
    unit_path: str
    commune_code: str
    request: str
    reason: str | None
    requested_on: date
    deadline: date
    state: str
    overdue: bool = False
    decided_on: date | None
    decision_number: str | None
    outcome_status: str | None
    assessment_id: UUID | None
    certificate_number: str | None
    created_at: datetime
    created_by: str


def regular_out(request: Any, as_of: date) -> RegularReviewOut:
    """A regular-review request as answered: overdue when still pending after its deadline on `as_of`."""
    out = RegularReviewOut.model_validate(request)
    out.overdue = rules.is_overdue(request.state, request.deadline, as_of)
    return out


def review_household_out(row: Any) -> ReviewHouseholdOut:
    """A row of `repository.review_households`: (assessment, household code, head's name)."""
    a, code, head = row
    return ReviewHouseholdOut(household_id=a.household_id, household_code=code, head_name=head, assessment_id=a.id,
                              status=a.status, previous_status=a.previous_status, transition=a.transition,
                              certificate_number=a.certificate_number, state=a.state)
