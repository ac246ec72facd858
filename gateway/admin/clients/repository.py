"""The queries of the system clients admin: clients whose every scope unit lies inside a manager's scope."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.admin.rules import within
from gateway.identity.models import ClientScope, SystemClient
from shared.db import scope_clause
from shared.principal import Principal


def managed_clients(principal: Principal, active: bool | None) -> Select[Any]:
    inside = scope_clause(ClientScope.path, principal.scope_paths)
    query = select(SystemClient).where(
        exists().where(ClientScope.client_pk == SystemClient.id),
        ~exists().where(ClientScope.client_pk == SystemClient.id, ~inside),
    )
    if active is not None:
        query = query.where(SystemClient.active == active)
    return query.order_by(SystemClient.client_id)


async def managed_client(session: AsyncSession, principal: Principal, pk: uuid.UUID) -> SystemClient | None:
    client = await session.get(SystemClient, pk)
    return client if client is not None and within(principal, [s.path for s in client.scopes]) else None


async def client_id_taken(session: AsyncSession, client_id: str) -> bool:
    return bool(await session.scalar(select(SystemClient.id).where(SystemClient.client_id == client_id)))
