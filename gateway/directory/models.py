"""The gateway's copy of the administrative units."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base, C


class DirectoryUnit(Base):
    """One unit, from `registry.unit.changed`."""

    __tablename__ = "directory_units"

    path: Mapped[str] = mapped_column(String(160, collation=C), primary_key=True)
    hierarchy: Mapped[str] = mapped_column(String(8))
    code: Mapped[str] = mapped_column(String(8), index=True)
    level: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200), default="")
    parent_path: Mapped[str | None] = mapped_column(String(160, collation=C))
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
