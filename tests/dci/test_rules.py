"""The DCI rules without a database: the query language, its evaluation, callbacks, back-off, names."""

from __future__ import annotations

import os
from datetime import date

import pytest

from services.registry.dci import rules
from services.registry.dci.rules import Rejected
from services.registry.personal_data import PersonalDataCipher


def test_expressions_become_one_condition_tree() -> None:
    cond = rules.parse_expression({"$and": [{"status": {"$in": ["VN-POOR", "near_poor"]}},
                                            {"commune_code": "07702"}, {"year": {"$gte": "2024", "$lt": 2026}},
                                            {"$not": {"ethnic_minority": "true"}}]})
    assert cond == {"op": "and", "args": [
        {"attr": "poverty_status", "cmp": "in", "value": ["poor", "near_poor"]},
        {"attr": "commune_code", "cmp": "eq", "value": "07702"},
        {"op": "and", "args": [{"attr": "review_year", "cmp": "ge", "value": 2024},
                               {"attr": "review_year", "cmp": "lt", "value": 2026}]},
        {"op": "not", "arg": {"attr": "ethnic_minority", "cmp": "eq", "value": True}}]}
    household = {"poverty_status": "poor", "commune_code": "07702", "review_year": 2025, "ethnic_minority": False}
    assert rules.evaluate(cond, household)
    assert not rules.evaluate(cond, household | {"review_year": 2026})
    assert not rules.evaluate(cond, household | {"ethnic_minority": True})
    assert not rules.evaluate(cond, household | {"poverty_status": None})
    assert rules.condition_from_json(rules.condition_json(cond)) == cond


def test_predicates_follow_seq_num_and_conditions() -> None:
    cond = rules.parse_predicates([
        {"seq_num": 2, "expression1": {"attribute_name": "group_size", "operator": "ge", "attribute_value": 4}},
        {"seq_num": 1, "expression1": {"attribute_name": "classification_date", "operator": "ge",
                                       "attribute_value": "2025-01-01"},
         "condition": "not",
         "expression2": {"attribute_name": "poverty_status", "operator": "eq", "attribute_value": "not_poor"}}])
    assert cond == {"op": "and", "args": [
        {"op": "and", "args": [{"attr": "classification_date", "cmp": "ge", "value": date(2025, 1, 1)},
                               {"op": "not", "arg": {"attr": "poverty_status", "cmp": "eq", "value": "not_poor"}}]},
        {"attr": "group_size", "cmp": "ge", "value": 4}]}


@pytest.mark.parametrize(("query", "reason"), [
    ({"salary": 1}, "unknown attribute"),
    ({"poverty_status": {"$gt": "poor"}}, "only be compared"),
    ({"poverty_status": "rich"}, "not a valid status"),
    ({"review_year": {"$regex": "20.*"}}, "unknown operator"),
    ({"review_year": "twenty"}, "not a valid int"),
    ({"classification_date": "yesterday"}, "not a valid date"),
    ({"$and": []}, "non-empty list"),
])
def test_bad_expressions_are_refused_with_the_reason(query: dict[str, object], reason: str) -> None:
    with pytest.raises(Rejected) as refused:
        rules.parse_expression(query)
    assert refused.value.code == "rjct.filter.invalid" and reason in refused.value.message


def test_identifier_queries() -> None:
    assert rules.parse_idtype({"type": "NationalID", "value": "0240 8800 1234"}) == \
        rules.IdQuery("citizen_id", "0240 8800 1234")
    assert rules.parse_idtype({"type": "ns:org:IdType:HouseholdCode", "value": 12}) == \
        rules.IdQuery("household_code", "12")
    with pytest.raises(Rejected):
        rules.parse_idtype({"type": "MOBILE", "value": "0912"})


