"""Who may sign in: roles, people's accounts, system clients, their scope units, and the login
sessions with their refresh tokens.

Nothing here is `Scoped`: the admin API checks scope containment itself (a manager may touch an
account only when every scope unit of the account lies inside the manager's scope).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ARRAY, Boolean, DateTime, ForeignKey, Integer, LargeBinary, String, Text, Uuid, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gateway.db import Base, C


class Role(Base):
    __tablename__ = "roles"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    permissions: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    # An admin edited it: bootstrap stops syncing it from shared/permissions.py.
    customized: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)  # stored lower-case
    display_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(ForeignKey("roles.name"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str] = mapped_column(Text)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    lockouts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    scopes: Mapped[list[UserScope]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="UserScope.path")


class UserScope(Base):
    __tablename__ = "user_scopes"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    path: Mapped[str] = mapped_column(String(160, collation=C), primary_key=True)
    hierarchy: Mapped[str] = mapped_column(String(8))
    code: Mapped[str] = mapped_column(String(8))
    level: Mapped[str] = mapped_column(String(16))


class SystemClient(Base):
    """Another government system calling the API with client credentials."""

    __tablename__ = "system_clients"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(ForeignKey("roles.name"))
    permissions: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    secret_hash: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    scopes: Mapped[list[ClientScope]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ClientScope.path")


class ClientScope(Base):
    __tablename__ = "client_scopes"

    client_pk: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("system_clients.id", ondelete="CASCADE"), primary_key=True)
    path: Mapped[str] = mapped_column(String(160, collation=C), primary_key=True)
    hierarchy: Mapped[str] = mapped_column(String(8))
    code: Mapped[str] = mapped_column(String(8))
    level: Mapped[str] = mapped_column(String(16))


class LoginSession(Base):
    """A refresh-token family: one login. Its id is the `sid` of every access token it issues."""

    __tablename__ = "login_sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_reason: Mapped[str | None] = mapped_column(String(40))


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("login_sessions.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)  # SHA-256 of the opaque token
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
