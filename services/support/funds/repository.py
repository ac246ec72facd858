"""Fund queries through the caller's scoped session. The spend is ONE conditional UPDATE: the row
lock it takes serialises concurrent spends of one fund, and `balance_vnd >= amount` is checked
against the balance the previous spend committed — two officers spending the last money cannot
both succeed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy import BigInteger, Date, DateTime, Integer, Select, String, Uuid, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.support.funds.models import Fund, FundEntry
from shared.db import scope_clause
from shared.events import OUTBOX_INSERT_SQL, Event, outbox_params

_ENTRY_COLUMNS = tuple(c.key for c in FundEntry.__table__.columns)


def funds(unit_path: str | None) -> Select[Fund]:
    query = select(Fund).order_by(Fund.unit_path)
    if unit_path is not None:
        query = query.where(scope_clause(Fund.unit_path, [unit_path]))
    return query


async def fund(session: AsyncSession, fund_id: UUID) -> Fund | None:
    return (await session.scalars(select(Fund).where(Fund.id == fund_id))).first()


async def fund_of_unit(session: AsyncSession, unit_path: str) -> Fund | None:
    return (await session.scalars(select(Fund).where(Fund.unit_path == unit_path))).first()


async def move(session: AsyncSession, fund_id: UUID, delta: int, day: date) -> tuple[int, int] | None:
    """Adds `delta` (negative: out) to the balance unless it would go below zero, and keeps `day` as the
    fund's latest entry date when it is later; the new (balance, version), or None when the money is
    not there. Money going out dated before the latest entry is checked first (service `_check_out`).
    Expires the ORM copy (the row changed under it)."""
    statement = (update(Fund).where(Fund.id == fund_id, Fund.balance_vnd + delta >= 0)
                 .values(balance_vnd=Fund.balance_vnd + delta, version=Fund.version + 1,
                         latest_on=func.greatest(Fund.latest_on, day))
                 .returning(Fund.balance_vnd, Fund.version).execution_options(synchronize_session="fetch"))
    row = (await session.execute(statement)).first()
    return (int(row[0]), int(row[1])) if row else None


async def locked(session: AsyncSession, fund_id: UUID) -> Fund | None:
    """The fund in the caller's scope, row-locked until the transaction ends (read fresh)."""
    return (await session.scalars(select(Fund).where(Fund.id == fund_id).with_for_update()
                                  .execution_options(populate_existing=True))).first()


_LATER_DAYS = ("SELECT occurred_on, sum(amount_vnd)::bigint FROM fund_entries WHERE fund_id = $1 AND occurred_on > $2 "
               "GROUP BY occurred_on")


async def later_days(session: AsyncSession, fund_id: UUID, day: date) -> list[tuple[date, int]]:
    """The money each day after `day` moved in the fund (signed sums, by the (fund_id, occurred_on) index):
    what the running balance from `day` on is computed from, under the fund's row lock."""
    rows = await session.execute(select(FundEntry.occurred_on, func.sum(FundEntry.amount_vnd)).where(
        FundEntry.fund_id == fund_id, FundEntry.occurred_on > day).group_by(FundEntry.occurred_on))
    return [(on, int(moved)) for on, moved in rows.all()]


async def later_days_on(conn: asyncpg.Connection, fund_id: UUID, day: date) -> list[tuple[date, int]]:
    """`later_days` on the combined spends' connection (system statement: the fund is locked and checked)."""
    return [(r[0], int(r[1])) for r in await conn.fetch(_LATER_DAYS, fund_id, day)]


async def entry_with_receipt(session: AsyncSession, fund_id: UUID, receipt_number: str) -> UUID | None:
    """The live (not reversed) entry of the fund holding this receipt number."""
    found: Any = await session.scalar(select(FundEntry.id).where(
        FundEntry.fund_id == fund_id, FundEntry.receipt_number == receipt_number, FundEntry.reversed_by.is_(None)))
    return found


async def locked_entry(session: AsyncSession, fund_id: UUID, entry_id: UUID) -> FundEntry | None:
    """The fund's entry, row-locked: refunds of one spend, and reversals of one entry, are serialised on it."""
    return (await session.scalars(select(FundEntry).where(FundEntry.id == entry_id, FundEntry.fund_id == fund_id)
                                  .with_for_update())).first()


async def refunded(session: AsyncSession, spend_id: UUID) -> int:
    """What has come back of a spend so far."""
    total: Any = await session.scalar(select(func.coalesce(func.sum(FundEntry.amount_vnd), 0)).where(
        FundEntry.counterpart_entry_id == spend_id, FundEntry.kind == "refund", FundEntry.reversed_by.is_(None)))
    return int(total)


async def linked_by_level(session: AsyncSession, delivery_id: UUID) -> dict[str, int]:
    """What the funds have paid for a delivery so far, per level of the funds that paid: its linked spends
    minus the refunds of them (and the reversals of either, which carry the delivery too), in VND
    (positive); levels that paid nothing net left out. The caller has read the delivery in its scope; the
    funds that paid may be above the caller's units (a district's fund paying a commune's delivery), so
    this sum skips the scope filter — it answers numbers, no entry."""
    rows = await session.execute(
        select(Fund.level, func.sum(FundEntry.amount_vnd)).join(Fund, Fund.id == FundEntry.fund_id)
        .where(FundEntry.delivery_id == delivery_id, FundEntry.kind.in_(("spend", "refund", "reversal")))
        .group_by(Fund.level).execution_options(skip_scope=True))
    return {level: -int(total) for level, total in rows if total}


