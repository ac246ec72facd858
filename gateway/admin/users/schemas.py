"""People's accounts as the admin API takes and shows them."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from gateway.admin.schemas import ScopeIn, ScopeOut
from gateway.identity.models import User

USERNAME = r"^[a-z0-9][a-z0-9._-]{2,63}$"


class UserCreate(BaseModel):
    username: str = Field(pattern=USERNAME, description="Lower-case letters, digits, '.', '_' or '-'")
    display_name: str = Field(default="", max_length=200)
    role: str
    scopes: list[ScopeIn] = Field(min_length=1, max_length=50)
    password: str = Field(max_length=200)
    active: bool = True


class UserUpdate(BaseModel):
    display_name: str | None = Field(default=None, max_length=200)
    role: str | None = None
    scopes: list[ScopeIn] | None = Field(default=None, min_length=1, max_length=50)
    active: bool | None = None
    password: str | None = Field(default=None, max_length=200)


class UserOut(BaseModel):
    id: uuid.UUID
    username: str
    display_name: str
    role: str
    active: bool
    scopes: list[ScopeOut]
    failed_logins: int
    locked_until: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id, username=user.username, display_name=user.display_name, role=user.role, active=user.active,
            scopes=[ScopeOut(hierarchy=s.hierarchy, code=s.code, path=s.path, level=s.level) for s in user.scopes],
            failed_logins=user.failed_logins, locked_until=user.locked_until, created_by=user.created_by,
            created_at=user.created_at, updated_at=user.updated_at,
        )
