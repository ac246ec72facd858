"""The roles admin's use case: a national administrator creates or changes a role; the tokens of
its holders, which carry the old permissions, are refused from then on."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select

from gateway.admin.audit import repository as audit
from gateway.admin.roles.schemas import RoleUpdate
from gateway.admin.rules import require_known
from gateway.identity.models import Role, User
from gateway.tokens.revocation import Revocations
from shared.db import Database
from shared.principal import Principal
from shared.scope import HIERARCHIES


async def list_roles(db: Database, principal: Principal) -> Sequence[Role]:
    async with db.session(principal) as session:
        return (await session.scalars(select(Role).order_by(Role.name))).all()


async def put_role(db: Database, revocations: Revocations, principal: Principal, name: str, body: RoleUpdate) -> Role:
    require_known(body.permissions)
    async with db.session(principal) as session:
        role = await session.get(Role, name)
        if role is None:
            role = Role(name=name, description=body.description or "", permissions=[], builtin=False,
                        customized=True)
            session.add(role)
        before = sorted(role.permissions or [])
        role.permissions = sorted(set(body.permissions))
        if body.description is not None:
            role.description = body.description
        role.customized = True
        role.updated_at = datetime.now(UTC)
        holders = (await session.scalars(select(User.id).where(User.role == name))).all()
        for user_id in holders:  # their tokens carry the old permissions
            await revocations.revoke_subject(session, str(user_id))
        audit.record(session, principal, "role.changed", "role", name, list(HIERARCHIES),
                     permissions=[before, role.permissions])
        return role
