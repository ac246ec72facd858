"""Tables owned by the emulation service (the migrations create them with explicit op.create_table).

Rows that belong to a unit inherit `shared.db.Scoped`: a caller's ORM queries see only its units and
the units below. The units read model (`em_units`) and the facts taken from other services' events
(`em_review_counts`, `em_deliveries`, `em_fund_entries`, `em_households`) are not scoped: only consumers and scoring
write them, and a request reads them only for units it has already located in its scope.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import Scoped

PATH = String(160, collation="C")


class Base(DeclarativeBase):
    pass


class Unit(Base):
    """An administrative unit as the registry's `registry.unit.changed` events describe it."""

    __tablename__ = "em_units"
    path: Mapped[str] = mapped_column(PATH, primary_key=True)
    hierarchy: Mapped[str] = mapped_column(String(8))
    code: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(12))
    parent_path: Mapped[str | None] = mapped_column(PATH, index=True)
    valid_to: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(BigInteger)


class Household(Base):
    """A registry household as its `registry.household.registered` / `.updated` / `.removed` events
    describe it: enough to check a household nominee or registrant (households/service.py)."""

    __tablename__ = "em_households"
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    unit_path: Mapped[str] = mapped_column(PATH)
    removed: Mapped[bool] = mapped_column(Boolean)
    version: Mapped[int] = mapped_column(BigInteger)


