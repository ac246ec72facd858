"""Writing and reading the audit trail of account changes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.admin.audit.models import AdminAudit
from shared.principal import Principal

SCAN_LIMIT = 5000  # entries are few; the scope of each is checked in Python on this many at most


def record(session: AsyncSession, actor: Principal, action: str, kind: str, target_id: str,
           scope_paths: list[str], **detail: Any) -> None:
    """`scope_paths`: the target's scope after the change; the audit list is filtered on it."""
    session.add(AdminAudit(actor_id=actor.id, actor_name=actor.name, action=action, target_kind=kind,
                           target_id=target_id, detail={**detail, "scopes": scope_paths}))


async def newest(session: AsyncSession, target_id: str | None) -> Sequence[AdminAudit]:
    query = select(AdminAudit).order_by(AdminAudit.id.desc())
    if target_id:
        query = query.where(AdminAudit.target_id == target_id)
    return (await session.scalars(query.limit(SCAN_LIMIT))).all()
