"""Approved annual reviews as the registry published them (`registry.review.approved`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, SmallInteger, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.reporting.db import Base
from shared.db import Scoped


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
