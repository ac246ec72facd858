"""DCI tables: registered client systems, transactions, subscriptions, deliveries and the access log.

None of them is `Scoped`: a row belongs to a client system (found by its `client_id`), and the records
a client reaches are filtered by the scope of its gateway principal when they are read. Anything that
holds personal data (an async request or answer, a callback body) is stored sealed with the registry's
personal-data key, never as plain JSON.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Boolean, DateTime, Integer, LargeBinary, String, Text, Uuid, false, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.registry.db import Base
from shared.events import uuid7


def _now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


class DciClient(Base):
    """A system registered by an administrator: its gateway client id is the DCI `sender_id`."""

    __tablename__ = "dci_clients"

    client_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    callback_urls: Mapped[list[str]] = mapped_column(ARRAY(String(500)), default=list)
    public_keys: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)  # JWKs
    allow_unsigned: Mapped[bool] = mapped_column(Boolean, default=False)
    data_profile: Mapped[str] = mapped_column(String(12), default="statistics")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()
    updated_by: Mapped[str | None] = mapped_column(String(100))


class DciTransaction(Base):
    """One received message (search, subscribe, unsubscribe): its state for txn/status."""

    __tablename__ = "dci_transactions"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    client_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(12))  # search | subscribe | unsubscribe
    mode: Mapped[str] = mapped_column(String(6))  # sync | async
    message_id: Mapped[str] = mapped_column(String(99))
    transaction_id: Mapped[str] = mapped_column(String(99))
    correlation_id: Mapped[str] = mapped_column(String(99), unique=True)
    status: Mapped[str] = mapped_column(String(4))  # rcvd | pdng | succ | rjct
    reference_ids: Mapped[list[str]] = mapped_column(ARRAY(String(99)), default=list)
    principal: Mapped[dict[str, Any]] = mapped_column(JSONB)  # the caller's claims: async work runs in its scope
    sender_uri: Mapped[str | None] = mapped_column(String(500))
    request_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    response_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    item_statuses: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)  # no personal data
    legacy_seal: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # see sealing.py
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = _now()
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DciSubscription(Base):
    __tablename__ = "dci_subscriptions"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    code: Mapped[str] = mapped_column(String(99), unique=True)
    client_id: Mapped[str] = mapped_column(String(100))
    transaction_id: Mapped[str] = mapped_column(String(99))
    reference_id: Mapped[str] = mapped_column(String(99))
    event_type: Mapped[str] = mapped_column(String(40))
    filter: Mapped[dict[str, Any]] = mapped_column(JSONB)  # the parsed condition (rules.Condition as data)
    scope_paths: Mapped[list[str]] = mapped_column(ARRAY(String(160)))
    sender_uri: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(12), default="subscribe")  # subscribe | unsubscribe
    created_at: Mapped[datetime] = _now()
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DciDelivery(Base):
    """A message to POST to a client's callback, retried with back-off until it is acknowledged."""

    __tablename__ = "dci_deliveries"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    message_id: Mapped[str] = mapped_column(String(99), unique=True)
    client_id: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(20))  # on-search | txn-on-status | on-subscribe | ... | notify
    url: Mapped[str] = mapped_column(String(500))
    body_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    legacy_seal: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # see sealing.py
    subscription_id: Mapped[UUID | None] = mapped_column()
    event_id: Mapped[UUID | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = _now()
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _now()


class DciAccessLog(Base):
    """Which records a client received, for which query and transaction (personal data law)."""

    __tablename__ = "dci_access_log"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    client_id: Mapped[str] = mapped_column(String(100))
    transaction_id: Mapped[str] = mapped_column(String(99))
    correlation_id: Mapped[str] = mapped_column(String(99))
    reference_id: Mapped[str] = mapped_column(String(99))
    action: Mapped[str] = mapped_column(String(20))  # search | notify
    query: Mapped[dict[str, Any]] = mapped_column(JSONB)  # citizen IDs in it are masked
    household_ids: Mapped[list[UUID]] = mapped_column(ARRAY(Uuid), default=list)
    data_profile: Mapped[str] = mapped_column(String(12))
    at: Mapped[datetime] = _now()
