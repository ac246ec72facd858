"""Every change of a support record kept: who, when, why, the fields before and after.

One mechanism for every kind (deliveries, sponsorships, body activities, catalogue entries): each
kind has its own table (its id column, and `unit_path` when the kind is scoped) with the columns of
`HistoryColumns`; `record` adds the entry of a change to the caller's session, so it is written in
the transaction of the change (`entry` builds one row); `query` is an item's history, oldest first;
`HistoryOut` is how the API answers it, and `page` is one page of it, what each kind's history
route answers. A new item's entry holds the whole snapshot in `after`; a change holds only the
fields that changed, on both sides (`changes`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy import DateTime, Integer, Select, String, Text, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shared import clock
from shared.context import request_id_var
from shared.db import Scoped
from shared.events import uuid7
from shared.pagination import Page, PageParams, paginate
from shared.principal import Principal

H = TypeVar("H", bound="HistoryColumns")
# The actor of changes made by the set-up (the catalogue's data file), not by a caller.
BOOTSTRAP = "bootstrap"


class HistoryColumns:
    """The columns every history table has (mixed into each kind's mapped class)."""

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    version: Mapped[int] = mapped_column(Integer)  # the item's version after the change
    action: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str | None] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    reason: Mapped[str | None] = mapped_column(Text)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    correlation_id: Mapped[str | None] = mapped_column(String(128))


class HistoryOut(BaseModel):
    version: int
    action: str
    actor_id: str
    actor_role: str | None
    at: datetime
    reason: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def out(row: HistoryColumns) -> HistoryOut:
    return HistoryOut.model_validate(row, from_attributes=True)


def _plain(value: Any) -> Any:
    """A value as JSON keeps it: dates as ISO text, ids and exact decimals as text."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (UUID, Decimal)):
        return str(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def snapshot(item: Any, fields: Iterable[str]) -> dict[str, Any]:
    """The named fields of an item, as the history keeps them."""
    return {name: _plain(getattr(item, name)) for name in fields}


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields that changed, on both sides (the history keeps these)."""
    keys = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def entry(model: type[H], principal: Principal | None, *, version: int, action: str,
          before: dict[str, Any] | None, after: dict[str, Any] | None, reason: str | None = None,
          **key: Any) -> H:
    """One history row of `model`: `key` names the item (its id column, and `unit_path` for a scoped
    kind); no principal: the set-up made the change."""
    make: Any = model  # a mapped class: its constructor takes the columns by name
    row: H = make(id=uuid7(), version=version, action=action, actor_id=principal.id if principal else BOOTSTRAP,
                  actor_role=principal.role if principal else None, at=clock.now(), reason=reason, before=before,
                  after=after, correlation_id=request_id_var.get(), **key)
    return row


def record(session: AsyncSession, model: type[H], principal: Principal | None, item: Any, action: str,
           fields: Iterable[str], *, before: dict[str, Any] | None = None, reason: str | None = None,
           **key: Any) -> None:
    """Adds to the caller's session (its transaction) the entry of `item`'s change to its current
    version: its whole snapshot of `fields` when `before` is None (a new item), else the fields that
    changed since `before`. A scoped kind's entry takes the item's unit."""
    after = snapshot(item, fields)
    old, new = (None, after) if before is None else changes(before, after)
    if issubclass(model, Scoped):
        key.setdefault("unit_path", item.unit_path)
    session.add(entry(model, principal, version=item.version, action=action, before=old, after=new, reason=reason,
                      **key))


def query(model: type[H], **key: Any) -> Select[H]:
    """An item's history, oldest first (through the caller's session: a scoped kind's rows are
    filtered by the caller's scope too)."""
    statement = select(model)
    for name, value in key.items():
        statement = statement.where(getattr(model, name) == value)
    return statement.order_by(model.version, model.at)


async def page(session: AsyncSession, paging: PageParams, model: type[H], **key: Any) -> Page[HistoryOut]:
    """One page of an item's history as the API answers it (the route has found the item first, under
    the item's own scope rule: an item the caller may not see is a 404, not an empty history)."""
    return await paginate(session, query(model, **key), paging, out)
