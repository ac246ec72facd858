"""The route table and the unit checks on their own: what a request names and whether the scope
covers it. (Through the gateway, with real services: test_scope_*.py.)"""

from __future__ import annotations

import json

import pytest

from gateway.directory.service import UnitDirectory
from gateway.openapi.rules import route_table
from gateway.proxy.rules import (
    Refusal,
    RouteTable,
    Rule,
    check_units,
    parse_json,
    query_pairs,
    unit_refusal,
    units_in_json,
    units_in_query,
)
from tests.gateway.support import echo_openapi, units_for_tests
from tests.kit import make_principal


@pytest.fixture(scope="module")
def table() -> RouteTable:
    """The registry's routes as the registry declares them."""
    routes, skipped = route_table("registry", json.loads(echo_openapi()))
    assert len(routes) > 30 and all("outside /registry/" in reason for reason in skipped)
    return routes


@pytest.fixture(scope="module")
def directory() -> UnitDirectory:
    d = UnitDirectory()
    d.put(units_for_tests())
    return d


def test_literal_segments_win_over_parameters(table: RouteTable) -> None:
    matched = table.match("GET", "/registry/regular-reviews/overdue")
    assert matched is not None and matched[0].template == "/registry/regular-reviews/overdue"
    matched = table.match("GET", "/registry/regular-reviews/0190e1f2")
    assert matched is not None and matched[1] == {"request_id": "0190e1f2"}


def test_head_follows_get_and_unknown_routes_do_not_match(table: RouteTable) -> None:
    assert table.match("HEAD", "/registry/units/07207") is not None
    assert table.match("DELETE", "/registry/units/07207") is None
    assert table.allowed_methods("/registry/units/07207") == ["GET", "HEAD"]
    assert table.allowed_methods("/registry/households/0190e1f2") == ["DELETE", "GET", "HEAD", "PATCH"]
    assert table.match("GET", "/registry/secret-admin") is None
    assert table.allowed_methods("/registry/secret-admin") == []


def test_path_parameters_not_declared_as_units_are_ids() -> None:
    rule = Rule("GET", "/registry/units/{code}/things/{thing_id}", "registry.units.read", unit_params=("code",))
    assert rule.id_params == ("thing_id",)
    with pytest.raises(ValueError, match="household"):
        Rule("GET", "/registry/households/{household_id}", "registry.households.read", unit_params=("household",))


def test_only_declared_operations_under_the_services_prefix_become_rules() -> None:
    declared = {"permission": "support.read", "unit_params": [], "query_units": [], "ancestors_ok": False,
                "upload": False, "timeout": None, "id_params": []}
    document = {"paths": {
        "/support/things": {"get": {"x-gateway": declared}, "post": {"summary": "no declaration"}},
        "/registry/households": {"get": {"x-gateway": declared}},  # another service's prefix
        "/support/broken/{code}": {"get": {"x-gateway": {**declared, "unit_params": ["unit"]}}},
    }}
    table, skipped = route_table("support", document)
    assert [(r.method, r.template, r.permission) for r in table.rules] == [("GET", "/support/things", "support.read")]
    assert table.match("POST", "/support/things") is None
    assert len(skipped) == 2


def test_units_are_found_at_any_depth_in_json_including_duplicate_keys() -> None:
    body = parse_json(b'{"commune_code": "07207", "commune_code": "07888", '
                      b'"items": [{"unit": {"code": "1"}, "parent": ["213", "25"]}], '
                      b'"nested": {"hierarchy": "v2025", "unit_code": "07210"}}')
    found = sorted(units_in_json(body, None), key=str)
    assert ("07207", None) in found and ("07888", None) in found  # both copies of a duplicated key
    assert ("213", None) in found and ("25", None) in found
    assert ("07210", "v2025") in found  # the object's own hierarchy applies to it


def test_query_values_are_split_on_commas_and_repeated_list_keys_all_count() -> None:
    names, hierarchy = units_in_query(query_pairs(b"units=07207&units=07222,%2007888&hierarchy=v2008&year=2024"), ())
    assert names == ["07207", "07222", "07888"]
    assert hierarchy == "v2008"
    names, _ = units_in_query(query_pairs(b"unit=07207&unit=07207"), ())  # the same value twice says one thing
    assert names == ["07207", "07207"]


@pytest.mark.parametrize("query", [b"unit=07207&unit=07222", b"commune_code=07207&x=1&commune_code=07888",
                                   b"unit=07207&hierarchy=v2008&hierarchy=v2025", b"code=24&code=25"])
def test_a_single_valued_unit_field_given_twice_differently_is_ambiguous(query: bytes) -> None:
    # The service reads one of the values (the last), the gateway would have to guess which.
    with pytest.raises(Refusal) as refused:
        units_in_query(query_pairs(query), ("code",))
    assert refused.value.status == 400 and refused.value.code == "ambiguous_request"


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
