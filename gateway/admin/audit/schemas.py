"""Audit entries as the admin API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor_id: str
    actor_name: str
    action: str
    target_kind: str
    target_id: str
    detail: dict[str, Any]
