"""The pure rules of programmes, deliveries and body activities, without a database: eligibility,
dated standards, the money adding up, the dates, million VND, an activity's kind and measures."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.support.activities import rules as activities
from services.support.catalogue.rules import Programme, Transition, eligibility_refusal, standard_on
from services.support.catalogue.service import read_file
from services.support.deliveries.rules import Lines, funding_problems, million_vnd, problems

CATALOGUE = read_file()


def programme(code: str) -> Programme:
    raw = next(p for p in CATALOGUE["programmes"] if p["code"] == code)
    return Programme.of(code, raw["name"], {k: v for k, v in raw.items() if k not in ("code", "name")})


def test_housing_amounts_are_dated_configuration() -> None:
    new, repair = programme("housing_new"), programme("housing_repair")
    assert standard_on(new, "per_house", date(2024, 12, 31)) == 40_000_000
    assert standard_on(new, "per_house", date(2025, 1, 1)) == 60_000_000
    assert standard_on(repair, "per_house", date(2023, 6, 1)) == 20_000_000
    assert standard_on(repair, "per_house", date(2025, 6, 1)) == 30_000_000
    assert standard_on(programme("electricity"), "kwh_per_month", date(2024, 1, 1)) == 30


def test_eligibility_by_status_and_by_a_recent_escape() -> None:
    credit = programme("nhcsxh_credit")  # poor, near-poor, escaped within 3 years
    assert eligibility_refusal(credit, "poor", [], date(2025, 1, 1)) is None
    escaped = [Transition(2022, "middle_income", "escaped_poverty")]
    assert eligibility_refusal(credit, "middle_income", escaped, date(2025, 1, 1)) is None
    refusal = eligibility_refusal(credit, "middle_income", escaped, date(2026, 1, 1))
    assert refusal is not None and "escaped within 3 years" in refusal and "middle_income" in refusal
    assert eligibility_refusal(programme("bhyt_poor"), None, [], date(2025, 1, 1)) is not None
    assert eligibility_refusal(programme("tet_gifts"), None, [], date(2025, 1, 1)) is None


def _lines(**changes: object) -> Lines:
    base = {"programme": "housing_repair", "delivered_on": date(2024, 5, 1), "period_from": None,
            "quantities": [("house", Decimal(1))], "amount_vnd": 20_000_000,
            "funding": [("vnn_fund_district", 12_000_000), ("hlhpn_mai_am", 8_000_000)], "body": "hlhpn",
            "households": 1, "persons": None, "turns": None}
    return Lines(**{**base, **changes})  # type: ignore[arg-type]


def test_a_delivery_s_lines_are_checked_field_by_field() -> None:
    sources = {"vnn_fund_district": True, "hlhpn_mai_am": True}
    today = date(2024, 6, 1)
    housing = programme("housing_repair")
    assert problems(_lines(), housing, sources, True, today) == []
    fields = {p["field"] for p in problems(_lines(delivered_on=date(2024, 6, 2), quantities=[("kg", Decimal(5))],
                                                  amount_vnd=1), housing, sources, False, today)}
    assert fields == {"delivered_on", "quantities.0.measure", "funding", "body"}
    late = problems(_lines(delivered_on=date(2020, 1, 1), quantities=[("set", Decimal(1))]), programme("information"),
                    sources, True, today)
    assert [p["field"] for p in late] == ["delivered_on"] and "outside programme" in late[0]["reason"]


def test_funding_parts_must_add_up_to_the_amount_and_name_known_sources() -> None:
    assert funding_problems(10, [("a", 4), ("b", 6)], {"a": True, "b": True}) == []
    [short] = funding_problems(10, [("a", 4)], {"a": True})
    assert short["reason"] == "the parts add up to 4 VND, not the amount 10 VND"
    assert funding_problems(10, [], {})[0]["field"] == "funding"
    assert funding_problems(0, [], {}) == []
    assert [p["field"] for p in funding_problems(10, [("a", 5), ("a", 5)], {"a": True})] == ["funding.1.source"]


def test_money_in_million_vnd_with_two_decimals() -> None:
    assert million_vnd(504_180_000) == "504.18"
    assert million_vnd(4_756_250_000) == "4756.25"
    assert million_vnd(5_000) == "0.01" and million_vnd(4_999) == "0.00"


def test_an_activity_counts_only_its_kinds_measures_each_once_and_not_in_the_future() -> None:
    today = date(2024, 7, 1)
    training = ["session", "person"]
    one = Decimal(1)
    assert activities.problems("training", training, "hlhpn", True, today, [("session", one), ("person", one)],
                               today) == []
    wrong = activities.problems("training", training, "hlhpn", True, date(2024, 7, 2),
                                [("session", one), ("kg", one), ("session", one)], today)
    assert wrong == [{"field": "period_to", "reason": "in the future"},
                     {"field": "measures.1.measure", "reason": "training counts session, person, not kg"},
                     {"field": "measures.2.measure", "reason": "session is given twice"}]
    money = activities.problems("scrap_collection", ["group", "vnd"], "hlhpn", True, today,
                                [("vnd", Decimal("250.4")), ("group", Decimal(251))], today)
    assert [e["field"] for e in money] == ["measures.0.quantity"] and "whole VND" in money[0]["reason"]
    unknown = activities.problems("karaoke", None, "nobody", False, today, [("session", one)], today)
    assert [e["field"] for e in unknown] == ["kind", "body"]
    assert activities.void_refusal("recorded") is None and activities.void_refusal("voided") == "is already voided"
