"""The annual review of a commune, its village meetings, monthly regular reviews and certificates."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.registry.db import Base
from shared.db import Scoped
from shared.events import uuid7


class Review(Scoped, Base):
    __tablename__ = "reviews"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    commune_code: Mapped[str] = mapped_column(String(8))
    year: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(24), default="opened")  # rules.STATES
    version: Mapped[int] = mapped_column(Integer, default=1)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    opened_by: Mapped[str] = mapped_column(String(100))
    assessments_recorded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    posted_from: Mapped[date | None] = mapped_column(Date)
    posted_to: Mapped[date | None] = mapped_column(Date)
    posting_places: Mapped[str | None] = mapped_column(String(300))
    posted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_number: Mapped[str | None] = mapped_column(String(60))
    decision_date: Mapped[date | None] = mapped_column(Date)
    decision_signer: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(100))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_by: Mapped[str | None] = mapped_column(String(100))
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    members: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    transitions: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class Meeting(Scoped, Base):
    __tablename__ = "review_meetings"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    review_id: Mapped[UUID] = mapped_column(ForeignKey("reviews.id"), index=True)
    village: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[date] = mapped_column(Date)
    attendees: Mapped[int] = mapped_column(Integer)
    agreeing: Mapped[int] = mapped_column(Integer)
    minutes_ref: Mapped[str | None] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    recorded_by: Mapped[str] = mapped_column(String(100))


class RegularReview(Scoped, Base):
    """A household's request between annual reviews (form 04); decided within 15 days."""

    __tablename__ = "regular_reviews"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    household_id: Mapped[UUID] = mapped_column(ForeignKey("households.id"), index=True)
    commune_code: Mapped[str] = mapped_column(String(8))
    request: Mapped[str] = mapped_column(String(16))  # enter | exit
    reason: Mapped[str | None] = mapped_column(Text)
    requested_on: Mapped[date] = mapped_column(Date)
    deadline: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(12), default="pending")
    decided_on: Mapped[date | None] = mapped_column(Date)
    decision_number: Mapped[str | None] = mapped_column(String(60))
    outcome_status: Mapped[str | None] = mapped_column(String(16))
    assessment_id: Mapped[UUID | None] = mapped_column()
    certificate_number: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str] = mapped_column(String(100))
    decided_by: Mapped[str | None] = mapped_column(String(100))


class Certificate(Scoped, Base):
    """A certificate (form 03) for a household recognised poor or near-poor; numbered per commune and year."""

    __tablename__ = "certificates"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    commune_code: Mapped[str] = mapped_column(String(8))
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(40))
    household_id: Mapped[UUID] = mapped_column(ForeignKey("households.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(12))  # annual | regular
    review_id: Mapped[UUID | None] = mapped_column()
    regular_review_id: Mapped[UUID | None] = mapped_column()
    issued_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
