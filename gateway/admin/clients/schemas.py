"""System clients as the admin API takes and shows them."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from gateway.admin.schemas import ScopeIn, ScopeOut
from gateway.identity.models import SystemClient

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

    @classmethod
    def of(cls, client: SystemClient) -> ClientOut:
        return cls(
            id=client.id, client_id=client.client_id, name=client.name, role=client.role,
            permissions=list(client.permissions), active=client.active, created_by=client.created_by,
            scopes=[ScopeOut(hierarchy=s.hierarchy, code=s.code, path=s.path, level=s.level) for s in client.scopes],
            created_at=client.created_at, updated_at=client.updated_at,
        )


class ClientWithSecret(ClientOut):
    client_secret: str = Field(description="Shown only now: store it safely")