async def take(session: AsyncSession, fund_id: UUID, amount: int, day: date) -> Fund | None:
    """The hot spend: ONE conditional UPDATE (scoped like every ORM statement of the caller's session)
    takes `amount` out unless the balance would go below zero or the fund has entries dated after
    `day` (then the service checks the days in between: `_check_out`), and answers the fund as it is
    after it (detached from the session). None: no such fund in scope, the money is not there, or a
    backdated spend."""
    statement = (update(Fund).where(Fund.id == fund_id, Fund.balance_vnd - amount >= 0,
                                    or_(Fund.latest_on.is_(None), Fund.latest_on <= day))
                 .values(balance_vnd=Fund.balance_vnd - amount, version=Fund.version + 1, latest_on=day)
                 .returning(*(getattr(Fund, c.key) for c in Fund.__table__.columns))
                 .execution_options(synchronize_session=False))
    row = (await session.execute(statement)).first()
    return Fund(**row._mapping) if row is not None else None


async def write(session: AsyncSession, entries: Sequence[FundEntry], events: Sequence[Event]) -> None:
    """The ledger entries and their events in ONE statement (a data-modifying CTE before the outbox
    insert): one round trip, and the fund's row lock, taken by the move before it, is held that much
    shorter. Raw SQL, so the caller checks the entries' units are in the caller's scope (the service
    does, as the ORM's flush check would); the entries stay outside the session (they are immutable)."""
    rows = ", ".join("(" + ", ".join(f":e{i}_{c}" for c in _ENTRY_COLUMNS) + ")" for i in range(len(entries)))
    statement = text(f"WITH written AS (INSERT INTO fund_entries ({', '.join(_ENTRY_COLUMNS)}) VALUES {rows}) "
                     f"{OUTBOX_INSERT_SQL}").execution_options(skip_scope=True)
    params = {f"e{i}_{c}": getattr(entry, c) for i, entry in enumerate(entries) for c in _ENTRY_COLUMNS}
    await session.execute(statement, {**params, **outbox_params(events)})


# ---- combined spends (funds/combiner.py): on the pool's asyncpg connection, in its own transaction --------
# System statements: the service checks each spend's caller's scope against the fund it locked.
_FUND_COLUMNS = tuple(c.key for c in Fund.__table__.columns)
_LOCK_FUND = f"SELECT {', '.join(_FUND_COLUMNS)} FROM funds WHERE id = $1 FOR UPDATE"


def _array_type(column: Any) -> str:
    for kind, name in ((BigInteger, "bigint"), (Integer, "int"), (DateTime, "timestamptz"), (Date, "date"),
                       (Uuid, "uuid"), (String, "text")):
        if isinstance(column.type, kind):
            return name + "[]"
    raise TypeError(f"no array type for {column.key}")


# Fixed text whatever the number of spends (one array a column), so asyncpg prepares it once.
_ARRAYS = ", ".join(f"${i + 4}::{_array_type(c)}" for i, c in enumerate(FundEntry.__table__.columns))
_OUTBOX_AT = len(_ENTRY_COLUMNS) + 4
_WRITE_SPENDS = (
    f"WITH moved AS (UPDATE funds SET balance_vnd = $1, version = $2, latest_on = greatest(latest_on, "
    f"${_OUTBOX_AT + 3}::date) WHERE id = $3), "
    f"written AS (INSERT INTO fund_entries ({', '.join(_ENTRY_COLUMNS)}) SELECT * FROM unnest({_ARRAYS})) "
    f"INSERT INTO outbox (id, subject, body) SELECT * FROM unnest(${_OUTBOX_AT}::uuid[], ${_OUTBOX_AT + 1}::text[], "
    f"${_OUTBOX_AT + 2}::bytea[])")


async def lock_fund(conn: asyncpg.Connection, fund_id: UUID) -> Fund | None:
    """The fund, row-locked until the connection's transaction ends (a detached copy)."""
    row = await conn.fetchrow(_LOCK_FUND, fund_id)
    return Fund(**dict(row)) if row is not None else None


async def active_programmes(conn: asyncpg.Connection, codes: list[str]) -> set[str]:
    """Which of these codes are active programmes of the catalogue (reference data, not scoped)."""
    rows = await conn.fetch("SELECT code FROM catalogue WHERE catalogue = 'programme' AND active AND code = ANY($1)",
                            codes)
    return {str(r[0]) for r in rows}


async def write_spends(conn: asyncpg.Connection, fund_id: UUID, balance: int, version: int,
                       entries: Sequence[FundEntry], events: Sequence[Event]) -> None:
    """The fund's new balance, version and latest entry date, the entries and their events: one statement."""
    columns = [[getattr(e, c) for e in entries] for c in _ENTRY_COLUMNS]
    out = outbox_params(events)
    await conn.execute(_WRITE_SPENDS, balance, version, fund_id, *columns, out["ids"], out["subjects"], out["bodies"],
                       max(e.occurred_on for e in entries))


def entries(fund_id: UUID, date_from: date | None = None, date_to: date | None = None) -> Select[FundEntry]:
    query = select(FundEntry).where(FundEntry.fund_id == fund_id).order_by(
        FundEntry.occurred_on, FundEntry.recorded_at, FundEntry.id)
    if date_from is not None:
        query = query.where(FundEntry.occurred_on >= date_from)
    if date_to is not None:
        query = query.where(FundEntry.occurred_on <= date_to)
    return query


async def sum_before(session: AsyncSession, fund_id: UUID, day: date) -> int:
    total: Any = await session.scalar(select(func.coalesce(func.sum(FundEntry.amount_vnd), 0)).where(
        FundEntry.fund_id == fund_id, FundEntry.occurred_on < day))
    return int(total)
