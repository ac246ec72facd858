"""The system clients admin's use cases: register a client inside the manager's scope (its secret
shown once, only its hash kept), change it, issue a new secret. Changes end the client's tokens."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.admin.access import resolve_scopes
from gateway.admin.audit import repository as audit
from gateway.admin.clients import repository
from gateway.admin.clients.schemas import ClientCreate, ClientUpdate
from gateway.admin.rules import require_grantable, require_within
from gateway.directory.service import UnitDirectory
from gateway.identity import repository as identity_repository
from gateway.identity.models import ClientScope, Role, SystemClient
from gateway.identity.passwords import hash_client_secret, new_client_secret
from gateway.tokens.revocation import Revocations
from shared.db import Database
from shared.errors import Problem, conflict, not_found
from shared.principal import Principal


async def _managed(session: AsyncSession, principal: Principal, pk: uuid.UUID) -> SystemClient:
    client = await repository.managed_client(session, principal, pk)
    if client is None:
        raise not_found("client", pk)
    return client


async def _grantable(session: AsyncSession, principal: Principal, role: str, permissions: list[str]) -> None:
    if await session.get(Role, role) is None:
        raise Problem(422, "unknown_role", "Unknown role", f"No role named '{role}'.", field="role")
    require_grantable(principal, permissions or await identity_repository.role_permissions(session, role))


async def get_client(db: Database, principal: Principal, pk: uuid.UUID) -> SystemClient:
    async with db.session(principal) as session:
        return await _managed(session, principal, pk)


async def create_client(db: Database, directory: UnitDirectory, principal: Principal,
                        body: ClientCreate) -> tuple[SystemClient, str]:
    """The client and its secret (shown this once)."""
    scopes = resolve_scopes(directory, body.scopes)
    require_within(principal, [s.path for s in scopes], "client")
    secret = new_client_secret()
    async with db.session(principal) as session:
        await _grantable(session, principal, body.role, body.permissions)
        if await repository.client_id_taken(session, body.client_id):
            raise conflict("client_id_taken", f"The client id '{body.client_id}' is taken.")
        client = SystemClient(
            id=uuid.uuid4(), client_id=body.client_id, name=body.name, role=body.role,
            permissions=sorted(set(body.permissions)), secret_hash=hash_client_secret(secret), active=True,
            demo=False, created_by=principal.name or principal.id,
            scopes=[ClientScope(path=s.path, hierarchy=s.hierarchy, code=s.code, level=s.level) for s in scopes])
        session.add(client)
        audit.record(session, principal, "client.created", "client", str(client.id), [s.path for s in scopes],
                     client_id=client.client_id, permissions=client.permissions)
        await session.flush()
        await session.refresh(client, ["created_at", "updated_at"])
        return client, secret


async def update_client(db: Database, revocations: Revocations, directory: UnitDirectory, principal: Principal,
                        pk: uuid.UUID, body: ClientUpdate) -> SystemClient:
    scopes = resolve_scopes(directory, body.scopes) if body.scopes is not None else None
    if scopes is not None:
        require_within(principal, [s.path for s in scopes], "client")
    async with db.session(principal) as session:
        client = await _managed(session, principal, pk)
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
            await revocations.revoke_subject(session, str(client.id))
        audit.record(session, principal, "client.updated", "client", str(client.id),
                     [s.path for s in client.scopes], **changes)
        return client


async def rotate_secret(db: Database, revocations: Revocations, principal: Principal,
                        pk: uuid.UUID) -> tuple[SystemClient, str]:
    """A new secret: the old one stops working and the client's tokens are refused."""
    secret = new_client_secret()
    async with db.session(principal) as session:
        client = await _managed(session, principal, pk)
        client.secret_hash = hash_client_secret(secret)
        client.updated_at = datetime.now(UTC)
        await revocations.revoke_subject(session, str(client.id))
        audit.record(session, principal, "client.secret_rotated", "client", str(client.id),
                     [s.path for s in client.scopes])
        return client, secret
