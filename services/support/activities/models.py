"""Body activities that are not deliveries to households but that reports count (training sessions
and participants, scrap-collection groups and their income, "10+1" models): a body, a unit, a
period, a kind from the catalogue and its named measures; and the change history of each."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, Date, DateTime, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.support.db import CODE, Base
from services.support.history import HistoryColumns
from shared.db import Scoped
from shared.events import uuid7


class Activity(Scoped, Base):
    __tablename__ = "activities"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    unit_code: Mapped[str] = mapped_column(String(12))
    body: Mapped[str] = mapped_column(CODE)
    body_detail: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(CODE)
    title: Mapped[str] = mapped_column(String(300))
    period_from: Mapped[date] = mapped_column(Date)
    period_to: Mapped[date] = mapped_column(Date)
    year: Mapped[int] = mapped_column(Integer)
    measures: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    amount_vnd: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(12), default="recorded")  # recorded | voided
    note: Mapped[str | None] = mapped_column(Text)
    void_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    recorded_by: Mapped[str | None] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ActivityHistory(Scoped, HistoryColumns, Base):
    """One change of an activity (recorded, voided): who, when, why, before and after."""

    __tablename__ = "activity_history"

    activity_id: Mapped[UUID] = mapped_column(index=True)
