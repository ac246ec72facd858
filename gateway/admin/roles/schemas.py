"""Roles as the admin API takes and shows them."""

from __future__ import annotations

from pydantic import BaseModel, Field

from gateway.identity.models import Role


class RoleOut(BaseModel):
    name: str
    description: str
    permissions: list[str]
    builtin: bool
    customized: bool

    @classmethod
    def of(cls, role: Role) -> RoleOut:
        return cls(name=role.name, description=role.description, permissions=sorted(role.permissions),
                   builtin=role.builtin, customized=role.customized)


class RoleUpdate(BaseModel):
    description: str | None = Field(default=None, max_length=500)
    permissions: list[str]
