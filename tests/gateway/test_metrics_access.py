"""/metrics of the gateway, the internet-facing door: with GATEWAY_METRICS_TOKEN only a bearer of that
token reads it; without one only a loopback client does, and a request a proxy relays for someone else
is not loopback just because the proxy is."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from tests.gateway.conftest import GatewayUnderTest

TOKEN = "metrics-3f6c1c0e9b2d4a7f8e5d"
PUBLIC_CLIENT = ("198.51.100.7", 50000)  # what the gw fixture's client is


@asynccontextmanager
async def client_from(gw: GatewayUnderTest, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the same running gateway, connecting from `address`."""
    transport = httpx.ASGITransport(app=gw.front, client=(address, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


def assert_metrics(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert "# TYPE gateway_event_loop_lag_seconds histogram" in response.text
    assert "# TYPE http_request_duration_seconds histogram" in response.text


def assert_refused(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["code"] in ("unauthorized", "forbidden")
    assert "gateway_event_loop_lag_seconds" not in response.text


@pytest.mark.gateway_settings(metrics_token=TOKEN)
async def test_with_a_token_metrics_need_exactly_that_bearer_token(gw: GatewayUnderTest) -> None:
    no_token = await gw.client.get("/metrics")
    assert_refused(no_token, 401)
    assert no_token.headers["www-authenticate"].startswith("Bearer")
    for wrong in ("Bearer nope", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", "Bearer ", TOKEN):
        assert_refused(await gw.client.get("/metrics", headers={"Authorization": wrong}), 401)
    # An access token of the API is not the metrics token either.
    api_token = await gw.token("admin")
    assert_refused(await gw.client.get("/metrics", headers={"Authorization": f"Bearer {api_token}"}), 401)
    # With a token set, being local is not enough.
    async with client_from(gw, "127.0.0.1") as local:
        assert_refused(await local.get("/metrics"), 401)

    assert_metrics(await gw.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}))
    assert_metrics(await gw.client.get("/metrics", headers={"Authorization": f"bearer  {TOKEN} "}))


async def test_without_a_token_only_loopback_clients_read_metrics(gw: GatewayUnderTest) -> None:
    assert gw.gateway.settings.metrics_token == ""
    assert_refused(await gw.client.get("/metrics"), 403)  # 198.51.100.7
    for address in ("10.0.0.5", "192.168.1.20", "2001:db8::1", "::ffff:198.51.100.7"):
        async with client_from(gw, address) as outsider:
            assert_refused(await outsider.get("/metrics"), 403)
    for address in ("127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"):
        async with client_from(gw, address) as local:
            assert_metrics(await local.get("/metrics"))
            assert_metrics(await local.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}))


@pytest.mark.parametrize("trust", [False, True])
async def test_a_request_relayed_by_a_local_proxy_is_not_loopback(gw: GatewayUnderTest, trust: bool) -> None:
    """A reverse proxy on the same host connects from 127.0.0.1: what it names is the real client."""
    gw.gateway.settings.trust_forwarded_for = trust
    async with client_from(gw, "127.0.0.1") as proxy:
        for headers in ({"X-Forwarded-For": "203.0.113.9"},
                        {"X-Forwarded-For": "127.0.0.1, 203.0.113.9"},  # any hop that is not local
                        {"X-Forwarded-For": "203.0.113.9, 127.0.0.1"},
                        {"X-Forwarded-For": "unknown"},
                        {"X-Real-IP": "203.0.113.9"},
                        {"Forwarded": 'for="[2001:db8::7]:4711";proto=https'},
                        {"Forwarded": "for=127.0.0.1, for=203.0.113.9"}):
            assert_refused(await proxy.get("/metrics", headers=headers), 403)
        assert_metrics(await proxy.get("/metrics", headers={"Forwarded": 'for="[::1]:8080"'}))
    # And an outside client naming a loopback address is still outside.
    assert_refused(await gw.client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}), 403)


async def test_the_gateways_other_operations_stay_open(gw: GatewayUnderTest) -> None:
    assert (await gw.client.get("/health")).status_code == 200
    assert (await gw.client.get("/ready")).status_code == 200
    assert (await gw.client.get("/.well-known/jwks.json")).status_code == 200
