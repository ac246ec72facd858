"""Sponsorship queries (through the caller's scoped session)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from sqlalchemy import Select, or_, select

from services.support.sponsorships.models import Sponsorship
from services.support.sponsorships.rules import ACTIVE, ENDED
from shared.db import scope_clause


def sponsorships(unit_path: str | None, *, status: str | None, kind: str | None,
                 household_id: UUID | None, today: date) -> Select[Sponsorship]:
    """Newest start first; `unit_path` = that unit's subtree (None: the caller's scope). `active`:
    not ended and not past its `ends_on` on `today`; `ended`: ended, or past its `ends_on`."""
    query = select(Sponsorship).order_by(Sponsorship.started_on.desc(), Sponsorship.id)
    if unit_path is not None:
        query = query.where(scope_clause(Sponsorship.unit_path, [unit_path]))
    running = (Sponsorship.status == ACTIVE) & (Sponsorship.ends_on.is_(None) | (Sponsorship.ends_on >= today))
    if status == ACTIVE:
        query = query.where(running)
    elif status == ENDED:
        query = query.where(or_(Sponsorship.status == ENDED, Sponsorship.ends_on < today))
    if kind:
        query = query.where(Sponsorship.kind == kind)
    if household_id:
        query = query.where(Sponsorship.household_ids.contains([household_id]))
    return query
