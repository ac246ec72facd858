"""The review use cases: the commune's annual review step by step, its approval (recognition,
certificates, counts, events), and the monthly regular review's requests and decisions.

Each step checks its state against the machine in rules.py and the facts it needs; a refused step
changes nothing (the request's one transaction rolls back).
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from uuid import UUID

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry import events
from services.registry.classification.classifier import NoStandardForYear, Standards
from services.registry.households import repository as households
from services.registry.households import rules as household_rules
from services.registry.households.models import Assessment, Household
from services.registry.households.service import apply_classification, classify_or_problem
from services.registry.reviews import repository, rules
from services.registry.reviews.models import Meeting, RegularReview, Review
from services.registry.reviews.schemas import (
    DecisionIn,
    MeetingIn,
    MeetingOut,
    PostingIn,
    RegularDecisionIn,
    RegularRequestIn,
    ReviewDetail,
    ReviewOut,
)
from services.registry.units.repository import find_writable
from shared import clock
from shared.errors import Problem, conflict
from shared.events import Event, record_event, record_events
from shared.principal import Principal


def _advance(review: Review, step: rules.Step) -> None:
    review.state = rules.next_state(review.state, step)
    review.version += 1


async def detail(session: AsyncSession, review: Review) -> ReviewDetail:
    meetings = await repository.meetings_of(session, review.id)
    return ReviewDetail(**ReviewOut.model_validate(review).model_dump(),
                        meetings=[MeetingOut.model_validate(m) for m in meetings],
                        assessed=await repository.assessed_count(session, review))


# ---- the annual review ----------------------------------------------------------------------------------
async def open_review(session: AsyncSession, principal: Principal, commune_code: str, hierarchy: str | None,
                      year: int, standards: Standards) -> Review:
    commune = await find_writable(session, principal, commune_code, hierarchy)
    if commune.level != "commune":
        raise Problem(422, "not_a_commune", "Not a commune", "An annual review belongs to a commune.",
                      field="commune_code")
    try:
        standards.standard_for(year)
    except NoStandardForYear as exc:
        raise Problem(422, "no_standard_for_year", "No poverty standard for this year", str(exc),
                      field="year") from exc
    code = commune.code  # read before a failed flush expires the objects
    review = Review(unit_path=commune.path, commune_code=code, year=year, state=rules.OPENED, version=1,
                    opened_by=principal.id)
    session.add(review)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise conflict("review_exists", f"The {year} review of commune {code} is already open.") from exc
    return review


async def close_assessments(session: AsyncSession, review: Review) -> None:
    """Every household currently poor or near-poor must be re-assessed (Decision 24/2021, art. 4)."""
    rules.next_state(review.state, rules.CLOSE_ASSESSMENTS)
    missing = await repository.unassessed_listed(session, review)
    if missing:
        raise conflict("assessments_missing", f"{len(missing)} poor or near-poor households have no {review.year} "
                       "assessment yet.", missing=len(missing),
                       household_ids=[str(h) for h in missing[:rules.MISSING_LISTED]])
    review.assessments_recorded_at = clock.now()
    _advance(review, rules.CLOSE_ASSESSMENTS)


async def add_meeting(session: AsyncSession, principal: Principal, review: Review, body: MeetingIn) -> Meeting:
    rules.next_state(review.state, rules.ADD_MEETING)
    rules.check_agreement(body.attendees, body.agreeing)
    meeting = Meeting(review_id=review.id, unit_path=review.unit_path, village=body.village, held_on=body.held_on,
                      attendees=body.attendees, agreeing=body.agreeing, minutes_ref=body.minutes_ref,
                      recorded_by=principal.id)
    session.add(meeting)
    if review.state != rules.ADD_MEETING.target:  # the first village's meeting moves the review
        _advance(review, rules.ADD_MEETING)
    await session.flush()
    return meeting


async def post_list(review: Review, body: PostingIn) -> None:
    rules.next_state(review.state, rules.POST_LIST)
    review.posted_from, review.posted_to, review.posting_places = body.posted_from, body.posted_to, body.places
    review.posted_at = clock.now()
    _advance(review, rules.POST_LIST)


async def decide(principal: Principal, review: Review, body: DecisionIn) -> None:
    rules.next_state(review.state, rules.DECIDE)
    rules.check_decision_after_posting(body.decision_date, review.posted_to)
    review.decision_number, review.decision_date, review.decision_signer = (
        body.decision_number, body.decision_date, body.signer)
    review.decided_at, review.decided_by = clock.now(), principal.id
    _advance(review, rules.DECIDE)


async def approve(session: AsyncSession, principal: Principal, review: Review) -> None:
    """Recognise the year's assessments, count the commune, lock the review, publish."""
    rules.next_state(review.state, rules.APPROVE)
    rows = await repository.households_to_recognise(session, review)
    pairs = [(h, a) for h, a in rows if a is not None]
    assert review.decision_date is not None
    transitions = await recognise(session, principal, pairs, unit_path=review.unit_path,
                                  commune_code=review.commune_code, year=review.year,
                                  decided_on=review.decision_date, source="annual", review_id=review.id)
    review.counts, review.members = rules.counts((h.status, h.member_count) for h, _ in rows)
    review.transitions = rules.transition_counts(transitions)
    review.approved_at, review.approved_by = clock.now(), principal.id
    _advance(review, rules.APPROVE)
    await session.flush()
    await record_event(session, events.review_approved(review))


