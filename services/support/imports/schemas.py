"""An accepted import as the API answers it."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel


class ImportOut(BaseModel):
    id: UUID
    unit_path: str
    file_name: str | None
    rows: int
    amount_vnd: int
    created_by: str
    created_at: datetime
