"""The catalogue: programmes, funding sources, delivering bodies, measures and activity kinds.

One table for the five lists: each entry is a code, a Vietnamese name and the fields its list needs
(a programme's category, measures, eligible statuses, period and dated standards), validated by
`schemas.py` on the way in. Reference data, not scoped: every officer reads the same catalogue, and
the same history of each entry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.support.db import CODE, Base
from services.support.history import HistoryColumns


class CatalogueEntry(Base):
    __tablename__ = "catalogue"

    catalogue: Mapped[str] = mapped_column(String(20, collation="C"), primary_key=True)
    code: Mapped[str] = mapped_column(CODE, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    fields: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_by: Mapped[str | None] = mapped_column(String(100))
    # The unit that owns the entry: NULL = national (the data file's entries, and those the national
    # level adds); a province officer's entries belong to the province. Only the owner changes it.
    owner_path: Mapped[str | None] = mapped_column(String(160, collation="C"))


class CatalogueHistory(HistoryColumns, Base):
    """One change of a catalogue entry (added, changed; by an editor or the set-up's data file)."""

    __tablename__ = "catalogue_history"
    __table_args__ = (Index("ix_catalogue_history_entry", "catalogue", "code"),)

    catalogue: Mapped[str] = mapped_column(String(20, collation="C"))
    code: Mapped[str] = mapped_column(CODE)
