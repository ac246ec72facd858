"""The eligibility read model: units and households as the registry's events describe them.

Written only by `projection.py` (the registry consumer); read by deliveries (which unit, which
status) and by the coverage gaps. Rebuildable by replaying the REGISTRY stream.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import Boolean, DateTime, Integer, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from services.support.db import Base
from shared.db import Scoped

PATH = String(160, collation="C")


class SupportUnit(Base):
    """An administrative unit (reference data: not scoped, like the registry's `units`)."""

    __tablename__ = "sp_units"

    path: Mapped[str] = mapped_column(PATH, primary_key=True)
    hierarchy: Mapped[str] = mapped_column(String(8))
    code: Mapped[str] = mapped_column(String(12, collation="C"), index=True)
    level: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(200))
    parent_path: Mapped[str | None] = mapped_column(PATH)
    version: Mapped[int] = mapped_column(Integer)


class SupportHousehold(Scoped, Base):
    """A household's commune and recognised status, newest registry version wins."""

    __tablename__ = "sp_households"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    household_code: Mapped[str | None] = mapped_column(String(40))
    commune_code: Mapped[str] = mapped_column(String(12))
    status: Mapped[str | None] = mapped_column(String(16))
    status_year: Mapped[int | None] = mapped_column(Integer)
    member_count: Mapped[int] = mapped_column(Integer, default=0)
    # The indicator codes the household is deprived in, from its newest assessment (registry
    # classification codes, e.g. housing_quality); None until an assessment event tells them.
    deprived_indicators: Mapped[list[str] | None] = mapped_column(ARRAY(String(40)))
    # The ids of its current members (registered / updated events; an import's batch items tell its
    # head); None until an event tells them.
    member_ids: Mapped[list[str] | None] = mapped_column(ARRAY(String(40)))
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # the registry event's time
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # when this consumer applied it


class SupportTransition(Scoped, Base):
    """A recognised assessment: the household's status in a review year and its transition."""

    __tablename__ = "sp_household_transitions"

    household_id: Mapped[UUID] = mapped_column(primary_key=True)
    review_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    previous_status: Mapped[str | None] = mapped_column(String(16))
    transition: Mapped[str | None] = mapped_column(String(24))
    version: Mapped[int] = mapped_column(Integer)
    # When the registry recognised it (the assessment event's time); NULL for transitions held before
    # the column existed and not re-read from the stream since.
    recognised_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
