"""The route table and the unit checks on their own: what a request names and whether the scope
covers it. (Through the gateway, with real services: test_scope_*.py.)"""

from __future__ import annotations

import pytest

from gateway.directory.service import UnitDirectory
from gateway.proxy.rules import (
    RouteTable,
    Rule,
    check_units,
    parse_json,
    query_pairs,
    unit_refusal,
    units_in_json,
    units_in_query,
)
from gateway.routes import RULES
from tests.gateway.support import units_for_tests
from tests.kit import make_principal


@pytest.fixture(scope="module")
def directory() -> UnitDirectory:
    d = UnitDirectory()
    d.put(units_for_tests())
    return d


def test_literal_segments_win_over_parameters() -> None:
    table = RouteTable(RULES)
    matched = table.match("GET", "/registry/regular-reviews/overdue")
    assert matched is not None and matched[0].template == "/registry/regular-reviews/overdue"
    matched = table.match("GET", "/registry/regular-reviews/0190e1f2")
    assert matched is not None and matched[1] == {"request_id": "0190e1f2"}


def test_head_follows_get_and_unknown_routes_do_not_match() -> None:
    table = RouteTable(RULES)
    assert table.match("HEAD", "/registry/units/07207") is not None
    assert table.match("DELETE", "/registry/units/07207") is None
    assert table.allows_path("/registry/units/07207")
    assert table.match("GET", "/registry/secret-admin") is None
    assert not table.allows_path("/registry/secret-admin")


def test_a_rule_must_classify_every_path_parameter() -> None:
    with pytest.raises(ValueError, match="household_id"):
        Rule("GET", "/registry/households/{household_id}", "registry.households.read")


def test_units_are_found_at_any_depth_in_json_including_duplicate_keys() -> None:
    body = parse_json(b'{"commune_code": "07207", "commune_code": "07888", '
                      b'"items": [{"unit": {"code": "1"}, "parent": ["213", "25"]}], '
                      b'"nested": {"hierarchy": "v2025", "unit_code": "07210"}}')
    found = sorted(units_in_json(body, None), key=str)
    assert ("07207", None) in found and ("07888", None) in found  # both copies of a duplicated key
    assert ("213", None) in found and ("25", None) in found
    assert ("07210", "v2025") in found  # the object's own hierarchy applies to it


def test_query_values_are_split_on_commas_and_repeated_keys_all_count() -> None:
    names, hierarchy = units_in_query(query_pairs(b"unit=07207&unit=07222,%2007888&hierarchy=v2008&year=2024"), ())
    assert names == ["07207", "07222", "07888"]
    assert hierarchy == "v2008"


def test_commune_officer_reaches_its_commune_only(directory: UnitDirectory) -> None:
    officer = make_principal("commune_officer", ["v2008.24.213.07207"])
    assert unit_refusal(directory, officer, "07207", None, False) is None
    for foreign in ("07222", "213", "07243", "24", "25", "07888"):
        refusal = unit_refusal(directory, officer, foreign, None, False)
        assert refusal is not None and refusal.status == 403 and refusal.code == "unit_out_of_scope"
        assert refusal.extra["unit"] == foreign


def test_ancestors_only_where_the_rule_allows_them(directory: UnitDirectory) -> None:
    officer = make_principal("commune_officer", ["v2008.24.213.07207"])
    assert unit_refusal(directory, officer, "213", None, True) is None
    assert unit_refusal(directory, officer, "24", None, True) is None
    assert unit_refusal(directory, officer, "07222", None, True) is not None  # a sibling is no ancestor
    assert unit_refusal(directory, officer, "25", None, True) is not None


def test_unknown_units_are_refused(directory: UnitDirectory) -> None:
    admin = make_principal("admin", ["v2008", "v2025"])
    refusal = unit_refusal(directory, admin, "99999", None, False)
    assert refusal is not None and refusal.code == "unknown_unit"


def test_a_code_reused_across_the_reform_is_resolved_per_hierarchy(directory: UnitDirectory) -> None:
    # 07210: Hoàng Văn Thụ ward before the reform, Bắc Giang ward after it.
    before = make_principal("commune_officer", ["v2008.24.213.07210"])
    assert unit_refusal(directory, before, "07210", None, False) is None
    assert unit_refusal(directory, before, "07210", "v2008", False) is None
    assert unit_refusal(directory, before, "07210", "v2025", False) is not None
    after = make_principal("province_officer", ["v2025.24"])
    assert unit_refusal(directory, after, "24", "v2008", False) is not None
    assert unit_refusal(directory, after, "07210", None, False) is None


def test_paths_are_accepted_as_names(directory: UnitDirectory) -> None:
    officer = make_principal("district_officer", ["v2008.24.213"])
    names = [("v2008.24.213.07222", None), ("v2008.24.215.07243", None)]
    refusal = check_units(directory, officer, names, False)
    assert refusal is not None and refusal.extra["unit"] == "v2008.24.215.07243"
