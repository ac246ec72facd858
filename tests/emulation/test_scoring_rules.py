"""Scoring rules, pure: criteria sets, points from value and target, rate reductions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.emulation.scoring import rules
from shared.errors import Problem

D = Decimal
AUTO = rules.Criterion("poor", "Giảm nghèo", "auto", "poor_rate_reduction", D(50))
MANUAL = rules.Criterion("lead", "Lãnh đạo", "manual", None, D(20))


def test_a_set_needs_known_sources_unique_codes_and_weights_of_100() -> None:
    good = [{"key": "poor", "name": "x", "kind": "auto", "source": "poor_rate_reduction", "weight": 80},
            {"key": "lead", "name": "y", "kind": "manual", "weight": "20"}]
    assert [c.weight for c in rules.parse_criteria(good)] == [D(80), D(20)]
    with pytest.raises(Problem) as caught:
        rules.parse_criteria([good[0] | {"weight": 70}, good[1]])
    assert caught.value.extra["errors"] == [{"field": "criteria", "reason": "the weights add up to 90, not 100"}]
    with pytest.raises(Problem) as caught:
        rules.parse_criteria([good[0] | {"source": "rainfall"}, good[1] | {"key": "poor"}])
    assert {e["field"] for e in caught.value.extra["errors"]} == {"criteria[0].source", "criteria[1].key"}


def test_points_follow_the_share_of_the_target() -> None:
    assert rules.points(AUTO, D("1.5"), D("2.0"), None) == D("37.50")
    assert rules.points(AUTO, D("3.0"), D("2.0"), None) == D(50)  # capped at the weight
    assert rules.points(AUTO, D("-0.5"), D("2.0"), None) == D(0)  # poverty rose: nothing
    assert rules.points(AUTO, None, D("2.0"), None) == D(0)  # not measured yet
    assert rules.points(AUTO, D("2.0"), None, None) == D(0)  # no target handed down
    assert rules.points(AUTO, D(0), D(0), None) == D(50)
    assert rules.points(AUTO, D(1), D(3), None) == D("16.67")
    assert rules.points(MANUAL, None, None, D(15)) == D(15)
    assert rules.points(MANUAL, None, None, D(25)) == D(20)
    assert rules.points(MANUAL, None, None, None) == D(0)


def test_rate_reduction_in_percentage_points() -> None:
    assert rules.rate_reduction((100, 1000), (80, 1000)) == D("2.0000")
    assert rules.rate_reduction((100, 1000), (90, 1100)) == D("1.8182")
    assert rules.rate_reduction(None, (80, 1000)) is None
    assert rules.rate_reduction((100, 0), (80, 1000)) is None
    assert rules.total([AUTO, MANUAL], {"poor_rate_reduction": D(1)}, {"poor_rate_reduction": D(2)},
                       {"lead": D(10)}) == D(35)


def test_measured_values_compare_the_communes_reviewed_in_both_years() -> None:
    c = rules.Counts
    facts = rules.Facts(reviews=((c(1000, 100, 80), c(1000, 70, 60)), (c(500, 50, 40), c(500, 45, 35)),
                                 (c(800, 80, 60), None),  # this year's review not approved: moves nothing
                                 (None, c(300, 90, 10))),  # no review last year: nothing to compare with
                        support_delivered=55_000_000, temporary_houses_removed=D("2.5"), fund_raised=7,
                        propaganda_sessions=4)
    assert rules.measured("poor_rate_reduction", facts) == D("2.3333")  # 150/1,500 → 115/1,500
    assert rules.measured("near_poor_rate_reduction", facts) == D("1.6667")  # 120/1,500 → 95/1,500
    assert rules.measured("households_escaping_poverty", facts) == D(35)
    assert [rules.measured(s, facts) for s in ("support_delivered", "temporary_houses_removed", "fund_raised",
                                               "propaganda_sessions")] == [D(55_000_000), D("2.5"), D(7), D(4)]
    alone = rules.Facts(reviews=((c(800, 80, 60), None),))
    assert [rules.measured(s, alone) for s in rules.REVIEW_SOURCES] == [None, None, None]  # not measured
    assert rules.measured("households_escaping_poverty", rules.Facts(reviews=((c(0, 0, 0), c(10, 1, 0)),))) is None
    assert rules.measured("support_delivered", rules.Facts()) == D(0)
    worse = rules.Facts(reviews=((c(1000, 50, 50), c(1000, 80, 40)),))  # poverty rose
    assert (rules.measured("poor_rate_reduction", worse), rules.measured("households_escaping_poverty", worse)) == (
        D("-3.0000"), D(-30))
