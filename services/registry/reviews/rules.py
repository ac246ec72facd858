"""The reviews' rules, pure: the annual review's state machine as data, the village meeting's
agreement, the decision's dates, the regular review's 15 days, certificate numbers and the counts an
approval stores.

Decision 24/2021/QĐ-TTg: a commune's annual review goes
opened → assessments_recorded → meetings_held → posted → decided → approved (locked);
a household may ask between reviews (form Mẫu số 04) and the chairman decides within 15 days.

No database, no `async`, no clock, no environment: "today" is an argument. Tested without a database
in tests/registry/test_reviews_rules.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from services.registry.households.rules import NOT_POOR, STATUSES, TRANSITIONS
from shared.errors import Problem, conflict

# ---- dates -------------------------------------------------------------------------------------------------
# The records kept here start with the 2016 standard; a date before 2000 is a typing error (0001-01-01),
# as is a meeting, a posting's start, a request or a decision dated in the future.
DATE_FLOOR = date(2000, 1, 1)
DATE_CEILING = date(2100, 12, 31)


def future_date_problem(value: date, today: date) -> str | None:
    return "must not be in the future" if value > today else None


# ---- the annual review ------------------------------------------------------------------------------------
OPENED, ASSESSMENTS_RECORDED, MEETINGS_HELD, POSTED, DECIDED, APPROVED = (
    "opened", "assessments_recorded", "meetings_held", "posted", "decided", "approved")
STATES = (OPENED, ASSESSMENTS_RECORDED, MEETINGS_HELD, POSTED, DECIDED, APPROVED)  # in order


@dataclass(frozen=True)
class Step:
    """One move of the annual review: the states it may start from and the state it leads to."""

    name: str
    sources: tuple[str, ...]
    target: str
    wording: str  # "Cannot <wording> a review in state ..."


CLOSE_ASSESSMENTS = Step("close_assessments", (OPENED,), ASSESSMENTS_RECORDED, "close the assessments of")
# A second village's meeting keeps the review in meetings_held.
ADD_MEETING = Step("add_meeting", (ASSESSMENTS_RECORDED, MEETINGS_HELD), MEETINGS_HELD,
                   "record a village meeting for")
POST_LIST = Step("post_list", (MEETINGS_HELD,), POSTED, "post the list of")
DECIDE = Step("decide", (POSTED,), DECIDED, "record the chairman's decision on")
APPROVE = Step("approve", (DECIDED,), APPROVED, "approve")
STEPS = {s.name: s for s in (CLOSE_ASSESSMENTS, ADD_MEETING, POST_LIST, DECIDE, APPROVE)}
# Every state and the states one step leads to: the machine as a table.
TRANSITIONS_FROM: dict[str, frozenset[str]] = {
    state: frozenset(s.target for s in STEPS.values() if state in s.sources) for state in STATES}


def next_state(state: str, step: Step) -> str:
    """The state `step` leads to from `state`; 409 `review_state` when the step cannot start there."""
    if state not in step.sources:
        raise conflict("review_state", f"Cannot {step.wording} a review in state '{state}' "
                       f"(needs {' or '.join(step.sources)}).", state=state, allowed=list(step.sources))
    return step.target


def may_record_assessments(review_state: str | None, year: int, review_id: str | None) -> None:
    """A household's annual assessment of `year` may be recorded until its commune's review of that
    year closes the assessment step (no review yet: open). 409 otherwise."""
    if review_state is None or review_state == OPENED:
        return
    if review_state == APPROVED:
        raise conflict("review_locked", f"The {year} review of this commune is approved and locked.",
                       review_id=review_id)
    raise conflict("review_step_passed", f"The {year} review of this commune has closed its assessments "
                   f"(state {review_state}).", review_id=review_id)


MIN_AGREEMENT = 0.5  # the village meeting must agree with the list by at least half its attendees


def check_agreement(attendees: int, agreeing: int) -> None:
    if agreeing * 2 < attendees:
        raise conflict("insufficient_agreement",
                       f"Only {agreeing} of {attendees} attendees agreed; the list needs at least 50 %.",
                       field="agreeing", share=round(agreeing / attendees, 4))


def check_decision_after_posting(decision_date: date, posted_to: date | None) -> None:
    if posted_to is not None and decision_date < posted_to:
        raise Problem(422, "decision_before_posting_ended", "Decision before the posting ended",
                      f"The list is posted until {posted_to}; the decision comes after.", field="decision_date")


MISSING_LISTED = 50  # households named in the answer when the assessment step cannot close


def counts(statuses: Iterable[tuple[str | None, int]]) -> tuple[dict[str, int], dict[str, int]]:
    """Households and persons per status from (recognised status, member count) pairs; a household
    never recognised is on no list: counted not poor."""
    households: Counter[str] = Counter()
    persons: Counter[str] = Counter()
    for status, members in statuses:
        households[status or NOT_POOR] += 1
        persons[status or NOT_POOR] += members
    return {s: households.get(s, 0) for s in STATUSES}, {s: persons.get(s, 0) for s in STATUSES}


def transition_counts(found: Counter[str]) -> dict[str, int]:
    return {code: found.get(code, 0) for code in TRANSITIONS}


# ---- the regular review ------------------------------------------------------------------------------------
DECISION_DAYS = 15  # the chairman decides within 15 days of the request
PENDING, DECIDED_REQUEST = "pending", "decided"
REQUEST_STATES = (PENDING, DECIDED_REQUEST)
REQUEST_TRANSITIONS = {PENDING: frozenset({DECIDED_REQUEST}), DECIDED_REQUEST: frozenset()}
REQUEST_KINDS = ("enter", "exit")  # be recognised poor or near-poor; leave the list


def deadline_of(requested_on: date) -> date:
    return requested_on + timedelta(days=DECISION_DAYS)


def is_overdue(state: str, deadline: date, as_of: date) -> bool:
    return state == PENDING and deadline < as_of


def check_request_date(requested_on: date, today: date) -> None:
    if requested_on > today:
        raise Problem(422, "validation_error", "Invalid request", "requested_on cannot be in the future",
                      field="requested_on")


def check_request_decidable(state: str) -> None:
    if DECIDED_REQUEST not in REQUEST_TRANSITIONS[state]:
        raise conflict("request_decided", "This request is already decided.")


def check_decision_date(decided_on: date, requested_on: date, today: date) -> None:
    if not requested_on <= decided_on <= today:
        raise Problem(422, "validation_error", "Invalid request",
                      "decided_on must be between the request date and today", field="decided_on")


# ---- certificates (form 03) -----------------------------------------------------------------------------
def certificate_number(year: int, commune_code: str, seq: int) -> str:
    """`GCN-<year>-<commune code>-<sequence, 5 digits>`: unique per commune and year, no gaps."""
    return f"GCN-{year}-{commune_code}-{seq:05d}"
