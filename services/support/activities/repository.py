"""Activity queries (through the caller's scoped session)."""

from __future__ import annotations

from sqlalchemy import Select, select

from services.support.activities.models import Activity
from services.support.activities.rules import RECORDED
from shared.db import scope_clause


def activities(unit_path: str | None, *, body: str | None, kind: str | None, year: int | None,
               include_voided: bool) -> Select[Activity]:
    """Newest period first; `unit_path` = that unit's subtree (None: the caller's scope)."""
    query = select(Activity).order_by(Activity.period_to.desc(), Activity.id)
    if unit_path is not None:
        query = query.where(scope_clause(Activity.unit_path, [unit_path]))
    for column, value in ((Activity.body, body), (Activity.kind, kind), (Activity.year, year)):
        if value is not None:
            query = query.where(column == value)
    if not include_voided:
        query = query.where(Activity.status == RECORDED)
    return query
