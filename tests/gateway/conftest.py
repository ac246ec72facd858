"""Gateway fixtures: a migrated gateway database with the roles and demo accounts, the test units
published as registry events, an echo upstream on a real port, and the gateway running in process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from devstack.embedded import free_port
from gateway.main import create_app
from gateway.proxy.front import GatewayFront
from tests.gateway.support import (
    DEMO_PASSWORD,
    EchoUpstream,
    gateway_settings,
    publish_units,
    running_gateway,
    seed,
    serve,
    units_for_tests,
)
from tests.kit import Stack, eventually, fresh_database


@dataclass
class GatewayUnderTest:
    client: httpx.AsyncClient
    front: GatewayFront
    echo: EchoUpstream
    database_url: str
    nats_url: str

    async def token(self, username: str, password: str = DEMO_PASSWORD) -> str:
        response = await self.client.post("/auth/token", data={
            "grant_type": "password", "username": username, "password": password})
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    async def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token(username)}"}

    @property
    def gateway(self) -> Any:
        return self.front.app.state


@pytest.fixture
async def gateway_db(stack: Stack) -> str:
    url = await fresh_database(stack, "gateway")
    await seed(url)
    return url


@pytest.fixture
async def echo() -> AsyncIterator[tuple[EchoUpstream, str]]:
    upstream = EchoUpstream()
    async with serve(upstream) as url:
        yield upstream, url


@pytest.fixture
async def gw(gateway_db: str, nats_url: str, echo: tuple[EchoUpstream, str],
             request: pytest.FixtureRequest) -> AsyncIterator[GatewayUnderTest]:
    """The gateway with registry, support and emulation going to the echo upstream and reporting to a
    port where nothing listens. Tests may pass settings overrides with @pytest.mark.gateway_settings(...)."""
    upstream, url = echo
    marker = request.node.get_closest_marker("gateway_settings")
    overrides = dict(marker.kwargs) if marker else {}
    settings = gateway_settings(gateway_db, nats_url, {
        "registry": url, "support": url, "emulation": url, "reporting": f"http://127.0.0.1:{free_port()}",
    }, **overrides)
    units = units_for_tests()
    await publish_units(nats_url, units)
    front = create_app(settings)
    async with running_gateway(front) as client:
        await eventually(lambda: _has(front, len(units)), timeout=20)
        yield GatewayUnderTest(client, front, upstream, gateway_db, nats_url)


async def _has(front: GatewayFront, count: int) -> bool:
    return len(front.app.state.directory) >= count


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "gateway_settings(**overrides): settings of the gateway under test")
