"""Deliveries (to one household, or an aggregate batch) and their change history. Scoped to the
unit where the support was delivered.

Plain columns, client-generated UUIDv7 ids and no triggers, so the bulk import can COPY into them.
Funding parts and quantities are small JSON lists ({source, amount_vnd}, {measure, quantity}); the
parts add up to `amount_vnd` (checked by rules.py before anything is written).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, Boolean, Date, DateTime, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.support.db import CODE, Base
from services.support.history import HistoryColumns
from shared.db import Scoped
from shared.events import uuid7


class Delivery(Scoped, Base):
    __tablename__ = "deliveries"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    kind: Mapped[str] = mapped_column(String(12))  # household | aggregate
    status: Mapped[str] = mapped_column(String(12), default="recorded")  # recorded | voided
    unit_code: Mapped[str] = mapped_column(String(12))
    programme: Mapped[str] = mapped_column(CODE, index=True)
    delivered_on: Mapped[date] = mapped_column(Date)
    period_from: Mapped[date | None] = mapped_column(Date)  # an aggregate may cover a period
    year: Mapped[int] = mapped_column(Integer)
    household_id: Mapped[UUID | None] = mapped_column(index=True)
    member_ids: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    households: Mapped[int] = mapped_column(Integer, default=1)
    persons: Mapped[int | None] = mapped_column(Integer)
    turns: Mapped[int | None] = mapped_column(Integer)
    quantities: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    amount_vnd: Mapped[int] = mapped_column(BigInteger, default=0)
    funding: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    body: Mapped[str] = mapped_column(CODE)
    body_detail: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    document_ref: Mapped[str | None] = mapped_column(String(100))
    household_status: Mapped[str | None] = mapped_column(String(16))  # as the read model held it
    eligibility_exception: Mapped[bool] = mapped_column(Boolean, default=False)
    eligibility_rule: Mapped[str | None] = mapped_column(Text)  # the rule an override set aside
    override_reason: Mapped[str | None] = mapped_column(Text)
    sponsorship_id: Mapped[UUID | None] = mapped_column()
    import_job_id: Mapped[UUID | None] = mapped_column()
    void_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    recorded_by: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DeliveryHistory(Scoped, HistoryColumns, Base):
    """One change of a delivery (recorded, corrected, voided): who, when, why, the fields before and after."""

    __tablename__ = "delivery_history"

    delivery_id: Mapped[UUID] = mapped_column(index=True)
