"""Admin API for system clients (other government systems using client credentials), limited by
scope like people's accounts. The secret is shown once, when made; only its hash is kept.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.accounts import (
    Manager,
    ScopeIn,
    ScopeOut,
    audit,
    require_grantable,
    require_within,
    resolve_scopes,
    within,
)
from gateway.identity import role_permissions
from gateway.models import ClientScope, Role, SystemClient
from gateway.passwords import hash_client_secret, new_client_secret
from shared.db import scope_clause
from shared.errors import Problem, conflict, not_found
from shared.principal import Principal

router = APIRouter(prefix="/admin/clients", tags=["admin: system clients"])
CLIENT_ID = r"^[a-z0-9][a-z0-9._-]{2,63}$"


class ClientCreate(BaseModel):
    client_id: str = Field(pattern=CLIENT_ID)
    name: str = Field(default="", max_length=200)
    role: str = "system_client"
    permissions: list[str] = Field(default_factory=list,
                                   description="Explicit permissions; empty means the role's permissions")
    scopes: list[ScopeIn] = Field(min_length=1, max_length=50)


class ClientUpdate(BaseModel):
    name: str | None = Field(default=None, max_length=200)
    permissions: list[str] | None = None
    scopes: list[ScopeIn] | None = Field(default=None, min_length=1, max_length=50)
    active: bool | None = None


class ClientOut(BaseModel):
    id: uuid.UUID
    client_id: str
    name: str
    role: str
    permissions: list[str]
    scopes: list[ScopeOut]
    active: bool
    created_by: str
    created_at: datetime
    updated_at: datetime


class ClientWithSecret(ClientOut):
    client_secret: str = Field(description="Shown only now: store it safely")


class ClientPage(BaseModel):
    items: list[ClientOut]
    total: int
    limit: int
    offset: int


def _out(client: SystemClient) -> ClientOut:
    return ClientOut(
        id=client.id, client_id=client.client_id, name=client.name, role=client.role,
        permissions=list(client.permissions), active=client.active, created_by=client.created_by,
        scopes=[ScopeOut(hierarchy=s.hierarchy, code=s.code, path=s.path, level=s.level) for s in client.scopes],
        created_at=client.created_at, updated_at=client.updated_at,
    )


async def _managed(session: AsyncSession, principal: Principal, pk: uuid.UUID) -> SystemClient:
    client = await session.get(SystemClient, pk)
    if client is None or not within(principal, [s.path for s in client.scopes]):
        raise not_found("client", pk)
    return client


async def _grantable(session: AsyncSession, principal: Principal, role: str, permissions: list[str]) -> None:
    if await session.get(Role, role) is None:
        raise Problem(422, "unknown_role", "Unknown role", f"No role named '{role}'.", field="role")
    require_grantable(principal, permissions or await role_permissions(session, role))


@router.get("", response_model=ClientPage, summary="System clients inside your scope")
async def list_clients(request: Request, principal: Manager, active: bool | None = None,
                       limit: Annotated[int, Query(ge=1, le=500)] = 50,
                       offset: Annotated[int, Query(ge=0)] = 0) -> ClientPage:
    inside = scope_clause(ClientScope.path, principal.scope_paths)
    query = select(SystemClient).where(
        exists().where(ClientScope.client_pk == SystemClient.id),
        ~exists().where(ClientScope.client_pk == SystemClient.id, ~inside),
    )
    if active is not None:
        query = query.where(SystemClient.active == active)
    async with request.app.state.gateway.db.session(principal) as session:
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
        rows = (await session.scalars(query.order_by(SystemClient.client_id).limit(limit).offset(offset))).all()
        return ClientPage(items=[_out(c) for c in rows], total=int(total or 0), limit=limit, offset=offset)


@router.post("", response_model=ClientWithSecret, status_code=201, summary="Register a system client")
async def create_client(request: Request, principal: Manager, body: ClientCreate) -> ClientWithSecret:
    gw = request.app.state.gateway
    scopes = resolve_scopes(request, body.scopes)
    require_within(principal, [s.path for s in scopes], "client")
    secret = new_client_secret()
    async with gw.db.session(principal) as session:
        await _grantable(session, principal, body.role, body.permissions)
        if await session.scalar(select(SystemClient.id).where(SystemClient.client_id == body.client_id)):
            raise conflict("client_id_taken", f"The client id '{body.client_id}' is taken.")
        client = SystemClient(
            id=uuid.uuid4(), client_id=body.client_id, name=body.name, role=body.role,
            permissions=sorted(set(body.permissions)), secret_hash=hash_client_secret(secret), active=True,
            demo=False, created_by=principal.name or principal.id,
            scopes=[ClientScope(path=s.path, hierarchy=s.hierarchy, code=s.code, level=s.level) for s in scopes])
        session.add(client)
        audit(session, principal, "client.created", "client", str(client.id), [s.path for s in scopes],
              client_id=client.client_id, permissions=client.permissions)
        await session.flush()
        await session.refresh(client, ["created_at", "updated_at"])
        return ClientWithSecret(**_out(client).model_dump(), client_secret=secret)


@router.get("/{client_pk}", response_model=ClientOut, summary="One system client")
async def get_client(request: Request, principal: Manager, client_pk: uuid.UUID) -> ClientOut:
    async with request.app.state.gateway.db.session(principal) as session:
        return _out(await _managed(session, principal, client_pk))


@router.patch("/{client_pk}", response_model=ClientOut, summary="Change a system client (ends its tokens)")
async def update_client(request: Request, principal: Manager, client_pk: uuid.UUID,
                        body: ClientUpdate) -> ClientOut:
    gw = request.app.state.gateway
    scopes = resolve_scopes(request, body.scopes) if body.scopes is not None else None
    if scopes is not None:
        require_within(principal, [s.path for s in scopes], "client")
    async with gw.db.session(principal) as session:
        client = await _managed(session, principal, client_pk)
        changes: dict[str, object] = {}
        if body.name is not None:
            client.name = body.name
            changes["name"] = body.name
        if body.permissions is not None:
            await _grantable(session, principal, client.role, body.permissions)
            changes["permissions"] = [list(client.permissions), sorted(set(body.permissions))]
            client.permissions = sorted(set(body.permissions))
        if scopes is not None:
            changes["scope_change"] = [[s.path for s in client.scopes], [s.path for s in scopes]]
            client.scopes = [ClientScope(path=s.path, hierarchy=s.hierarchy, code=s.code, level=s.level)
                             for s in scopes]
        if body.active is not None:
            client.active = body.active
            changes["active"] = body.active
        client.updated_at = datetime.now(UTC)
        if set(changes) - {"name"}:
            await gw.revocations.revoke_subject(session, str(client.id))
        audit(session, principal, "client.updated", "client", str(client.id), [s.path for s in client.scopes],
              **changes)
        return _out(client)


@router.post("/{client_pk}/secret", response_model=ClientWithSecret,
             summary="Issue a new secret (the old one stops working, its tokens are refused)")
async def rotate_secret(request: Request, principal: Manager, client_pk: uuid.UUID) -> ClientWithSecret:
    gw = request.app.state.gateway
    secret = new_client_secret()
    async with gw.db.session(principal) as session:
        client = await _managed(session, principal, client_pk)
        client.secret_hash = hash_client_secret(secret)
        client.updated_at = datetime.now(UTC)
        await gw.revocations.revoke_subject(session, str(client.id))
        audit(session, principal, "client.secret_rotated", "client", str(client.id),
              [s.path for s in client.scopes])
        return ClientWithSecret(**_out(client).model_dump(), client_secret=secret)