class Movement(Scoped, Base):
    """An emulation movement launched by a unit for a period (seed 001: directive 05/CT-UBND)."""

    __tablename__ = "em_movements"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(12))
    issuing_body: Mapped[str] = mapped_column(Text)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text)
    objectives: Mapped[list[Any]] = mapped_column(JSONB)
    phases: Mapped[list[Any]] = mapped_column(JSONB)
    version: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Document(Scoped, Base):
    """A document that launched or steered a movement, issued by `unit_path`."""

    __tablename__ = "em_documents"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    movement_id: Mapped[UUID] = mapped_column(ForeignKey("em_movements.id"), index=True)
    doc_type: Mapped[str] = mapped_column(String(16))
    number: Mapped[str] = mapped_column(Text)
    issued_on: Mapped[date] = mapped_column(Date)
    issuing_body: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    signer: Mapped[str | None] = mapped_column(Text)
    launches_movement: Mapped[bool] = mapped_column(Boolean)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Activity(Scoped, Base):
    """A counted movement activity (broadcasts, news items, conferences with participants, ...)."""

    __tablename__ = "em_activities"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    movement_id: Mapped[UUID] = mapped_column(ForeignKey("em_movements.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    held_on: Mapped[date] = mapped_column(Date)
    year: Mapped[int] = mapped_column(SmallInteger)
    count: Mapped[int] = mapped_column(Integer)
    participants: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    removed: Mapped[bool] = mapped_column(Boolean)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Target(Scoped, Base):
    """A target of one unit for one year and indicator; `parent_path` is who handed it down."""

    __tablename__ = "em_targets"
    __table_args__ = (UniqueConstraint("movement_id", "unit_path", "year", "indicator", name="uq_em_targets"),)
    id: Mapped[UUID] = mapped_column(primary_key=True)
    movement_id: Mapped[UUID] = mapped_column(ForeignKey("em_movements.id"), index=True)
    year: Mapped[int] = mapped_column(SmallInteger)
    indicator: Mapped[str] = mapped_column(String(32))
    value: Mapped[Decimal] = mapped_column(Numeric)
    parent_path: Mapped[str | None] = mapped_column(PATH)
    parent_value: Mapped[Decimal | None] = mapped_column(Numeric)
    version: Mapped[int] = mapped_column(Integer)
    set_by: Mapped[str] = mapped_column(Text)
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Registration(Scoped, Base):
    """A commitment registered for a year by a unit, body, enterprise or household, and the title sought."""

    __tablename__ = "em_registrations"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    movement_id: Mapped[UUID] = mapped_column(ForeignKey("em_movements.id"), index=True)
    year: Mapped[int] = mapped_column(SmallInteger)
    registrant_kind: Mapped[str] = mapped_column(String(16))
    registrant_name: Mapped[str] = mapped_column(Text)
    household_id: Mapped[str | None] = mapped_column(Text)
    title_sought: Mapped[str] = mapped_column(String(40))
    commitment: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Quota(Scoped, Base):
    """How many nominations of one form a unit may submit for a year, set by the level above."""

    __tablename__ = "em_quotas"
    __table_args__ = (UniqueConstraint("unit_path", "form", "year", name="uq_em_quotas"),)
    id: Mapped[UUID] = mapped_column(primary_key=True)
    form: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column(SmallInteger)
    quota: Mapped[int] = mapped_column(Integer)
    set_by_path: Mapped[str] = mapped_column(PATH)
    version: Mapped[int] = mapped_column(Integer)


class Nomination(Scoped, Base):
    """A proposal for an award, by the nominating unit (`unit_path`); `handler_path` is the level holding it."""

    __tablename__ = "em_nominations"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    movement_id: Mapped[UUID | None] = mapped_column(ForeignKey("em_movements.id"), index=True)
    year: Mapped[int] = mapped_column(SmallInteger)
    form: Mapped[str] = mapped_column(String(40))
    nominee_kind: Mapped[str] = mapped_column(String(12))
    nominee_name: Mapped[str] = mapped_column(Text)
    nominee_role: Mapped[str | None] = mapped_column(Text)
    nominee_unit_path: Mapped[str | None] = mapped_column(PATH)
    household_id: Mapped[str | None] = mapped_column(Text)
    achievements: Mapped[str] = mapped_column(Text)
    dossier: Mapped[list[Any]] = mapped_column(JSONB)
    state: Mapped[str] = mapped_column(String(16), index=True)
    handler_path: Mapped[str] = mapped_column(PATH)
    comment: Mapped[str | None] = mapped_column(Text)
    votes_for: Mapped[int | None] = mapped_column(Integer)
    votes_against: Mapped[int | None] = mapped_column(Integer)
    voted_on: Mapped[date | None] = mapped_column(Date)
    submitted_on: Mapped[date | None] = mapped_column(Date)
    history: Mapped[list[Any]] = mapped_column(JSONB)
    version: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Award(Scoped, Base):
    """A decided award: the award book's line and its certificate; `unit_path` is the nominating unit."""

    __tablename__ = "em_awards"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    nomination_id: Mapped[UUID] = mapped_column(ForeignKey("em_nominations.id"), unique=True)
    movement_id: Mapped[UUID | None] = mapped_column(ForeignKey("em_movements.id"))
    year: Mapped[int] = mapped_column(SmallInteger)
    form: Mapped[str] = mapped_column(String(40))
    nominee_kind: Mapped[str] = mapped_column(String(12))
    nominee_name: Mapped[str] = mapped_column(Text)
    decision_number: Mapped[str] = mapped_column(Text)
    decision_date: Mapped[date] = mapped_column(Date)
    signer: Mapped[str] = mapped_column(Text)
    awarding_path: Mapped[str] = mapped_column(PATH)
    awarding_level: Mapped[str] = mapped_column(String(12))
    awarding_authority: Mapped[str] = mapped_column(Text)
    prize_multiplier: Mapped[Decimal | None] = mapped_column(Numeric)
    base_salary: Mapped[int | None] = mapped_column(BigInteger)
    prize_amount: Mapped[int | None] = mapped_column(BigInteger)
    certificate_number: Mapped[str] = mapped_column(Text, unique=True)
    revoked_on: Mapped[date | None] = mapped_column(Date)
    revocation: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    version: Mapped[int] = mapped_column(Integer)


class Exemplar(Scoped, Base):
    """An exemplary model (điển hình tiên tiến, mô hình hay) held up by a unit."""

    __tablename__ = "em_exemplars"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    movement_id: Mapped[UUID | None] = mapped_column(ForeignKey("em_movements.id"))
    kind: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[Any]] = mapped_column(JSONB)
    recognised_by: Mapped[str] = mapped_column(Text)
    recognised_on: Mapped[date] = mapped_column(Date)
    document_number: Mapped[str | None] = mapped_column(Text)
    withdrawn: Mapped[bool] = mapped_column(Boolean)
    version: Mapped[int] = mapped_column(Integer)


class CriteriaSet(Scoped, Base):
    """The criteria and weights a unit (`unit_path`) scores its units of `level` by, for a movement year."""

    __tablename__ = "em_criteria_sets"
    __table_args__ = (UniqueConstraint("movement_id", "unit_path", "year", "level", name="uq_em_criteria_sets"),)
    id: Mapped[UUID] = mapped_column(primary_key=True)
    movement_id: Mapped[UUID] = mapped_column(ForeignKey("em_movements.id"), index=True)
    year: Mapped[int] = mapped_column(SmallInteger)
    level: Mapped[str] = mapped_column(String(12))
    criteria: Mapped[list[Any]] = mapped_column(JSONB)
    version: Mapped[int] = mapped_column(Integer)


class ManualScore(Scoped, Base):
    """Points the emulation board gives a unit (`unit_path`) on a manual criterion, with evidence."""

    __tablename__ = "em_manual_scores"
    __table_args__ = (UniqueConstraint("criteria_set_id", "unit_path", "criterion", name="uq_em_manual_scores"),)
    id: Mapped[UUID] = mapped_column(primary_key=True)
    criteria_set_id: Mapped[UUID] = mapped_column(ForeignKey("em_criteria_sets.id"), index=True)
    criterion: Mapped[str] = mapped_column(String(40))
    points: Mapped[Decimal] = mapped_column(Numeric)
    evidence: Mapped[str] = mapped_column(Text)
    given_by: Mapped[str] = mapped_column(Text)
    given_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Score(Scoped, Base):
    """A unit's yearly score under a criteria set: the total and each criterion's value, points and source."""

    __tablename__ = "em_scores"
    __table_args__ = (UniqueConstraint("criteria_set_id", "unit_path", name="uq_em_scores"),)
    id: Mapped[UUID] = mapped_column(primary_key=True)
    criteria_set_id: Mapped[UUID] = mapped_column(ForeignKey("em_criteria_sets.id"))
    movement_id: Mapped[UUID] = mapped_column(ForeignKey("em_movements.id"))
    year: Mapped[int] = mapped_column(SmallInteger)
    level: Mapped[str] = mapped_column(String(12))
    parent_path: Mapped[str | None] = mapped_column(PATH)
    total: Mapped[Decimal] = mapped_column(Numeric)
    criteria: Mapped[list[Any]] = mapped_column(JSONB)
    version: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReviewCount(Base):
    """A commune's households by status after its approved annual review (`registry.review.approved`)."""

    __tablename__ = "em_review_counts"
    unit_path: Mapped[str] = mapped_column(PATH, primary_key=True)
    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    households: Mapped[int] = mapped_column(Integer)
    poor: Mapped[int] = mapped_column(Integer)
    near_poor: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(BigInteger)


class Delivery(Base):
    """The latest state of a support delivery (`support.delivery.*`): counted while `recorded`."""

    __tablename__ = "em_deliveries"
    delivery_id: Mapped[str] = mapped_column(Text, primary_key=True)
    unit_path: Mapped[str] = mapped_column(PATH, index=True)
    year: Mapped[int] = mapped_column(SmallInteger)
    amount_vnd: Mapped[int] = mapped_column(BigInteger)
    households: Mapped[int] = mapped_column(Integer)
    houses: Mapped[Decimal] = mapped_column(Numeric)  # a housing delivery's houses built or repaired
    status: Mapped[str] = mapped_column(String(12))
    version: Mapped[int] = mapped_column(BigInteger)


class FundEntry(Base):
    """A donation into a unit's fund for the poor (`support.fund.donation_received`): the fund raised,
    unless a reversal cancelled it (`support.fund.reversed`: `reversed_by` names the reversal entry)."""

    __tablename__ = "em_fund_entries"
    entry_id: Mapped[str] = mapped_column(Text, primary_key=True)
    unit_path: Mapped[str] = mapped_column(PATH, index=True)
    year: Mapped[int] = mapped_column(SmallInteger)
    amount_vnd: Mapped[int] = mapped_column(BigInteger)
    reversed_by: Mapped[str | None] = mapped_column(Text, default=None)


class RescoreQueue(Base):
    """A (unit, year) whose facts changed since it was last scored: the consumers add it in the same
    transaction as the facts, the re-scorer takes a whole backlog at once (scoring.worker)."""

    __tablename__ = "em_rescore_queue"
    unit_path: Mapped[str] = mapped_column(PATH, primary_key=True)
    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
