"""API shapes of import jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel

from services.registry.imports.models import ImportJob

JobStatus = Literal["pending", "running", "completed", "rejected", "failed"]


class ImportErrorOut(BaseModel):
    row: int | None  # spreadsheet row: 1 is the header, 2 the first household; null for the whole file
    column: str | None
    reason: str


class ImportJobOut(BaseModel):
    id: UUID
    status: str  # pending | running | completed | rejected | failed
    filename: str
    format: str | None
    size_bytes: int
    keep_valid: bool
    hierarchy: str | None
    unit_path: str
    rows_total: int | None
    rows_done: int
    rows_stored: int
    rows_rejected: int
    errors_total: int
    counts: dict[str, int] | None
    failure: str | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: ImportJob) -> ImportJobOut:
        return cls.model_validate(job, from_attributes=True)


class ImportJobDetail(ImportJobOut):
    errors: list[ImportErrorOut]
    errors_limit: int
    errors_offset: int
