"""Set-up: roles from the permission catalogue, demo accounts whose scope paths come from the
reference data, the first admin from the environment or the CLI; running it again changes nothing."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from gateway import bootstrap
from gateway.identity.models import Role, SystemClient, User
from gateway.identity.passwords import Passwords
from gateway.settings import GatewaySettings
from shared.db import Database
from shared.permissions import ROLE_PERMISSIONS
from tests.kit import Stack, fresh_database

DEMO = {
    "admin": ("admin", ["v2008", "v2025"]),
    "province.24": ("province_officer", ["v2008.24"]),
    "district.213": ("district_officer", ["v2008.24.213"]),
    "commune.07207": ("commune_officer", ["v2008.24.213.07207"]),
    "commune.07222": ("commune_officer", ["v2008.24.213.07222"]),
    "emulation.24": ("emulation_board", ["v2008.24"]),
}


async def _accounts(url: str) -> dict[str, tuple[str, list[str]]]:
    db = Database(url, pool_size=1)
    try:
        async with db.system_session() as session:
            users = (await session.scalars(select(User))).all()
            return {u.username: (u.role, [s.path for s in u.scopes]) for u in users}
    finally:
        await db.dispose()


async def test_demo_accounts_roles_and_client_are_seeded_once(stack: Stack) -> None:
    url = await fresh_database(stack, "gateway")
    await bootstrap.run(url)
    assert await _accounts(url) == DEMO
    await bootstrap.run(url)  # idempotent
    assert await _accounts(url) == DEMO
    db = Database(url, pool_size=1)
    try:
        async with db.system_session() as session:
            roles = {r.name: set(r.permissions) for r in (await session.scalars(select(Role))).all()}
            assert roles == {name: set(perms) for name, perms in ROLE_PERMISSIONS.items()}
            clients = (await session.scalars(select(SystemClient))).all()
            assert [(c.client_id, [s.path for s in c.scopes]) for c in clients] == [("system.demo", ["v2008.24"])]
            assert await session.scalar(select(func.count()).select_from(User)) == len(DEMO)
    finally:
        await db.dispose()


async def test_the_demo_password_follows_the_environment(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    url = await fresh_database(stack, "gateway")
    await bootstrap.run(url)
    monkeypatch.setenv("CHUNGTAY_DEMO_PASSWORD", "another-demo-password")
    await bootstrap.run(url)
    db = Database(url, pool_size=1)
    passwords = Passwords(GatewaySettings())
    try:
        async with db.system_session() as session:
            user = await session.scalar(select(User).where(User.username == "commune.07207"))
            assert user is not None
            assert await passwords.verify(user.password_hash, "another-demo-password")
            assert not await passwords.verify(user.password_hash, "demo")
    finally:
        await db.dispose()


async def test_without_demo_accounts_only_the_admin_from_the_environment(stack: Stack,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    url = await fresh_database(stack, "gateway")
    monkeypatch.setenv("CHUNGTAY_DEMO_ACCOUNTS", "0")
    monkeypatch.setenv("GATEWAY_ADMIN_USERNAME", "Root.Admin")
    monkeypatch.setenv("GATEWAY_ADMIN_PASSWORD", "correct horse battery")
    await bootstrap.run(url)
    assert await _accounts(url) == {"root.admin": ("admin", ["v2008", "v2025"])}


async def test_the_cli_creates_an_administrator(stack: Stack) -> None:
    url = await fresh_database(stack, "gateway")
    env = {**os.environ, "CHUNGTAY_DEMO_ACCOUNTS": "0"}
    result = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "gateway.cli", "create-admin", "--username", "ops.admin",
                         "--database-url", url, "--password-stdin"],
        input="a-strong-password\n", capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "admin ops.admin: created" in result.stdout
    assert (await _accounts(url))["ops.admin"] == ("admin", ["v2008", "v2025"])
    weak = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "gateway.cli", "create-admin", "--username", "weak",
                         "--database-url", url, "--password-stdin"],
        input="short\n", capture_output=True, text=True, env=env, timeout=120)
    assert weak.returncode == 2 and "weak" not in await _accounts(url)
