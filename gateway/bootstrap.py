"""Set-up data of the gateway, run by `make run` after migrations (idempotent): the roles from
`shared/permissions.py`, the first administrator from the environment, and the demo accounts.

Environment: GATEWAY_ADMIN_USERNAME / GATEWAY_ADMIN_PASSWORD (first admin, national scope);
CHUNGTAY_DEMO_ACCOUNTS (default 1; 0 turns the demo accounts off); CHUNGTAY_DEMO_PASSWORD (default
`demo`), also the secret of the demo system client unless CHUNGTAY_DEMO_CLIENT_SECRET is set.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.directory.reference import reference_unit
from gateway.identity.models import ClientScope, Role, SystemClient, User, UserScope
from gateway.identity.passwords import Passwords, client_secret_matches, hash_client_secret
from gateway.settings import GatewaySettings
from shared.db import Database
from shared.permissions import ROLE_PERMISSIONS
from shared.principal import ScopeUnit
from shared.scope import HIERARCHIES

log = logging.getLogger(__name__)

ROLE_DESCRIPTIONS = {
    "admin": "Administers accounts inside its scope; national admins hold every permission",
    "province_officer": "Province officer: households, reviews, flags and reports of the province",
    "district_officer": "District officer: households and reviews of the district",
    "commune_officer": "Commune officer: households, assessments and the commune's annual review",
    "surveyor": "Collects household data and assessments",
    "emulation_board": "Emulation board: movements, appraisal and awards",
    "viewer": "Reads within its scope",
    "system_client": "Another government system (client credentials)",
}

NATIONAL = tuple(ScopeUnit(hierarchy=h, code="", path=h, level="national") for h in HIERARCHIES)


def unit(hierarchy: str, code: str) -> ScopeUnit:
    """A scope unit with its path built from the reference data (never typed by hand)."""
    found = reference_unit(hierarchy, code)
    return ScopeUnit(hierarchy=found.hierarchy, code=found.code, path=found.path, level=found.level)


@dataclass(frozen=True)
class DemoAccount:
    username: str
    display_name: str
    role: str
    scopes: tuple[ScopeUnit, ...]


def demo_accounts() -> list[DemoAccount]:
    bac_giang = unit("v2008", "24")
    return [
        DemoAccount("admin", "Quản trị hệ thống", "admin", NATIONAL),
        DemoAccount("province.24", "Cán bộ tỉnh Bắc Giang", "province_officer", (bac_giang,)),
        DemoAccount("district.213", "Cán bộ thành phố Bắc Giang", "district_officer", (unit("v2008", "213"),)),
        DemoAccount("commune.07207", "Cán bộ phường Ngô Quyền", "commune_officer", (unit("v2008", "07207"),)),
        DemoAccount("commune.07222", "Cán bộ phường Song Mai", "commune_officer", (unit("v2008", "07222"),)),
        DemoAccount("emulation.24", "Ban Thi đua – Khen thưởng tỉnh Bắc Giang", "emulation_board", (bac_giang,)),
    ]


DEMO_CLIENT = "system.demo"


async def seed_roles(session: AsyncSession) -> None:
    """Insert the catalogue's roles; keep built-in roles in step with it unless an admin edited them."""
    existing = {r.name: r for r in (await session.scalars(select(Role))).all()}
    for name, permissions in ROLE_PERMISSIONS.items():
        role = existing.get(name)
        if role is None:
            session.add(Role(name=name, description=ROLE_DESCRIPTIONS.get(name, ""), permissions=sorted(permissions),
                             builtin=True, customized=False))
        elif role.builtin and not role.customized and sorted(role.permissions) != sorted(permissions):
            role.permissions = sorted(permissions)
    await session.flush()


async def ensure_user(session: AsyncSession, passwords: Passwords, username: str, password: str, role: str,
                      scopes: tuple[ScopeUnit, ...], display_name: str, demo: bool) -> str:
    """Create the account, or (for demo accounts and the env admin) bring it back to its definition."""
    user = await session.scalar(select(User).where(User.username == username))
    if user is None:
        session.add(User(
            id=uuid.uuid4(), username=username, display_name=display_name, role=role, active=True,
            password_hash=await passwords.hash(password), failed_logins=0, lockouts=0, demo=demo,
            created_by="bootstrap",
            scopes=[UserScope(path=s.path, hierarchy=s.hierarchy, code=s.code, level=s.level) for s in scopes]))
        return "created"
    if demo and not user.demo:
        return "kept (a real account has this name)"
    if not await passwords.verify(user.password_hash, password):
        user.password_hash = await passwords.hash(password)
    user.role, user.active = role, True
    if sorted(s.path for s in user.scopes) != sorted(s.path for s in scopes):
        user.scopes = [UserScope(path=s.path, hierarchy=s.hierarchy, code=s.code, level=s.level) for s in scopes]
    return "updated"


async def ensure_demo_client(session: AsyncSession, secret: str) -> None:
    scopes = (unit("v2008", "24"),)
    client = await session.scalar(select(SystemClient).where(SystemClient.client_id == DEMO_CLIENT))
    if client is None:
        session.add(SystemClient(
            id=uuid.uuid4(), client_id=DEMO_CLIENT, name="Hệ thống minh hoạ (demo)", role="system_client",
            permissions=[], secret_hash=hash_client_secret(secret), active=True, demo=True, created_by="bootstrap",
            scopes=[ClientScope(path=s.path, hierarchy=s.hierarchy, code=s.code, level=s.level) for s in scopes]))
    elif client.demo and not client_secret_matches(secret, client.secret_hash):
        client.secret_hash = hash_client_secret(secret)


async def run(database_url: str, settings: GatewaySettings | None = None) -> None:
    settings = settings or GatewaySettings(database_url=database_url)
    passwords = Passwords(settings)
    db = Database(database_url, pool_size=2)
    try:
        async with db.system_session() as session:
            await seed_roles(session)
            admin_name = os.environ.get("GATEWAY_ADMIN_USERNAME", "").strip().lower()
            admin_password = os.environ.get("GATEWAY_ADMIN_PASSWORD", "")
            if admin_name and admin_password:
                outcome = await ensure_user(session, passwords, admin_name, admin_password, "admin", NATIONAL,
                                            "Administrator", demo=False)
                log.info("first admin %s: %s", admin_name, outcome)
            if os.environ.get("CHUNGTAY_DEMO_ACCOUNTS", "1") not in ("0", "false", "no"):
                password = os.environ.get("CHUNGTAY_DEMO_PASSWORD", "demo")
                for account in demo_accounts():
                    await ensure_user(session, passwords, account.username, password, account.role, account.scopes,
                                      account.display_name, demo=True)
                await ensure_demo_client(session, os.environ.get("CHUNGTAY_DEMO_CLIENT_SECRET", password))
    finally:
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(run(sys.argv[1] if len(sys.argv) > 1 else GatewaySettings().database_url))
