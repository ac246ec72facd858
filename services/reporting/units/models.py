"""The units read model: the registry's administrative units and the 2025 crosswalk, as published."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Boolean, Date, String
from sqlalchemy.orm import Mapped, mapped_column

from services.reporting.db import PATH, Base


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
