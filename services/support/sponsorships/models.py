"""Sponsorships (đỡ đầu, "10+1", "địa chỉ nhân đạo", monthly rice by an enterprise): a helper, the
households helped, a commitment, a period, and its change history. Scoped to the unit whose households
are helped."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Date, DateTime, Integer, String, Text, Uuid, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.support.db import CODE, Base
from services.support.history import HistoryColumns
from shared.db import Scoped
from shared.events import uuid7


class Sponsorship(Scoped, Base):
    __tablename__ = "sponsorships"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    unit_code: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(24))
    helper_kind: Mapped[str] = mapped_column(String(16))
    helper_name: Mapped[str] = mapped_column(String(200))
    helpers: Mapped[int] = mapped_column(Integer, default=1)
    body: Mapped[str | None] = mapped_column(CODE)
    household_ids: Mapped[list[UUID]] = mapped_column(ARRAY(Uuid), default=list)
    started_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    commitment: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    status: Mapped[str] = mapped_column(String(8), default="active")  # active | ended
    note: Mapped[str | None] = mapped_column(Text)
    end_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SponsorshipHistory(Scoped, HistoryColumns, Base):
    """One change of a sponsorship (started, ended): who, when, why, before and after."""

    __tablename__ = "sponsorship_history"

    sponsorship_id: Mapped[UUID] = mapped_column(index=True)
