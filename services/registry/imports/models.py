"""Import jobs and their rejected rows.

A job is `Scoped`: its `unit_path` starts as the caller's scope unit and narrows to the lowest unit
holding every commune of the file once the file is read, so the officers of that commune see it
too. Error rows are reached only through their (scope-checked) job.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlalchemy.orm import Mapped, mapped_column

from services.registry.db import Base
from shared.db import Scoped

PENDING, RUNNING, COMPLETED, REJECTED, FAILED = "pending", "running", "completed", "rejected", "failed"
FINISHED = frozenset({COMPLETED, REJECTED, FAILED})


class ImportJob(Scoped, Base):
    __tablename__ = "import_jobs"

    id: Mapped[UUID] = mapped_column(PgUUID(as_uuid=True), primary_key=True)
    status: Mapped[str] = mapped_column(String(12), default=PENDING)
    format: Mapped[str | None] = mapped_column(String(8))
    filename: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    keep_valid: Mapped[bool] = mapped_column(Boolean, default=False)
    hierarchy: Mapped[str | None] = mapped_column(String(8))  # asked by the caller, else the scope's
    rows_total: Mapped[int | None] = mapped_column(Integer)  # an estimate while running, exact at the end
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    rows_stored: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    errors_total: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[dict[str, int] | None] = mapped_column(JSONB)  # households stored per status
    failure: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ImportProblem(Base):
    """One problem of a job: a rejected row, or the file itself when `row` is null."""

    __tablename__ = "import_errors"

    job_id: Mapped[UUID] = mapped_column(PgUUID(as_uuid=True), ForeignKey("import_jobs.id", ondelete="CASCADE"),
                                         primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    row: Mapped[int | None] = mapped_column(Integer)
    column: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
