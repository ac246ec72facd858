"""Households and their members, assessments, history and access log: all scoped to the commune.

Every table has plain columns and client-generated UUIDv7 ids so a bulk import can COPY into it.
Citizen IDs live only as ciphertext plus a keyed hash (services/registry/personal_data.py).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, Boolean, Date, DateTime, ForeignKey, Integer, LargeBinary, String, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.registry.db import Base
from shared.db import Scoped
from shared.events import uuid7

C = "C"


def _now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


class Household(Scoped, Base):
    __tablename__ = "households"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    commune_code: Mapped[str] = mapped_column(String(8))
    household_code: Mapped[str] = mapped_column(String(40))
    village: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    head_name: Mapped[str] = mapped_column(String(200))
    head_name_search: Mapped[str] = mapped_column(String(200, collation=C))
    area: Mapped[str] = mapped_column(String(8))  # urban | rural, from the commune
    member_count: Mapped[int] = mapped_column(Integer, default=0)
    ethnic_minority: Mapped[bool] = mapped_column(Boolean, default=False)
    policy_family: Mapped[bool] = mapped_column(Boolean, default=False)  # người có công
    social_protection: Mapped[bool] = mapped_column(Boolean, default=False)
    no_labour_capacity: Mapped[bool] = mapped_column(Boolean, default=False)
    # The recognised status (after a review's approval or a regular-review decision) and its year.
    status: Mapped[str | None] = mapped_column(String(16))
    status_year: Mapped[int | None] = mapped_column(Integer)
    ever_poor: Mapped[bool] = mapped_column(Boolean, default=False)  # tells re-poor from newly poor
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()
    created_by: Mapped[str | None] = mapped_column(String(100))
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    removed_reason: Mapped[str | None] = mapped_column(Text)
    removed_by: Mapped[str | None] = mapped_column(String(100))


class Member(Scoped, Base):
    __tablename__ = "household_members"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    household_id: Mapped[UUID] = mapped_column(ForeignKey("households.id"), index=True)
    full_name: Mapped[str] = mapped_column(String(200))
    name_search: Mapped[str] = mapped_column(String(200, collation=C))
    citizen_id_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    citizen_id_hash: Mapped[bytes | None] = mapped_column(LargeBinary)
    birth_date: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(8))
    ethnicity: Mapped[str | None] = mapped_column(String(60))
    relation: Mapped[str] = mapped_column(String(24))
    is_head: Mapped[bool] = mapped_column(Boolean, default=False)
    no_labour_capacity: Mapped[bool] = mapped_column(Boolean, default=False)
    social_protection: Mapped[bool] = mapped_column(Boolean, default=False)
    policy_person: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    removed_reason: Mapped[str | None] = mapped_column(Text)


class Assessment(Scoped, Base):
    """The inputs, the standard applied and the result; `recognised` once a decision confirms it."""

    __tablename__ = "household_assessments"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    household_id: Mapped[UUID] = mapped_column(ForeignKey("households.id"), index=True)
    review_year: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(8), default="annual")  # annual | regular
    area: Mapped[str] = mapped_column(String(8))
    income_per_capita: Mapped[int] = mapped_column(BigInteger)
    deprived_indicators: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    deprived_count: Mapped[int] = mapped_column(Integer)
    standard: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    poverty_line: Mapped[int] = mapped_column(BigInteger)
    near_poverty_line: Mapped[int | None] = mapped_column(BigInteger)
    middle_income_line: Mapped[int | None] = mapped_column(BigInteger)
    explanation: Mapped[str] = mapped_column(Text, default="")
    member_count: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(12), default="recorded")  # recorded | recognised
    previous_status: Mapped[str | None] = mapped_column(String(16))
    transition: Mapped[str | None] = mapped_column(String(24))
    recognised_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    review_id: Mapped[UUID | None] = mapped_column()
    regular_review_id: Mapped[UUID | None] = mapped_column()
    certificate_number: Mapped[str | None] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(12), default="api")
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()
    created_by: Mapped[str | None] = mapped_column(String(100))


class HistoryEntry(Scoped, Base):
    """One change of a household: who, when, what it was before and after (citizen IDs masked)."""

    __tablename__ = "household_history"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    household_id: Mapped[UUID] = mapped_column(ForeignKey("households.id"))
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str | None] = mapped_column(String(40))
    at: Mapped[datetime] = _now()
    reason: Mapped[str | None] = mapped_column(Text)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    correlation_id: Mapped[str | None] = mapped_column(String(128))


class AccessLogEntry(Scoped, Base):
    """A read of a household's full record (personal data): who, when, why, unmasked or not. The table is
    partitioned by month of `at` (its primary key in the database is (id, at); see partitions.py)."""

    __tablename__ = "personal_data_access_log"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    household_id: Mapped[UUID] = mapped_column()
    principal_id: Mapped[str] = mapped_column(String(100))
    principal_role: Mapped[str | None] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(24), default="read")
    unmasked: Mapped[bool] = mapped_column(Boolean)
    purpose: Mapped[str | None] = mapped_column(String(300))
    request_id: Mapped[str | None] = mapped_column(String(128))
    at: Mapped[datetime] = _now()
