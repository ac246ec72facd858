"""A service's OpenAPI document tells the truth about its error answers (problem+json, shared/openapi.py),
and a 405 names the allowed methods (RFC 9110)."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Header

from services.support.settings import SupportSettings
from shared.app import ServiceSpec, create_service_app
from shared.crypto import generate_key
from shared.http import require
from shared.idempotency import IdempotencyKey
from shared.openapi import COMMON_PROBLEMS, PROBLEM_MEDIA_TYPE, PROBLEM_REF, problems
from shared.principal import Principal
from shared.route_rules import EXTENSION, api_routes
from shared.services import SERVICES
from tests.kit import PUBLIC_KEY, auth_headers, make_principal, service_env

Reader = Annotated[Principal, Depends(require("support.read"))]
Writer = Annotated[Principal, Depends(require("support.write"))]


def _app() -> FastAPI:
    router = APIRouter(prefix="/support/things")

    @router.get("/{thing_id}", responses=problems(404))
    async def read(thing_id: int, _: Reader) -> dict[str, int]:
        return {"id": thing_id}

    @router.patch("/{thing_id}", responses={**problems(404, 412, 428), 409: {"description": "Name already used"}})
    async def change(thing_id: int, body: dict[str, str], _: Writer) -> dict[str, int]:
        return {"id": thing_id}

    @router.get("/{thing_id}/parts")  # declares no answer of its own
    async def parts(thing_id: int, _: Reader) -> list[int]:
        return []

    @router.delete("/{thing_id}/parts/{part}")
    async def drop_part(thing_id: int, part: int, _: Writer,
                        if_match: Annotated[str | None, Header()] = None) -> dict[str, int]:
        return {}

    @router.post("/", status_code=201)  # a create taking an Idempotency-Key
    async def create(body: dict[str, str], _: Writer, key: IdempotencyKey = None) -> dict[str, int]:
        return {"id": 1}

    @router.get("/", include_in_schema=False)
    async def hidden() -> dict[str, str]:
        return {}

    return create_service_app(ServiceSpec(name="support", settings=SupportSettings(principal_public_key=PUBLIC_KEY),
                                          routers=[router]))


def _problem_content(response: dict[str, Any]) -> dict[str, Any]:
    assert set(response["content"]) == {PROBLEM_MEDIA_TYPE}, response
    return response["content"][PROBLEM_MEDIA_TYPE]["schema"]


def test_every_operation_documents_the_common_problems_and_its_own() -> None:
    document = _app().openapi()
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "code"}
    # An error item names a field, or a file's row and column: only the reason is always there.
    assert problem["properties"]["errors"]["items"]["required"] == ["reason"]
    assert "HTTPValidationError" not in document["components"]["schemas"]  # FastAPI's 422 body is not ours
    read = document["paths"]["/support/things/{thing_id}"]["get"]["responses"]
    change = document["paths"]["/support/things/{thing_id}"]["patch"]["responses"]
    assert set(read) == {"200", "404", *map(str, COMMON_PROBLEMS)}
    assert set(change) == {"200", "404", "409", "412", "428", *map(str, COMMON_PROBLEMS)}
    for responses in (read, change):
        for status, response in responses.items():
            if int(status) >= 400:
                assert _problem_content(response) == {"$ref": PROBLEM_REF}
    assert change["409"]["description"] == "Name already used"  # the route's own wording is kept
    assert "If-Match" in change["428"]["description"]


def test_what_a_routes_parameters_imply_is_documented_without_being_declared() -> None:
    """A path parameter may name a record outside the caller's scope (404); If-Match may be stale (412); an
    Idempotency-Key may be malformed (400)."""
    paths = _app().openapi()["paths"]
    parts = paths["/support/things/{thing_id}/parts"]["get"]["responses"]
    drop = paths["/support/things/{thing_id}/parts/{part}"]["delete"]["responses"]
    assert set(parts) == {"200", "404", *map(str, COMMON_PROBLEMS)}
    assert set(drop) == {"200", "404", "412", *map(str, COMMON_PROBLEMS)}
    assert _problem_content(drop["412"]) == {"$ref": PROBLEM_REF}
    create = paths["/support/things/"]["post"]
    assert set(create["responses"]) == {"201", "400", *map(str, COMMON_PROBLEMS)}
    assert "Idempotency-Key" in create["responses"]["400"]["description"]
    assert _problem_content(create["responses"]["400"]) == {"$ref": PROBLEM_REF}
    assert [(p["in"], p["name"]) for p in create["parameters"]] == [("header", "Idempotency-Key")]
    assert set(paths["/support/principal"]["get"]["responses"]) == {"200", *map(str, COMMON_PROBLEMS)}


def test_operations_outside_the_gateway_get_no_problems_they_cannot_answer() -> None:
    paths = _app().openapi()["paths"]
    assert set(paths["/health"]["get"]["responses"]) == {"200"}
    assert set(paths["/metrics"]["get"]["responses"]) == {"200"}
    assert set(paths["/support/principal"]["get"]["responses"]) == {"200", *map(str, COMMON_PROBLEMS)}


def _service_app(service: str) -> FastAPI:
    main = importlib.import_module(f"services.{service}.main")
    settings_mod = importlib.import_module(f"services.{service}.settings")
    settings_cls = next(v for k, v in vars(settings_mod).items() if k.endswith("Settings") and k != "ServiceSettings")
    extra = {"personal_data_key": generate_key(), "personal_data_hash_key": generate_key()} \
        if service == "registry" else {}
    url = "postgresql://unused@127.0.0.1:1/unused"  # the document is built without a database
    return main.create_app(settings_cls(**service_env(service, url, "nats://127.0.0.1:1", **extra)))


@pytest.mark.parametrize("service", SERVICES)
def test_every_error_answer_of_every_service_is_documented_as_a_problem(service: str) -> None:
    document = _service_app(service).openapi()
    assert document["components"]["schemas"]["Problem"]["title"] == "Problem"
    marked = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            if EXTENSION in operation:
                marked += 1
                missing = {str(s) for s in COMMON_PROBLEMS} - set(responses)
                assert not missing, f"{method.upper()} {path} lacks {missing}"
            for status, response in responses.items():
                if int(status) >= 400:
                    assert _problem_content(response) == {"$ref": PROBLEM_REF}, f"{method.upper()} {path} {status}"
    assert marked >= 1  # at least /<service>/principal


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://test") as http:
        yield http


async def test_a_method_the_path_does_not_take_is_405_with_every_allowed_method(client: httpx.AsyncClient) -> None:
    headers = auth_headers(make_principal("commune_officer", ["v2008.24.213.07207"]))
    refused = await client.delete("/support/things/7", headers=headers)
    assert refused.status_code == 405
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "method_not_allowed"
    assert refused.headers["allow"] == "GET, PATCH"  # both routes of the path, not only the first
    assert (await client.post("/support/principal", headers=headers)).headers["allow"] == "GET"
    assert (await client.get("/support/things/7", headers=headers)).json() == {"id": 7}


def test_what_the_fuzzer_found_undocumented_is_documented() -> None:
    """Each answer schemathesis met outside the document (issue 16), now in it."""
    support = _service_app("support").openapi()["paths"]
    assert {"200", "201"} <= set(support["/support/catalogue"]["post"]["responses"])  # changed, added
    template = support["/support/imports/template"]["get"]["responses"]["200"]["content"]
    assert set(template) == {"text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    assert "text/csv" in support["/support/gaps/health-insurance"]["get"]["responses"]["200"]["content"]
    statement = support["/support/funds/{fund_id}/statement"]["get"]["responses"]["200"]["content"]
    assert {"application/json", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"} <= set(statement)
    registry = _service_app("registry").openapi()["paths"]
    assert "404" in registry["/registry/regular-reviews"]["post"]["responses"]  # a household of another unit


@pytest.mark.parametrize("service", SERVICES)
def test_every_route_that_takes_an_idempotency_key_says_so(service: str) -> None:
    """A client reads in the OpenAPI which creates it may retry with a key, and that a bad key is 400."""
    app = _service_app(service)
    document = app.openapi()
    takers = [route for route in api_routes(app) if "idempotent(request" in inspect.getsource(route.endpoint)]
    assert takers, f"{service}: no route takes an Idempotency-Key"
    for route in takers:
        for method in route.methods:
            operation = document["paths"][route.path_format][method.lower()]
            headers = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
            assert "Idempotency-Key" in headers, f"{method} {route.path}: Idempotency-Key not declared"
            assert "400" in operation["responses"], f"{method} {route.path}: the 400 for a bad key not listed"
