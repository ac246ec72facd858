"""The annual review's state machine (Decision 24/2021/QĐ-TTg):

opened → assessments_recorded → meetings_held → posted → decided → approved (locked).

Each step checks the state it starts from and the facts it needs; a refused step changes nothing.
Approval recognises every annual assessment of the commune and year (transitions, statuses,
certificates, events) and stores the commune's counts.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry import events
from services.registry.classification.classifier import NoStandardForYear, Standards
from services.registry.households.models import Assessment, Household
from services.registry.households.transitions import TRANSITIONS
from services.registry.reviews.models import Meeting, Review
from services.registry.reviews.recognition import recognise
from services.registry.reviews.schemas import DecisionIn, MeetingIn, PostingIn
from services.registry.units.models import Unit
from shared.db import load_by_id
from shared.errors import Problem, conflict
from shared.events import record_event
from shared.principal import Principal

MISSING_LISTED = 50
STATUS_ORDER = ("poor", "near_poor", "middle_income", "not_poor")


def _step_refused(review: Review, step: str, allowed: tuple[str, ...]) -> Problem:
    return conflict("review_state", f"Cannot {step} a review in state '{review.state}' "
                    f"(needs {' or '.join(allowed)}).", state=review.state, allowed=list(allowed))


def _advance(review: Review, state: str) -> None:
    review.state = state
    review.version += 1


async def load(session: AsyncSession, review_id: UUID, *, lock: bool = False) -> Review:
    return await load_by_id(session, Review, review_id, "review", lock=lock)


async def open_review(session: AsyncSession, principal: Principal, commune: Unit, year: int,
                      standards: Standards) -> Review:
    if commune.level != "commune":
        raise Problem(422, "not_a_commune", "Not a commune", "An annual review belongs to a commune.",
                      field="commune_code")
    try:
        standards.standard_for(year)
    except NoStandardForYear as exc:
        raise Problem(422, "no_standard_for_year", "No poverty standard for this year", str(exc),
                      field="year") from exc
    code = commune.code  # read before a failed flush expires the objects
    review = Review(unit_path=commune.path, commune_code=code, year=year, state="opened", version=1,
                    opened_by=principal.id)
    session.add(review)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise conflict("review_exists", f"The {year} review of commune {code} is already open.") from exc
    return review


async def assessed_count(session: AsyncSession, review: Review) -> int:
    return await session.scalar(select(func.count()).select_from(Assessment).where(
        Assessment.unit_path == review.unit_path, Assessment.review_year == review.year,
        Assessment.kind == "annual")) or 0


async def close_assessments(session: AsyncSession, review: Review) -> None:
    """Every household currently poor or near-poor must be re-assessed (Decision 24/2021, art. 4)."""
    if review.state != "opened":
        raise _step_refused(review, "close the assessments of", ("opened",))
    assessed = select(Assessment.household_id).where(
        Assessment.kind == "annual", Assessment.review_year == review.year, Assessment.unit_path == review.unit_path)
    missing = (await session.scalars(select(Household.id).where(
        Household.unit_path == review.unit_path, Household.removed_at.is_(None),
        Household.status.in_(("poor", "near_poor")), Household.id.not_in(assessed))
        .order_by(Household.household_code))).all()
    if missing:
        raise conflict("assessments_missing", f"{len(missing)} poor or near-poor households have no {review.year} "
                       "assessment yet.", missing=len(missing),
                       household_ids=[str(h) for h in missing[:MISSING_LISTED]])
    review.assessments_recorded_at = datetime.now(UTC)
    _advance(review, "assessments_recorded")


async def add_meeting(session: AsyncSession, principal: Principal, review: Review, body: MeetingIn) -> Meeting:
    if review.state not in ("assessments_recorded", "meetings_held"):
        raise _step_refused(review, "record a village meeting for", ("assessments_recorded", "meetings_held"))
    if body.agreeing * 2 < body.attendees:
        raise conflict("insufficient_agreement",
                       f"Only {body.agreeing} of {body.attendees} attendees agreed; the list needs at least 50 %.",
                       field="agreeing", share=round(body.agreeing / body.attendees, 4))
    meeting = Meeting(review_id=review.id, unit_path=review.unit_path, village=body.village, held_on=body.held_on,
                      attendees=body.attendees, agreeing=body.agreeing, minutes_ref=body.minutes_ref,
                      recorded_by=principal.id)
    session.add(meeting)
    if review.state != "meetings_held":
        _advance(review, "meetings_held")
    await session.flush()
    return meeting


async def post_list(review: Review, body: PostingIn) -> None:
    if review.state != "meetings_held":
        raise _step_refused(review, "post the list of", ("meetings_held",))
    review.posted_from, review.posted_to, review.posting_places = body.posted_from, body.posted_to, body.places
    review.posted_at = datetime.now(UTC)
    _advance(review, "posted")


async def decide(principal: Principal, review: Review, body: DecisionIn) -> None:
    if review.state != "posted":
        raise _step_refused(review, "record the chairman's decision on", ("posted",))
    if review.posted_to is not None and body.decision_date < review.posted_to:
        raise Problem(422, "decision_before_posting_ended", "Decision before the posting ended",
                      f"The list is posted until {review.posted_to}; the decision comes after.",
                      field="decision_date")
    review.decision_number, review.decision_date, review.decision_signer = (
        body.decision_number, body.decision_date, body.signer)
    review.decided_at, review.decided_by = datetime.now(UTC), principal.id
    _advance(review, "decided")


async def approve(session: AsyncSession, principal: Principal, review: Review) -> None:
    """Recognise the year's assessments, count the commune, lock the review, publish."""
    if review.state != "decided":
        raise _step_refused(review, "approve", ("decided",))
    rows = (await session.execute(
        select(Household, Assessment).outerjoin(Assessment, (Assessment.household_id == Household.id)
                                                & (Assessment.kind == "annual")
                                                & (Assessment.review_year == review.year))
        .where(Household.unit_path == review.unit_path, Household.removed_at.is_(None))
        .order_by(Household.household_code).with_for_update(of=Household))).all()
    pairs = [(h, a) for h, a in rows if a is not None]
    assert review.decision_date is not None
    transitions = await recognise(session, principal, pairs, unit_path=review.unit_path,
                                  commune_code=review.commune_code, year=review.year,
                                  decided_on=review.decision_date, source="annual", review_id=review.id)
    households: Counter[str] = Counter()
    persons: Counter[str] = Counter()
    for household, _ in rows:
        status = household.status or "not_poor"  # never recognised: not on any list
        households[status] += 1
        persons[status] += household.member_count
    review.counts = {s: households.get(s, 0) for s in STATUS_ORDER}
    review.members = {s: persons.get(s, 0) for s in STATUS_ORDER}
    review.transitions = {code: transitions.get(code, 0) for code in TRANSITIONS}
    review.approved_at, review.approved_by = datetime.now(UTC), principal.id
    _advance(review, "approved")
    await session.flush()
    await record_event(session, events.review_approved(review))

