"""Sponsorship queries (through the caller's scoped session)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import Select, select

from services.support.sponsorships.models import Sponsorship
from shared.db import scope_clause


def sponsorships(unit_path: str | None, *, status: str | None, kind: str | None,
                 household_id: UUID | None) -> Select[Sponsorship]:
    """Newest start first; `unit_path` = that unit's subtree (None: the caller's scope)."""
    query = select(Sponsorship).order_by(Sponsorship.started_on.desc(), Sponsorship.id)
    if unit_path is not None:
        query = query.where(scope_clause(Sponsorship.unit_path, [unit_path]))
    if status:
        query = query.where(Sponsorship.status == status)
    if kind:
        query = query.where(Sponsorship.kind == kind)
    if household_id:
        query = query.where(Sponsorship.household_ids.contains([household_id]))
    return query
