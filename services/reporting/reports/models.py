"""Periodic reports, their versions and the actions taken on them. Rows are `Scoped`: a caller's ORM
queries see only the reports of its units and the units below them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.reporting.db import PATH, Base
from shared.db import Scoped


class Report(Scoped, Base):
    """One unit's report of one type for one period; `version` is its current version's number."""

    __tablename__ = "rp_reports"
    __table_args__ = (UniqueConstraint("unit_path", "report_type", "period", name="uq_rp_reports_unit_type_period"),)

    id: Mapped[UUID] = mapped_column(primary_key=True)
    unit_name: Mapped[str] = mapped_column(Text)
    report_type: Mapped[str] = mapped_column(String(16))
    period: Mapped[str] = mapped_column(String(64))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16))  # draft | submitted | returned | accepted
    version: Mapped[int] = mapped_column(Integer)
    row_version: Mapped[int] = mapped_column(Integer)  # the ETag: every change raises it
    first_submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # accepted or returned
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReportVersion(Scoped, Base):
    """What officers wrote in one version; a submitted version also holds its figures as submitted."""

    __tablename__ = "rp_report_versions"

    report_id: Mapped[UUID] = mapped_column(ForeignKey("rp_reports.id", ondelete="CASCADE"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    content: Mapped[dict[str, Any]] = mapped_column(JSONB)
    figures: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    consolidated_from: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(Text)
    created_by_name: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ReportAction(Scoped, Base):
    """Submitted, returned (with the comments), accepted: who, from which unit, when, on which version."""

    __tablename__ = "rp_report_actions"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    report_id: Mapped[UUID] = mapped_column(ForeignKey("rp_reports.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(Text)
    actor_name: Mapped[str] = mapped_column(Text)
    actor_unit: Mapped[str] = mapped_column(PATH)
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