def test_search_paging_and_sort() -> None:
    search = rules.parse_search({"query_type": "expression", "query": {"value": {"expression": {"query": {}}}},
                                 "pagination": {"page_size": 50, "page_number": 3},
                                 "sort": [{"attribute_name": "last_updated", "sort_order": "desc"}]})
    assert (search.query, search.page_size, search.page_number, search.sort) == (None, 50, 3, (("last_updated", True),))
    for paging in ({"page_size": 0}, {"page_size": 1001}, {"page_size": 10, "page_number": 0}, {"page_size": 1.5}):
        with pytest.raises(Rejected) as refused:
            rules.parse_search({"query_type": "expression", "query": {"status": "poor"}, "pagination": paging})
        assert refused.value.code == "rjct.pagination.invalid"
    with pytest.raises(Rejected) as refused:
        rules.parse_search({"query_type": "expression", "query": {"status": "poor"},
                            "sort": [{"attribute_name": "citizen_id"}]})
    assert refused.value.code == "rjct.sort.invalid"


def test_the_header_checks() -> None:
    header = {"version": "1.0.0", "message_id": "1", "message_ts": "2026-01-01T00:00:00Z", "action": "search",
              "sender_id": "a", "total_count": 1}
    body = {"header": header, "message": {"search_request": [{}]}}
    assert rules.check_header(body, "search", "search_request")[0] == header
    with pytest.raises(Rejected, match="ISO 8601"):
        rules.check_header({**body, "header": {**header, "message_ts": "2026-01-01T00:00:00"}}, "search",
                           "search_request")  # no zone
    with pytest.raises(Rejected) as refused:
        rules.check_header({**body, "message": {"search_request": [{}] * 1001}}, "search", "search_request")
    assert refused.value.code == "rjct.total_count.limit_exceeded"


def test_callbacks_only_below_a_registered_url() -> None:
    registered = ["https://spmis.example.org/dci", "http://10.1.2.7:8080/cb/"]
    allowed = ["https://spmis.example.org/dci", "https://spmis.example.org/dci/registry/on-search",
               "https://SPMIS.example.org/dci/x", "http://10.1.2.7:8080/cb/on-search"]
    refused = ["https://spmis.example.org/dcix", "http://spmis.example.org/dci", "https://spmis.example.org:444/dci",
               "https://spmis.example.org/dci/../admin", "https://spmis.example.org/dci/%2e%2e/admin",
               "https://evil.example/dci", "https://spmis.example.org/dci?x=1", "https://u:p@spmis.example.org/dci",
               "http://169.254.169.254/latest", "gopher://spmis.example.org/dci", None, 42]
    assert all(rules.callback_allowed(u, registered) for u in allowed)
    assert not any(rules.callback_allowed(u, registered) for u in refused)


def test_retries_double_up_to_the_cap() -> None:
    assert [rules.retry_delay(n, 2.0, 60.0) for n in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]


def test_vietnamese_names() -> None:
    assert rules.split_name("Nguyễn Thị Minh Khai") == {"@type": "Name", "surname": "Nguyễn",
                                                        "second_name": "Thị Minh", "given_name": "Khai"}
    assert rules.split_name("Lò") == {"@type": "Name", "surname": "Lò"}


def test_a_person_filter_keeps_the_hash_and_shows_the_masked_number() -> None:
    cipher, other = (PersonalDataCipher(os.urandom(32), os.urandom(32)) for _ in range(2))
    stored = rules.person_filter(cipher, "024100000001")
    assert rules.person_hash(stored) == cipher.hash("024100000001")
    assert "024100000001" not in str(stored)
    assert rules.person_citizen_id(stored, cipher) == "024100000001"  # for a change of keys only
    assert rules.person_citizen_id(stored, other) is None
    assert rules.condition_from_json(stored) is None  # matched by the person, not by a condition
    sent = {"filter_type": "idtype-value", "filter": {"type": "NationalID", "value": "024100000001"}}
    masked = {"type": "NationalID", "value": "0241******01"}
    assert rules.shown_filter(sent, stored) == {"filter_type": "idtype-value", "filter": masked}
    assert rules.person_hash({"attr": "commune_code", "cmp": "eq", "value": "07702"}) is None
    assert rules.shown_filter({"filter_type": "expression", "filter": {"village": "Thôn Đông"}}, None) \
        == {"filter_type": "expression"}
    assert rules.shown_filter({}, None) == {}
