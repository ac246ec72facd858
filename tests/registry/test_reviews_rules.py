"""The reviews' rules without a database: the annual review's state machine, the meeting's agreement,
the decision's dates, the regular review's 15 days, certificate numbers and the approval's counts."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from services.registry.reviews import rules
from shared.errors import Problem


def _code(call: object, *args: object) -> str | None:
    try:
        call(*args)  # type: ignore[operator]
    except Problem as exc:
        return exc.code
    return None


def test_the_annual_review_moves_through_its_steps_in_order_and_only_in_order() -> None:
    path = [rules.CLOSE_ASSESSMENTS, rules.ADD_MEETING, rules.ADD_MEETING, rules.POST_LIST, rules.DECIDE, rules.APPROVE]
    state = rules.OPENED
    seen = [state]
    for step in path:
        state = rules.next_state(state, step)
        seen.append(state)
    assert seen == ["opened", "assessments_recorded", "meetings_held", "meetings_held", "posted", "decided",
                    "approved"]
    # Every step refused from every state it does not start from, with the states it needs.
    for step in rules.STEPS.values():
        for state in rules.STATES:
            if state in step.sources:
                assert rules.next_state(state, step) == step.target
                continue
            with pytest.raises(Problem) as refused:
                rules.next_state(state, step)
            assert refused.value.status == 409 and refused.value.code == "review_state"
            assert refused.value.extra["allowed"] == list(step.sources) and refused.value.extra["state"] == state


def test_the_machine_as_a_table_ends_in_approved_and_never_goes_back() -> None:
    assert {
        "opened": {"assessments_recorded"}, "assessments_recorded": {"meetings_held"},
        "meetings_held": {"meetings_held", "posted"}, "posted": {"decided"}, "decided": {"approved"},
        "approved": set()} == rules.TRANSITIONS_FROM
    order = {state: i for i, state in enumerate(rules.STATES)}
    assert all(order[target] >= order[source] for source, targets in rules.TRANSITIONS_FROM.items()
               for target in targets)


def test_assessments_may_be_recorded_until_the_review_closes_that_step() -> None:
    assert _code(rules.may_record_assessments, None, 2024, None) is None
    assert _code(rules.may_record_assessments, "opened", 2024, "r") is None
    for state in ("assessments_recorded", "meetings_held", "posted", "decided"):
        assert _code(rules.may_record_assessments, state, 2024, "r") == "review_step_passed"
    assert _code(rules.may_record_assessments, "approved", 2024, "r") == "review_locked"


def test_a_meeting_needs_half_its_attendees_agreeing() -> None:
    assert _code(rules.check_agreement, 40, 20) is None  # exactly 50 %
    assert _code(rules.check_agreement, 41, 20) == "insufficient_agreement"
    assert _code(rules.check_agreement, 1, 1) is None


def test_the_decision_comes_after_the_posting_ends() -> None:
    assert _code(rules.check_decision_after_posting, date(2025, 10, 9), date(2025, 10, 9)) is None
    assert _code(rules.check_decision_after_posting, date(2025, 10, 8), date(2025, 10, 9)) == \
        "decision_before_posting_ended"
    assert _code(rules.check_decision_after_posting, date(2025, 1, 1), None) is None


def test_the_approval_counts_every_household_and_person_per_status() -> None:
    households, persons = rules.counts([("poor", 4), ("near_poor", 3), (None, 5), ("poor", 2), ("not_poor", 1)])
    assert households == {"poor": 2, "near_poor": 1, "middle_income": 0, "not_poor": 2}
    assert persons == {"poor": 6, "near_poor": 3, "middle_income": 0, "not_poor": 6}
    assert rules.transition_counts(Counter({"newly_poor": 2})) == {
        "newly_poor": 2, "re_poor": 0, "escaped_poverty": 0, "escaped_near_poverty": 0, "became_near_poor": 0,
        "stayed": 0}


def test_a_regular_request_is_due_on_the_15th_day_and_overdue_on_the_16th() -> None:
    asked = date(2025, 3, 1)
    assert rules.deadline_of(asked) == date(2025, 3, 16)
    assert not rules.is_overdue("pending", rules.deadline_of(asked), date(2025, 3, 16))
    assert rules.is_overdue("pending", rules.deadline_of(asked), date(2025, 3, 17))
    assert not rules.is_overdue("decided", rules.deadline_of(asked), date(2025, 3, 17))


def test_a_regular_request_is_decided_once_between_its_date_and_today() -> None:
    assert {"pending": {"decided"}, "decided": set()} == rules.REQUEST_TRANSITIONS
    assert _code(rules.check_request_decidable, "pending") is None
    assert _code(rules.check_request_decidable, "decided") == "request_decided"
    today = date(2025, 3, 20)
    assert _code(rules.check_request_date, today, today) is None
    assert _code(rules.check_request_date, date(2025, 3, 21), today) == "validation_error"
    assert _code(rules.check_decision_date, date(2025, 3, 1), date(2025, 3, 1), today) is None
    assert _code(rules.check_decision_date, today, date(2025, 3, 1), today) is None
    assert _code(rules.check_decision_date, date(2025, 2, 28), date(2025, 3, 1), today) == "validation_error"
    assert _code(rules.check_decision_date, date(2025, 3, 21), date(2025, 3, 1), today) == "validation_error"


def test_certificate_numbers_read_year_commune_and_a_five_digit_sequence() -> None:
    assert rules.certificate_number(2024, "07702", 7) == "GCN-2024-07702-00007"
