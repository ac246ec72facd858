"""Tables owned by the reporting service: read models built from the registry's events.

The hand-written migration `reporting_0002` creates them; these classes describe the same tables for
ORM use. The projection handlers and the indicator queries use set-based SQL on them (see
`projections/` and `indicators/query.py`). Rows that belong to a unit are `Scoped`, so an ORM query
on them is scope-filtered like everywhere else.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, Boolean, Column, Date, DateTime, SmallInteger, String, Table, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.reporting.projections.counters import COLUMNS as COUNTER_COLUMNS
from shared.db import Scoped

PATH = String(160, collation="C")


class Base(DeclarativeBase):
    pass


class Unit(Base):
    """Local copy of the registry's administrative units (`registry.unit.changed`)."""

    __tablename__ = "rp_units"

    path: Mapped[str] = mapped_column(PATH, primary_key=True)
    hierarchy: Mapped[str] = mapped_column(String(8))
    code: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(40))
    level: Mapped[str] = mapped_column(String(16))
    parent_path: Mapped[str | None] = mapped_column(PATH)
    urban: Mapped[bool | None] = mapped_column(Boolean)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    poor_district: Mapped[bool] = mapped_column(Boolean)
    difficult_commune: Mapped[bool] = mapped_column(Boolean)
    ethnic_minority_area: Mapped[bool] = mapped_column(Boolean)
    mountainous: Mapped[bool] = mapped_column(Boolean)
    version: Mapped[int] = mapped_column(BigInteger)


class UnitSuccessor(Base):
    """The 2025 crosswalk as published: an old commune and each new commune it went into."""

    __tablename__ = "rp_unit_successors"

    old_path: Mapped[str] = mapped_column(PATH, primary_key=True)
    new_path: Mapped[str] = mapped_column(PATH, primary_key=True)
    partial: Mapped[bool] = mapped_column(Boolean)


class Crosswalk(Base):
    """The single new commune an old commune's figures are rolled into (docs/reporting.md)."""

    __tablename__ = "rp_crosswalk"

    old_path: Mapped[str] = mapped_column(PATH, primary_key=True)
    new_path: Mapped[str] = mapped_column(PATH)


class Household(Scoped, Base):
    """The household's current registration: where it lives, whether it was removed."""

    __tablename__ = "rp_households"

    household_id: Mapped[str] = mapped_column(Text, primary_key=True)
    household_code: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(16))
    members: Mapped[int] = mapped_column()
    removed: Mapped[bool] = mapped_column(Boolean)
    removed_version: Mapped[int | None] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(BigInteger)


class HouseholdYear(Scoped, Base):
    """One household's assessment in one review year: the latest version seen."""

    __tablename__ = "rp_household_years"

    household_id: Mapped[str] = mapped_column(Text, primary_key=True)
    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    transition: Mapped[str] = mapped_column(String(24))  # "" when the event carried none
    members: Mapped[int] = mapped_column()
    ethnic_minority: Mapped[bool] = mapped_column(Boolean)
    policy_family: Mapped[bool] = mapped_column(Boolean)
    social_protection: Mapped[bool] = mapped_column(Boolean)
    urban: Mapped[bool | None] = mapped_column(Boolean)
    removed: Mapped[bool] = mapped_column(Boolean)
    version: Mapped[int] = mapped_column(BigInteger)


# Counters per (commune, year): one wide row, columns named in projections/counters.py. Read and
# written only by set-based SQL, so it is described as a table rather than a mapped class.
commune_year = Table(
    "rp_commune_year", Base.metadata,
    Column("unit_path", PATH, primary_key=True),
    Column("year", SmallInteger, primary_key=True),
    *(Column(name, BigInteger, nullable=False, server_default="0") for name in COUNTER_COLUMNS),
)


class Review(Scoped, Base):
    """A commune's approved annual review with the registry's own counts (`registry.review.approved`)."""

    __tablename__ = "rp_reviews"

    review_id: Mapped[str] = mapped_column(Text, primary_key=True)
    year: Mapped[int] = mapped_column(SmallInteger)
    counts: Mapped[dict[str, Any]] = mapped_column(JSONB)
    members: Mapped[dict[str, Any]] = mapped_column(JSONB)
    transitions: Mapped[dict[str, Any]] = mapped_column(JSONB)
    approved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(BigInteger)


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
