"""Failed logins lock the account for a while; token requests and API calls are rate limited, in
process or shared through Redis between gateway replicas."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
import redis.asyncio as redis

from gateway.main import create_app
from gateway.proxy.front import GatewayFront
from tests.gateway.conftest import GatewayUnderTest
from tests.gateway.support import gateway_settings, running_gateway


def fresh_window(*fronts: GatewayFront) -> None:
    """Rate limits count per clock minute: the gateways' limiters see the clock stand still one second
    into the current minute, so a counting test never straddles two windows."""
    now = (time.time() // 60) * 60 + 1
    for front in fronts:
        front.app.state.limiter.clock = lambda: now


async def _login(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post("/auth/token", data={"grant_type": "password", "username": username,
                                                  "password": password})


@pytest.mark.gateway_settings(login_max_failures=3, login_lockout_seconds=120)
async def test_repeated_failed_logins_lock_the_account(gw: GatewayUnderTest) -> None:
    for _ in range(2):
        wrong = await _login(gw.client, "commune.07207", "guess")
        assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    locking = await _login(gw.client, "commune.07207", "guess")
    assert locking.status_code == 429 and locking.json()["code"] == "account_locked"
    # Now even the right password is refused until the lock expires, and says for how long.
    locked = await _login(gw.client, "commune.07207", "demo")
    assert locked.status_code == 429
    assert 60 < int(locked.headers["retry-after"]) <= 121
    # Other accounts are not affected.
    assert (await _login(gw.client, "commune.07222", "demo")).status_code == 200

    # An administrator lifts the lock.
    admin = await gw.headers("admin")
    users = (await gw.client.get("/admin/users", params={"q": "commune.07207"}, headers=admin)).json()["items"]
    assert users[0]["locked_until"] is not None
    unlocked = await gw.client.post(f"/admin/users/{users[0]['id']}/unlock", headers=admin)
    assert unlocked.status_code == 200 and unlocked.json()["locked_until"] is None
    assert (await _login(gw.client, "commune.07207", "demo")).status_code == 200


@pytest.mark.gateway_settings(login_max_failures=2, login_lockout_seconds=60, login_lockout_max_seconds=3600)
async def test_each_further_lockout_lasts_longer(gw: GatewayUnderTest) -> None:
    from sqlalchemy import text

    for _ in range(2):
        await _login(gw.client, "district.213", "guess")
    first = int((await _login(gw.client, "district.213", "demo")).headers["retry-after"])
    async with gw.gateway.db.system_session() as session:  # the first lock runs out
        await session.execute(text("UPDATE users SET locked_until = now() WHERE username = 'district.213'"))
    for _ in range(2):
        await _login(gw.client, "district.213", "guess")
    second = int((await _login(gw.client, "district.213", "demo")).headers["retry-after"])
    assert first <= 61 and second > 100


async def test_unknown_usernames_and_wrong_passwords_answer_alike(gw: GatewayUnderTest) -> None:
    unknown = await _login(gw.client, "nobody.here", "demo")
    wrong = await _login(gw.client, "province.24", "not-it")
    assert unknown.status_code == wrong.status_code == 400
    assert unknown.json()["detail"] == wrong.json()["detail"]


@pytest.mark.gateway_settings(token_requests_per_ip_per_minute=4)
async def test_token_requests_are_limited_per_address(gw: GatewayUnderTest) -> None:
    fresh_window(gw.front)
    statuses = [(await _login(gw.client, "nobody", "x")).status_code for _ in range(6)]
    assert statuses[:4] == [400] * 4 and statuses[4:] == [429, 429]
    limited = await _login(gw.client, "province.24", "demo")
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"] == "slow_down"


@pytest.mark.gateway_settings(requests_per_principal_per_minute=3)
async def test_api_calls_are_limited_per_principal(gw: GatewayUnderTest) -> None:
    officer = await gw.headers("commune.07207")
    other = await gw.headers("commune.07222")
    fresh_window(gw.front)
    statuses = [(await gw.client.get("/registry/principal", headers=officer)).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    assert (await gw.client.get("/registry/principal", headers=other)).status_code == 200
    assert len(gw.echo.seen) == 4


async def test_with_redis_replicas_share_the_token_rate_limit(gw: GatewayUnderTest, redis_url: str) -> None:
    """Two gateway replicas with the same Redis count one address's token requests together."""
    assert await redis.from_url(redis_url).ping()
    address = f"203.0.113.{uuid.uuid4().int % 250 + 1}"  # a fresh address: no counts from earlier runs
    fronts = [create_app(gateway_settings(gw.database_url, gw.nats_url, redis_url=redis_url,
                                              token_requests_per_ip_per_minute=5, trust_forwarded_for=True))
              for _ in range(2)]
    async with running_gateway(fronts[0]) as one, running_gateway(fronts[1]) as two:
        fresh_window(*fronts)
        headers = {"X-Forwarded-For": address}
        statuses = []
        for i in range(8):
            client = one if i % 2 == 0 else two
            response = await client.post("/auth/token", headers=headers,
                                         data={"grant_type": "password", "username": "nobody", "password": "x"})
            statuses.append(response.status_code)
    assert statuses[:5] == [400] * 5
    assert statuses[5:] == [429] * 3


async def test_with_redis_replicas_share_the_principal_rate_limit(gw: GatewayUnderTest, redis_url: str) -> None:
    fronts = [create_app(gateway_settings(gw.database_url, gw.nats_url, redis_url=redis_url,
                                              requests_per_principal_per_minute=6,
                                              upstream_registry=gw.gateway.settings.upstream_registry))
              for _ in range(2)]
    async with running_gateway(fronts[0]) as one, running_gateway(fronts[1]) as two:
        token = (await one.post("/auth/token", data={"grant_type": "password", "username": "commune.07207",
                                                     "password": "demo"})).json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        fresh_window(*fronts)
        statuses = []
        for i in range(10):
            statuses.append((await (one if i % 2 == 0 else two).get("/registry/principal",
                                                                    headers=bearer)).status_code)
            for front in fronts:  # what each replica's background flush does every 100 ms
                await front.app.state.limiter.flush()
    # Each replica alone would let all 10 through (5 each, under its limit of 6). Shared, at most
    # one flush's worth of the other replica's hits can slip past: 6, or 7 at worst.
    assert statuses.count(200) in (6, 7), statuses
    assert statuses[7:] == [429] * 3
