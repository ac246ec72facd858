"""The report rules without a database: periods and due dates, the workflow as data, what a report needs
to be submitted, numbers as Vietnamese documents write them, completeness rates."""

from __future__ import annotations

from datetime import date

import pytest

from services.reporting.completeness.rules import roll_up
from services.reporting.reports.document import date_text
from services.reporting.reports.numbers import vn_million, vn_value
from services.reporting.reports.rules import (
    REPORT_TYPES,
    TRANSITIONS,
    Content,
    merge,
    missing_for_submission,
    next_state,
    parent_of,
    period_of,
    place_of,
    refuse_future,
    valid_for,
)
from shared.errors import Problem


def test_periods_and_due_dates() -> None:
    annual = period_of(REPORT_TYPES["annual"], "2024")
    assert (annual.start, annual.end, annual.due_on) == (date(2024, 1, 1), date(2024, 12, 31), date(2024, 11, 20))
    february = period_of(REPORT_TYPES["monthly"], "2024-02")
    assert (february.end, february.due_on, february.expected) == (date(2024, 2, 29), date(2024, 3, 5), True)
    assert period_of(REPORT_TYPES["monthly"], "2024-10").expected is False  # reports are due February–September
    movement = {"name": "Chung tay vì người nghèo", "starts_on": "2017-10-01",
                "phases": [{"kind": "midterm_review", "held_on": "2019-03-15"}]}
    midterm = period_of(REPORT_TYPES["midterm"], "mv-1", movement)
    assert (midterm.start, midterm.end, midterm.due_on) == (date(2017, 10, 1), date(2019, 3, 15), date(2019, 3, 15))
    for kind, key, code in (("annual", "24", "invalid_period"), ("monthly", "2024-00", "invalid_period"),
                            ("final", "mv-1", "no_review_phase")):
        with pytest.raises(Problem) as refused:
            period_of(REPORT_TYPES[kind], key, movement)
        assert refused.value.code == code
    with pytest.raises(Problem) as future:
        refuse_future(period_of(REPORT_TYPES["annual"], "2031"), date(2030, 12, 31))
    assert future.value.code == "period_in_future"
    refuse_future(period_of(REPORT_TYPES["annual"], "2030"), date(2030, 1, 1))


def test_the_workflow_as_data() -> None:
    assert next_state("submit", "draft") == "submitted"
    assert next_state("return", "accepted") == "returned"
    assert next_state("edit", "returned") == "draft"
    for action, (allowed, _) in TRANSITIONS.items():
        for state in {"draft", "submitted", "returned", "accepted"} - allowed:
            with pytest.raises(Problem) as refused:
                next_state(action, state)
            assert refused.value.status == 409
    assert parent_of("v2008.24.213.07207") == "v2008.24.213" and parent_of("v2025.24.07210") == "v2025.24"
    assert parent_of("v2008.24") == "v2008"
    assert valid_for({"valid_from": None, "valid_to": date(2025, 6, 30)}, date(2024, 11, 20))
    assert not valid_for({"valid_from": date(2025, 7, 1), "valid_to": None}, date(2024, 11, 20))


def test_what_a_report_needs_before_it_is_submitted() -> None:
    kind = REPORT_TYPES["annual"]
    content = merge(Content(), {"number": "12/BC-UBND"}, {"III.1": "Ưu điểm", "III.2": "  "},
                    {"poverty.end.poor": {"value": 3, "reason": "QĐ bổ sung"}}, kind.sections, {"poverty.end.poor"})
    missing = {m["field"] for m in missing_for_submission(kind, content)}
    assert missing == {"narratives.III.2", "narratives.IV.1", "narratives.IV.2", "document.signer_name",
                       "document.signer_title"}
    removed = merge(content, None, {"III.1": None}, {"poverty.end.poor": None}, kind.sections, {"poverty.end.poor"})
    assert "III.1" not in removed.narratives and removed.overrides == {}
    with pytest.raises(Problem):
        merge(content, None, {"V.1": "x"}, None, kind.sections, set())


def test_numbers_and_dates_as_documents_write_them() -> None:
    assert vn_million(504_180_000) == "504,18" and vn_million(6_896_000_000) == "6.896,00"
    assert vn_million(81_155_000) == "81,16"  # half up
    assert vn_value(1405, "count") == "1.405" and vn_value("5410", "quantity") == "5.410"
    assert vn_value(5.75, "rate") == "5,75"
    assert date_text(date(2018, 6, 5)) == "ngày 05 tháng 6 năm 2018"
    assert date_text(date(2024, 2, 14)) == "ngày 14 tháng 02 năm 2024"
    assert place_of("Phường Ngô Quyền") == "Ngô Quyền" and place_of("Thành phố Bắc Giang") == "Bắc Giang"
    assert place_of("Thị trấn Cầu Gồ") == "Cầu Gồ" and place_of("Bắc Giang") == "Bắc Giang"


def test_completeness_rates_roll_up() -> None:
    rows = [{"child": "213", "level": "commune", "expected": 3, "submitted": 2, "on_time": 1, "accepted": 1,
             "returned": 1, "awaiting": 0, "drafts": 1, "overdue": 1},
            {"child": "213", "level": "district", "expected": 1, "submitted": 0, "on_time": 0, "accepted": 0,
             "returned": 0, "awaiting": 0, "drafts": 0, "overdue": 1}]
    rollup = roll_up(rows)
    total = rollup.total.as_dict()
    assert (total["expected"], total["missing"], total["late"]) == (4, 2, 1)
    assert (total["completeness_rate"], total["timeliness_rate"]) == (50.0, 25.0)
    assert rollup.by_level["commune"].as_dict()["completeness_rate"] == 66.67
    assert roll_up([]).total.as_dict()["completeness_rate"] is None
