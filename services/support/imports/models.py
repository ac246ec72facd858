"""An import of deliveries: who sent which file, how many rows it recorded. Scoped to the unit
holding all its rows (their common ancestor)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import BigInteger, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.support.db import Base
from shared.db import Scoped


class ImportJob(Scoped, Base):
    __tablename__ = "import_jobs"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    file_name: Mapped[str | None] = mapped_column(String(200))
    rows: Mapped[int] = mapped_column(Integer)
    amount_vnd: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
