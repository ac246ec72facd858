"""`/admin/clients`: system clients (other government systems using client credentials), limited by
scope like people's accounts. The secret is shown once, when made; only its hash is kept.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from gateway.admin.access import Manager
from gateway.admin.clients import repository, service
from gateway.admin.clients.schemas import ClientCreate, ClientOut, ClientUpdate, ClientWithSecret
from gateway.admin.schemas import AdminPaging
from gateway.dependencies import DatabaseDep, DirectoryDep, RevocationsDep
from shared.pagination import Page, paginate

router = APIRouter(prefix="/admin/clients", tags=["admin: system clients"])


@router.get("", response_model=Page[ClientOut], summary="System clients inside your scope")
async def list_clients(principal: Manager, db: DatabaseDep, paging: AdminPaging,
                       active: bool | None = None) -> Page[ClientOut]:
    async with db.session(principal) as session:
        return await paginate(session, repository.managed_clients(principal, active), paging, ClientOut.of)


@router.post("", response_model=ClientWithSecret, status_code=201, summary="Register a system client")
async def create_client(principal: Manager, body: ClientCreate, db: DatabaseDep,
                        directory: DirectoryDep) -> ClientWithSecret:
    client, secret = await service.create_client(db, directory, principal, body)
    return ClientWithSecret(**ClientOut.of(client).model_dump(), client_secret=secret)


@router.get("/{client_pk}", response_model=ClientOut, summary="One system client")
async def get_client(principal: Manager, client_pk: uuid.UUID, db: DatabaseDep) -> ClientOut:
    return ClientOut.of(await service.get_client(db, principal, client_pk))


@router.patch("/{client_pk}", response_model=ClientOut, summary="Change a system client (ends its tokens)")
async def update_client(principal: Manager, client_pk: uuid.UUID, body: ClientUpdate, db: DatabaseDep,
                        revocations: RevocationsDep, directory: DirectoryDep) -> ClientOut:
    return ClientOut.of(await service.update_client(db, revocations, directory, principal, client_pk, body))


@router.post("/{client_pk}/secret", response_model=ClientWithSecret,
             summary="Issue a new secret (the old one stops working, its tokens are refused)")
async def rotate_secret(principal: Manager, client_pk: uuid.UUID, db: DatabaseDep,
                        revocations: RevocationsDep) -> ClientWithSecret:
    client, secret = await service.rotate_secret(db, revocations, principal, client_pk)
    return ClientWithSecret(**ClientOut.of(client).model_dump(), client_secret=secret)
