"""A route's permission and unit parameters are declared once, on the route (`require(...)`), and
published in the service's OpenAPI as `x-gateway`, which the gateway builds its route table from."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from services.support.settings import SupportSettings
from shared.app import ServiceSpec, create_service_app
from shared.http import require
from shared.principal import Principal
from shared.route_rules import EXTENSION, GatewayRule
from tests.kit import PUBLIC_KEY


def _app_with(router: APIRouter) -> dict:
    app = create_service_app(ServiceSpec(name="support", settings=SupportSettings(principal_public_key=PUBLIC_KEY),
                                         routers=[router]))
    return app.openapi()["paths"]


def test_the_rule_declared_on_a_route_is_published_with_its_id_parameters() -> None:
    router = APIRouter(prefix="/support")

    @router.get("/units/{code}/things/{thing_id}")
    async def things(code: str, thing_id: int,
                     _: Annotated[Principal, Depends(require("support.read", units=("code",),
                                                             ancestors_ok=True, timeout=90))]) -> dict:
        return {}

    operation = _app_with(router)["/support/units/{code}/things/{thing_id}"]["get"]
    assert operation[EXTENSION] == {"permission": "support.read", "unit_params": ["code"], "query_units": [],
                                    "ancestors_ok": True, "upload": False, "timeout": 90,
                                    "id_params": ["thing_id"]}
    assert operation["x-permission"] == "support.read"
    assert GatewayRule.from_openapi(operation[EXTENSION]) == GatewayRule(
        "support.read", ("code",), (), True, False, 90.0)


def test_a_route_without_a_rule_publishes_none_so_the_gateway_will_not_forward_it() -> None:
    router = APIRouter(prefix="/support")

    @router.get("/open")
    async def open_route() -> dict:
        return {}

    paths = _app_with(router)
    assert EXTENSION not in paths["/support/open"]["get"]
    assert paths["/support/principal"]["get"][EXTENSION]["permission"] is None  # any signed-in caller
