"""How far each consumer has applied its stream: one row per consumer."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import BigInteger, DateTime, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.reporting.db import Base


class Progress(Base):
    """Up to which event each consumer has applied: the freshness every answer reports."""

    __tablename__ = "rp_progress"

    consumer: Mapped[str] = mapped_column(Text, primary_key=True)
    last_event_id: Mapped[UUID | None] = mapped_column()
    last_event_type: Mapped[str | None] = mapped_column(Text)
    last_occurred_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_stream_seq: Mapped[int | None] = mapped_column(BigInteger)
    applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    events_applied: Mapped[int] = mapped_column(BigInteger)
