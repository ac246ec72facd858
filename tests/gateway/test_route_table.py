"""The gateway's route table comes from the services' own declarations (`require(...)` on the route,
published as `x-gateway` in the service's OpenAPI): a changed declaration changes what the gateway
lets through, a service whose routes the gateway has not read answers as if it were down, and a
route a service has just published is found without waiting for the next periodic read."""


from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from devstack.embedded import free_port
from gateway.main import create_app
from shared import permissions
from shared.app import ServiceSpec, create_service_app
from shared.http import require
from shared.principal import Principal
from shared.settings import ServiceSettings
from tests.gateway.conftest import GatewayUnderTest
from tests.gateway.support import DEMO_PASSWORD, gateway_settings, running_gateway, serve
from tests.kit import PUBLIC_KEY, eventually


def support_app(permission: str, *, unit_code: bool = False, extra_route: bool = False) -> FastAPI:
    """A real service app (the shared factory, as support will be built) with routes declared by
    `require(...)`; each answers what it was asked, so a test sees what reached the service."""
    router = APIRouter(prefix="/support")
    units = ("code",) if unit_code else ()

    @router.get("/things")
    async def things(_: Annotated[Principal, Depends(require(permission))]) -> dict[str, str]:
        return {"route": "things"}

    @router.get("/units/{code}/things")
    async def unit_things(code: str, _: Annotated[Principal, Depends(require(None, units=units))]) -> dict[str, str]:
        return {"route": "unit things", "code": code}

    if extra_route:
        @router.get("/new")
        async def new(_: Annotated[Principal, Depends(require(None))]) -> dict[str, str]:
            return {"route": "new"}

    return create_service_app(ServiceSpec(name="support", settings=ServiceSettings(principal_public_key=PUBLIC_KEY),
                                          routers=[router]))


class Switch:
    """An upstream whose app a test swaps (a redeployed service), counting the API calls it serves."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/support/"):
            self.calls += 1
        await self.app(scope, receive, send)


async def _status(client: httpx.AsyncClient, path: str, bearer: dict[str, str]) -> int:
    return (await client.get(path, headers=bearer)).status_code


@asynccontextmanager
async def _gateway(gw: GatewayUnderTest, support_url: str, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    front = create_app(gateway_settings(gw.database_url, gw.nats_url, {"support": support_url}, **overrides))
    async with running_gateway(front) as client:
        yield client


def _officer(client: httpx.AsyncClient) -> Callable[[], Any]:
    async def bearer() -> dict[str, str]:
        token = await client.post("/auth/token", data={"grant_type": "password", "username": "commune.07207",
                                                       "password": DEMO_PASSWORD})
        return {"Authorization": f"Bearer {token.json()['access_token']}"}

    return bearer


async def test_a_changed_declaration_on_a_service_route_changes_what_the_gateway_lets_through(
        gw: GatewayUnderTest) -> None:
    switch = Switch(support_app(permissions.HOUSEHOLDS_READ))  # a commune officer holds it
    async with serve(switch, lifespan="off") as url, _gateway(gw, url, openapi_refresh_seconds=0.2) as client:
        bearer = await _officer(client)()
        assert (await client.get("/support/things", headers=bearer)).json() == {"route": "things"}
        other_commune = await client.get("/support/units/07888/things", headers=bearer)
        assert other_commune.status_code == 200  # `code` is declared a row id: the service filters it

        # Redeployed: the route needs a permission commune officers lack, and `code` names a unit.
        switch.app = support_app(permissions.UNITS_FLAG, unit_code=True)
        await eventually(lambda: _refused(client, bearer), timeout=10)
        calls = switch.calls
        refused = await client.get("/support/things", headers=bearer)
        assert refused.status_code == 403 and refused.json()["permission"] == permissions.UNITS_FLAG
        foreign = await client.get("/support/units/07888/things", headers=bearer)
        assert foreign.status_code == 403 and foreign.json()["code"] == "unit_out_of_scope"
        assert switch.calls == calls  # the gateway refused both: nothing reached the service
        assert (await client.get("/support/units/07207/things", headers=bearer)).status_code == 200
        document = (await client.get("/openapi.json")).json()
        assert document["paths"]["/support/things"]["get"]["x-permission"] == permissions.UNITS_FLAG

        # And back: the officer gets through again.
        switch.app = support_app(permissions.HOUSEHOLDS_READ)
        await eventually(lambda: _passes(client, bearer), timeout=10)


async def _refused(client: httpx.AsyncClient, bearer: dict[str, str]) -> bool:
    response = await client.get("/support/units/07888/things", headers=bearer)
    return response.status_code == 403 and response.json()["code"] == "unit_out_of_scope"


async def _passes(client: httpx.AsyncClient, bearer: dict[str, str]) -> bool:
    return await _status(client, "/support/things", bearer) == 200


async def test_a_service_whose_routes_are_unknown_answers_as_if_down_until_it_starts(gw: GatewayUnderTest) -> None:
    port = free_port()
    async with _gateway(gw, f"http://127.0.0.1:{port}", openapi_refresh_seconds=3600) as client:
        bearer = await _officer(client)()
        down = await client.get("/support/things", headers=bearer)
        assert down.status_code == 502, down.text  # never a 404 for a route that may well exist
        assert down.json()["code"] == "upstream_unavailable" and down.json()["service"] == "support"
        assert "routes are not known" in down.json()["detail"]
        # The service starts: the next requests have its document read (at most every 2 s).
        async with serve(support_app(permissions.HOUSEHOLDS_READ), port=port, lifespan="off"):
            await eventually(lambda: _passes(client, bearer), timeout=10)


async def test_a_service_that_publishes_no_usable_document_answers_503(gw: GatewayUnderTest) -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 500, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    async with serve(broken, lifespan="off") as url, _gateway(gw, url) as client:
        bearer = await _officer(client)()
        response = await client.get("/support/things", headers=bearer)
        assert response.status_code == 503 and response.json()["code"] == "service_unavailable"
        assert "answered 500" in response.json()["detail"] and int(response.headers["retry-after"]) >= 1
        ready = (await client.get("/ready")).json()
        assert "answered 500" in ready["checks"]["routes"]["support"]


async def test_a_route_just_published_is_found_without_waiting_for_the_periodic_read(gw: GatewayUnderTest) -> None:
    switch = Switch(support_app(permissions.HOUSEHOLDS_READ))
    async with serve(switch, lifespan="off") as url, _gateway(gw, url, openapi_refresh_seconds=3600) as client:
        bearer = await _officer(client)()
        assert await _status(client, "/support/new", bearer) == 404
        switch.app = support_app(permissions.HOUSEHOLDS_READ, extra_route=True)
        await eventually(lambda: _new_route_served(client, bearer), timeout=10)


async def _new_route_served(client: httpx.AsyncClient, bearer: dict[str, str]) -> bool:
    return await _status(client, "/support/new", bearer) == 200