# ---- recognition ---------------------------------------------------------------------------------------
async def recognise(session: AsyncSession, principal: Principal, pairs: list[tuple[Household, Assessment]], *,
                    unit_path: str, commune_code: str, year: int, decided_on: date, source: str,
                    review_id: UUID | None = None, regular_review_id: UUID | None = None) -> Counter[str]:
    """A decision makes assessments official. For each (household, assessment): the transition against
    the household's previous recognised status, its new status and version, a history entry, a
    `registry.household.assessed` event, and a certificate for households recognised poor or near-poor.
    Answers the count of households per transition code."""
    now = clock.now()
    transitions: Counter[str] = Counter()
    out: list[Event] = []
    holders: list[tuple[UUID, str]] = []
    for household, assessment in pairs:
        previous = household.status
        code = household_rules.transition(previous, assessment.status, household.ever_poor)
        transitions[code] += 1
        assessment.state, assessment.recognised_at = household_rules.RECOGNISED, now
        assessment.previous_status, assessment.transition = previous, code
        assessment.review_id, assessment.regular_review_id = review_id, regular_review_id
        assessment.member_count = household.member_count
        before = {"status": previous, "status_year": household.status_year}
        household.status, household.status_year = assessment.status, assessment.review_year
        household.ever_poor = household.ever_poor or assessment.status == household_rules.POOR
        household.version += 1
        household.updated_at = now
        households.add_history(session, principal, household, "recognised", before,
                               {"status": household.status, "status_year": household.status_year,
                                "transition": code, "assessment_id": str(assessment.id)})
        out.append(events.household_assessed(household, assessment, previous, code))
        if assessment.status in household_rules.RECOGNISED_STATUSES:
            holders.append((household.id, assessment.status))
    numbers = await repository.issue_certificates(
        session, unit_path=unit_path, commune_code=commune_code, year=year, issued_on=decided_on, source=source,
        holders=holders, review_id=review_id, regular_review_id=regular_review_id)
    for household, assessment in pairs:
        assessment.certificate_number = numbers.get(household.id)
    await session.flush()
    await record_events(session, out)
    return transitions


# ---- the regular review ----------------------------------------------------------------------------------
async def create_request(session: AsyncSession, principal: Principal, body: RegularRequestIn) -> RegularReview:
    """A household's request (form 04); the decision is due within 15 days."""
    household = await households.load(session, body.household_id, lock=True)
    today = clock.today()
    requested_on = body.requested_on or today
    rules.check_request_date(requested_on, today)
    pending = await repository.pending_request_of(session, household.id)
    if pending is not None:
        raise conflict("request_pending", "This household already has a pending request.",
                       regular_review_id=str(pending))
    item = RegularReview(household_id=household.id, unit_path=household.unit_path,
                         commune_code=household.commune_code, request=body.request, reason=body.reason,
                         requested_on=requested_on, deadline=rules.deadline_of(requested_on),
                         state=rules.PENDING, created_by=principal.id)
    session.add(item)
    await session.flush()
    await session.refresh(item)
    return item


async def decide_request(session: AsyncSession, principal: Principal, request_id: UUID,
                         body: RegularDecisionIn, standards: Standards) -> RegularReview:
    """The chairman's decision: classify the household on the data gathered (the standard of the
    decision's year), recognise the result, issue a certificate when poor or near-poor."""
    item = await repository.load_request(session, request_id, lock=True)
    rules.check_request_decidable(item.state)
    rules.check_decision_date(body.decided_on, item.requested_on, clock.today())
    household = await households.load(session, item.household_id, lock=True)
    year = body.decided_on.year
    result = classify_or_problem(standards, year, household.area, body.income_per_capita, body.deprived_indicators)
    assessment = Assessment(household_id=household.id, unit_path=household.unit_path, review_year=year,
                            kind=household_rules.REGULAR, state=household_rules.RECORDED, source="api",
                            created_by=principal.id, member_count=household.member_count)
    apply_classification(assessment, result, body.income_per_capita)
    session.add(assessment)
    await session.flush()
    await recognise(session, principal, [(household, assessment)], unit_path=household.unit_path,
                    commune_code=household.commune_code, year=year, decided_on=body.decided_on, source="regular",
                    regular_review_id=item.id)
    item.state, item.decided_on, item.decision_number = rules.DECIDED_REQUEST, body.decided_on, body.decision_number
    item.outcome_status, item.assessment_id = assessment.status, assessment.id
    item.certificate_number, item.decided_by = assessment.certificate_number, principal.id
    await session.flush()
    return item
