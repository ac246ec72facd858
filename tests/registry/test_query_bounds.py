"""Query values no review or page can have are refused with 422 naming the parameter (they reached the
database as numbers it cannot hold and answered 500)."""

from __future__ import annotations

import httpx
import pytest

from tests.registry.households_helpers import commune_officer


@pytest.mark.parametrize(("path", "params", "field"), [
    ("/registry/reviews", {"year": 2199023255552}, "year"),
    ("/registry/certificates", {"year": 2893169491121357824}, "year"),
    ("/registry/regular-reviews", {"offset": 6136938818965449211904}, "offset"),
    ("/registry/households", {"offset": 2**63}, "offset"),
    ("/registry/standards", {"year": 10**12}, "year"),
])
async def test_out_of_range_query_values_are_refused_naming_the_parameter(
        household_client: httpx.AsyncClient, path: str, params: dict[str, int], field: str) -> None:
    response = await household_client.get(path, params=params, headers=commune_officer())
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]
    sane = await household_client.get(path, headers=commune_officer())
    assert sane.status_code == 200, sane.text
