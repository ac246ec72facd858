"""A request the gateway and the service could read differently is refused (400) and never forwarded:
the gateway checks the units of the body it reads, so the service must read that same body.

Found by a probe (issue 16): with two Content-Type headers, JSON then form, the gateway read a form
(no unit in it) and forwarded, while the service read the JSON and its foreign unit."""

from __future__ import annotations

import httpx
import pytest

from tests.gateway.conftest import GatewayUnderTest
from tests.gateway.support import NGO_QUYEN, OTHER_PROVINCE

FOREIGN_JSON = b'{"commune_code": "07888", "household_code": "HK-1"}'  # 07888: a commune of another province
LENGTH = str(len(FOREIGN_JSON))
JSON, FORM = ("content-type", "application/json"), ("content-type", "application/x-www-form-urlencoded")


async def _post(gw: GatewayUnderTest, headers: list[tuple[str, str]], body: bytes,
                path: str = "/registry/households") -> httpx.Response:
    bearer = ("authorization", f"Bearer {await gw.token('commune.07207')}")
    return await gw.client.post(path, headers=[bearer, *headers], content=body)


def _ambiguous(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "ambiguous_request"
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("types", [[JSON, FORM], [FORM, JSON], [JSON, JSON]])
async def test_several_content_types_are_refused(gw: GatewayUnderTest, types: list[tuple[str, str]]) -> None:
    _ambiguous(await _post(gw, types, FOREIGN_JSON))
    assert gw.echo.seen == []


@pytest.mark.parametrize("framing", [
    [("content-length", LENGTH), ("content-length", LENGTH)],  # several lengths, even equal ones
    [("content-length", "+" + LENGTH)],  # not a plain number: parsers disagree on it
    [("content-length", f"{LENGTH}, {LENGTH}")],
    [("transfer-encoding", "gzip, chunked")],  # anything but exactly `chunked`
    [("transfer-encoding", "chunked"), ("transfer-encoding", "chunked")],
    [("transfer-encoding", "chunked"), ("content-length", LENGTH)],  # both: which one ends the body?
])
async def test_ambiguous_body_framing_is_refused(gw: GatewayUnderTest, framing: list[tuple[str, str]]) -> None:
    _ambiguous(await _post(gw, [JSON, *framing], FOREIGN_JSON))
    assert gw.echo.seen == []


@pytest.mark.parametrize("body", [b"commune_code=%zz", b"commune_code=%0", b"commune_code=%C3%28",
                                  "commune_code=Ngô".encode(), b"commune_code=07207\n"])
async def test_a_form_the_gateway_cannot_read_is_refused(gw: GatewayUnderTest, body: bytes) -> None:
    response = await _post(gw, [FORM], body, path="/registry/classify")
    assert response.status_code == 400 and response.json()["code"] == "invalid_form", response.text
    assert gw.echo.seen == []


async def test_a_well_formed_form_and_json_still_go_through(gw: GatewayUnderTest) -> None:
    form = await _post(gw, [FORM], f"commune_code={NGO_QUYEN}&note=a%20b+c".encode(), path="/registry/classify")
    assert form.status_code == 200, form.text
    sized = await _post(gw, [JSON, ("content-length", "36")], b'{"commune_code": "07207", "x": "yz"}')
    assert sized.status_code == 200, sized.text
    assert len(gw.echo.seen) == 2


async def test_a_unit_in_both_query_and_body_is_checked_in_both(gw: GatewayUnderTest) -> None:
    """The service reads the query parameter from the query and the body field from the body: the
    gateway checks each where it is, so neither can carry a foreign unit past it."""
    bearer = await gw.headers("commune.07207")
    for query, body in ((NGO_QUYEN, OTHER_PROVINCE), (OTHER_PROVINCE, NGO_QUYEN)):
        response = await gw.client.post("/registry/reviews", params={"commune_code": query}, headers=bearer,
                                        json={"commune_code": body, "year": 2025})
        assert response.status_code == 403 and response.json()["unit"] == OTHER_PROVINCE
    assert gw.echo.seen == []
