"""Administrative units of both hierarchies and the 2025 crosswalk.

A unit is identified by (hierarchy, code): codes are reused across the July 2025 reform. Its
`path` starts with the hierarchy (`v2008.24.213.07207`, `v2025.24.07210`).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.registry.db import Base


class Unit(Base):
    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("hierarchy", "code", name="units_hierarchy_code"),)

    path: Mapped[str] = mapped_column(String(160, collation="C"), primary_key=True)
    hierarchy: Mapped[str] = mapped_column(String(8))  # v2008 | v2025
    code: Mapped[str] = mapped_column(String(8), index=True)
    name: Mapped[str] = mapped_column(String(200))  # official Vietnamese name, e.g. "Phường Ngô Quyền"
    name_search: Mapped[str] = mapped_column(String(200, collation="C"), index=True)  # lower, no diacritics
    type: Mapped[str] = mapped_column(String(40))  # tỉnh, thành phố trung ương, huyện, quận, xã, phường, ...
    level: Mapped[str] = mapped_column(String(16))  # province | district | commune
    parent_path: Mapped[str | None] = mapped_column(String(160, collation="C"), index=True)
    urban: Mapped[bool | None] = mapped_column(Boolean)  # communes: phường / thị trấn urban, xã rural
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    # Flags a province officer sets.
    poor_district: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    difficult_commune: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")  # "135"
    ethnic_minority_area: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    mountainous: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class UnitSuccession(Base):
    """Crosswalk: an old (v2008) commune and the new (v2025) commune(s) it went into."""

    __tablename__ = "unit_successions"

    old_path: Mapped[str] = mapped_column(String(160, collation="C"), ForeignKey("units.path"), primary_key=True)
    new_path: Mapped[str] = mapped_column(String(160, collation="C"), ForeignKey("units.path"), primary_key=True,
                                          index=True)
    # True when only part of the old commune went into the new one.
    partial: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
