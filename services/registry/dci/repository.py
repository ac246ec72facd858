"""DCI queries. Household and member reads go through the caller's scoped session (a client sees only
the units of its gateway principal's scope, by the shared scope filter); DCI's own tables are keyed
by client. The households and units tables are read here, never written.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Date, and_, cast, exists, false, func, not_, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.registry.dci.models import DciClient, DciDelivery, DciSubscription, DciTransaction
from services.registry.dci.rules import Condition
from services.registry.households.models import Assessment, HistoryEntry, Household, Member
from services.registry.units.models import Unit
from shared.clock import VIETNAM
from shared.pagination import PageParams, paginate

ZONE = VIETNAM.key  # dates people compare are Vietnamese dates

_COLUMNS: dict[str, Any] = {
    "poverty_status": Household.status, "review_year": Household.status_year,
    "commune_code": Household.commune_code, "household_code": Household.household_code,
    "village": Household.village, "group_size": Household.member_count,
    "ethnic_minority": Household.ethnic_minority, "policy_family": Household.policy_family,
    "social_protection": Household.social_protection,
    "registration_date": cast(func.timezone(ZONE, Household.created_at), Date),
    "last_updated": cast(func.timezone(ZONE, Household.updated_at), Date),
}
_SORT: dict[str, Any] = {**_COLUMNS, "registration_date": Household.created_at, "last_updated": Household.updated_at}


def _compare(column: Any, cmp: str, value: Any) -> ColumnElement[bool]:
    if cmp == "in":
        return column.in_(value)
    return {"eq": column == value, "ne": column.is_distinct_from(value), "lt": column < value,
            "le": column <= value, "gt": column > value, "ge": column >= value}[cmp]


def compile_condition(cond: Condition | None) -> ColumnElement[bool]:
    """The condition tree (rules.py) as SQL on households."""
    if cond is None:
        return true()
    op = cond.get("op")
    if op == "and":
        return and_(*(compile_condition(c) for c in cond["args"]))
    if op == "or":
        return or_(*(compile_condition(c) for c in cond["args"]))
    if op == "not":
        return not_(compile_condition(cond["arg"]))
    if cond["attr"] == "classification_date":
        # Recognised (classified) for its current status year on a date matching the comparison.
        recognised_on = cast(func.timezone(ZONE, Assessment.recognised_at), Date)
        return exists().where(Assessment.household_id == Household.id, Assessment.state == "recognised",
                              Assessment.review_year == Household.status_year,
                              _compare(recognised_on, cond["cmp"], cond["value"]))
    return _compare(_COLUMNS[cond["attr"]], cond["cmp"], cond["value"])


# ---- households and members, in the caller's scope ----------------------------------------------------

async def members_by_hash(session: AsyncSession, hashes: Sequence[bytes]) -> dict[bytes, tuple[UUID, UUID]]:
    """citizen_id_hash -> (member id, household id) of current members of active households."""
    if not hashes:
        return {}
    rows = await session.execute(
        select(Member.citizen_id_hash, Member.id, Member.household_id)
        .join(Household, Household.id == Member.household_id)
        .where(Member.citizen_id_hash.in_(hashes), Member.removed_at.is_(None), Household.removed_at.is_(None)))
    return {r[0]: (r[1], r[2]) for r in rows if r[0] is not None}


async def households_by_code(session: AsyncSession, codes: Sequence[str]) -> dict[str, list[UUID]]:
    if not codes:
        return {}
    rows = await session.execute(
        select(Household.household_code, Household.id)
        .where(Household.household_code.in_(codes), Household.removed_at.is_(None))
        .order_by(Household.id))
    found: dict[str, list[UUID]] = {}
    for code, household_id in rows:
        found.setdefault(code, []).append(household_id)
    return found


async def households_matching(session: AsyncSession, cond: Condition | None, sort: Sequence[tuple[str, bool]],
                              limit: int, offset: int) -> tuple[int, list[UUID]]:
    """(how many households match, the ids of one page)."""
    where = and_(Household.removed_at.is_(None), compile_condition(cond))
    order = [_SORT[name].desc() if desc else _SORT[name] for name, desc in sort] + [Household.id]
    page = await paginate(session, select(Household.id).where(where).order_by(*order),
                          PageParams(limit=limit, offset=offset), lambda household_id: household_id)
    return page.total, page.items


async def households(session: AsyncSession, ids: Iterable[UUID], *,
                     include_removed: bool = False) -> dict[UUID, Household]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    query = select(Household).where(Household.id.in_(wanted))
    if not include_removed:
        query = query.where(Household.removed_at.is_(None))
    return {h.id: h for h in (await session.scalars(query)).all()}


async def members_of(session: AsyncSession, household_ids: Iterable[UUID]) -> dict[UUID, list[Member]]:
    wanted = list(set(household_ids))
    out: dict[UUID, list[Member]] = {h: [] for h in wanted}
    if not wanted:
        return out
    rows = await session.scalars(select(Member).where(Member.household_id.in_(wanted), Member.removed_at.is_(None))
                                 .order_by(Member.household_id, Member.is_head.desc(), Member.id))
    for member in rows:
        out[member.household_id].append(member)
    return out


async def status_since(session: AsyncSession, household_ids: Iterable[UUID]) -> dict[UUID, datetime]:
    """When each household's current status was recognised (its latest recognised assessment)."""
    wanted = list(set(household_ids))
    if not wanted:
        return {}
    rows = await session.execute(
        select(Assessment.household_id, func.max(Assessment.recognised_at))
        .join(Household, Household.id == Assessment.household_id)
        .where(Assessment.household_id.in_(wanted), Assessment.state == "recognised",
               Assessment.review_year == Household.status_year)
        .group_by(Assessment.household_id))
    return {r[0]: r[1] for r in rows if r[1] is not None}


async def history_change(session: AsyncSession, household_id: UUID,
                         version: int) -> tuple[str | None, tuple[UUID, ...]]:
    """What changed a household to `version` (member_added, updated, ...), from its history, and the
    members that change names (before and after)."""
    row = (await session.execute(select(HistoryEntry.action, HistoryEntry.before, HistoryEntry.after).where(
        HistoryEntry.household_id == household_id, HistoryEntry.version == version).limit(1))).first()
    if row is None:
        return None, ()
    named = [m.get("member_id") for side in (row.before, row.after) if isinstance(side, dict)
             for m in side.get("members") or [] if isinstance(m, dict)]
    return row.action, tuple(dict.fromkeys(UUID(m) for m in named if isinstance(m, str)))


async def member_hashes(session: AsyncSession, member_ids: Iterable[UUID]) -> dict[UUID, bytes]:
    """member id -> citizen_id_hash, removed members included (a removal concerns the removed person)."""
    wanted = list(set(member_ids))
    if not wanted:
        return {}
    rows = await session.execute(select(Member.id, Member.citizen_id_hash).where(
        Member.id.in_(wanted), Member.citizen_id_hash.isnot(None)))
    return {r[0]: r[1] for r in rows if r[1] is not None}


async def units_with_codes(session: AsyncSession, codes: Iterable[str]) -> dict[str, list[str]]:
    """code -> paths of the units with that code (both hierarchies)."""
    wanted = list(set(codes))
    if not wanted:
        return {}
    found: dict[str, list[str]] = {}
    for code, path in await session.execute(select(Unit.code, Unit.path).where(Unit.code.in_(wanted))):
        found.setdefault(code, []).append(path)
    return found


# ---- DCI's own tables ---------------------------------------------------------------------------------

async def client(session: AsyncSession, client_id: str) -> DciClient | None:
    return await session.get(DciClient, client_id)


async def clients(session: AsyncSession) -> list[DciClient]:
    return list((await session.scalars(select(DciClient).order_by(DciClient.client_id))).all())


async def add_transaction(session: AsyncSession, values: dict[str, Any]) -> UUID | None:
    """Inserts a transaction; None when this client already sent this message id (a replay)."""
    statement = insert(DciTransaction).values(**values).on_conflict_do_nothing(
        index_elements=["client_id", "message_id"]).returning(DciTransaction.id)
    return await session.scalar(statement)


async def transactions_of(session: AsyncSession, client_id: str, kind: str, attribute: str,
                          values: Sequence[str]) -> list[DciTransaction]:
    column = {"transaction_id": DciTransaction.transaction_id, "correlation_id": DciTransaction.correlation_id}
    if attribute == "reference_id_list":
        where: ColumnElement[bool] = DciTransaction.reference_ids.overlap(list(values))
    elif attribute in column:
        where = column[attribute].in_(list(values))
    else:
        where = false()
    query = select(DciTransaction).where(DciTransaction.client_id == client_id, DciTransaction.kind == kind, where)
    return list((await session.scalars(query.order_by(DciTransaction.created_at).limit(100))).all())


async def claim_pending(session: AsyncSession) -> DciTransaction | None:
    """The oldest async transaction waiting for work, locked for this worker (others skip it)."""
    query = (select(DciTransaction).where(DciTransaction.status == "pdng", DciTransaction.mode == "async")
             .order_by(DciTransaction.created_at).limit(1).with_for_update(skip_locked=True))
    return await session.scalar(query)


async def add_delivery(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Queues a callback; False when this subscription already has one for this event."""
    statement = insert(DciDelivery).values(**values).on_conflict_do_nothing(
        index_elements=["subscription_id", "event_id"], index_where=DciDelivery.event_id.isnot(None))
    result = await session.execute(statement.returning(DciDelivery.id))
    return result.scalar() is not None


async def due_deliveries(session: AsyncSession, now: datetime, limit: int) -> list[DciDelivery]:
    query = (select(DciDelivery).where(DciDelivery.delivered_at.is_(None), DciDelivery.expired_at.is_(None),
                                       DciDelivery.next_attempt_at <= now)
             .order_by(DciDelivery.next_attempt_at, DciDelivery.id).limit(limit).with_for_update(skip_locked=True))
    return list((await session.scalars(query)).all())


async def active_subscriptions(session: AsyncSession, event_types: Iterable[str]) -> list[DciSubscription]:
    query = select(DciSubscription).where(DciSubscription.status == "subscribe",
                                          DciSubscription.event_type.in_(list(set(event_types))))
    return list((await session.scalars(query.order_by(DciSubscription.created_at))).all())


async def subscriptions_with_codes(session: AsyncSession, codes: Sequence[str]) -> list[DciSubscription]:
    return list((await session.scalars(select(DciSubscription).where(DciSubscription.code.in_(list(codes))))).all())


async def end_subscriptions(session: AsyncSession, ids: Sequence[UUID], now: datetime) -> None:
    if ids:
        await session.execute(update(DciSubscription).where(DciSubscription.id.in_(list(ids)))
                              .values(status="unsubscribe", ended_at=now))


def as_date(value: date | datetime | None) -> date | None:
    return value.date() if isinstance(value, datetime) else value


# ---- the sync search's hot path: raw SQL on the pool's asyncpg connection -------------------------------
# Identifier searches (citizen ID, household code) are the DCI clients' everyday call and carry a latency
# target: one statement reads every item's households with their members and status date, one statement
# keeps the transaction and the access log (both commit on their own). The scope rule of shared.db is
# applied in the SQL itself (a row's path equals a scope path or lies below it), as in
# households/full_read.py, and tested like the ORM path (tests/dci/test_sync_search.py).

HOUSEHOLD_COLUMNS = ("id", "household_code", "commune_code", "unit_path", "village", "address", "area",
                     "member_count", "status", "status_year", "ethnic_minority", "policy_family",
                     "social_protection", "created_at", "updated_at")
MEMBER_COLUMNS = ("id", "household_id", "full_name", "citizen_id_enc", "birth_date", "sex", "relation", "is_head",
                  "created_at", "updated_at")
_IN_SCOPE = ("EXISTS (SELECT 1 FROM unnest($4::text[]) AS s(path) WHERE h.unit_path = s.path "
             "OR (h.unit_path > s.path || '.' AND h.unit_path < s.path || '/'))")
IDENTIFIER_READ = f"""
WITH items AS (
    SELECT * FROM unnest($1::int[], $2::bytea[], $3::text[]) AS i(n, hash, code)
), hits AS (
    SELECT i.n, h.id AS household_id, m.id AS member_id
    FROM items i
    JOIN household_members m ON m.citizen_id_hash = i.hash AND m.removed_at IS NULL
    JOIN households h ON h.id = m.household_id AND h.removed_at IS NULL
    WHERE i.hash IS NOT NULL AND {_IN_SCOPE}
    UNION ALL
    SELECT i.n, h.id, NULL
    FROM items i
    JOIN households h ON h.household_code = i.code AND h.removed_at IS NULL
    WHERE i.code IS NOT NULL AND {_IN_SCOPE}
)
SELECT hits.n, hits.member_id AS hit_member, since.at AS since,
       {", ".join(f"h.{c} AS h_{c}" for c in HOUSEHOLD_COLUMNS)},
       {", ".join(f"m.{c} AS m_{c}" for c in MEMBER_COLUMNS)}
FROM hits
JOIN households h ON h.id = hits.household_id
LEFT JOIN LATERAL (SELECT max(a.recognised_at) AS at FROM household_assessments a
                   WHERE a.household_id = h.id AND a.state = 'recognised' AND a.review_year = h.status_year) since
       ON true
LEFT JOIN household_members m ON m.household_id = h.id AND m.removed_at IS NULL
ORDER BY hits.n, h.id, m.is_head DESC, m.id
"""
# The transaction and its access-log rows, or nothing at all when the message id was already used.
TRANSACTION_WRITE = """
WITH txn AS (
    INSERT INTO dci_transactions (id, client_id, kind, mode, message_id, transaction_id, correlation_id, status,
                                  reference_ids, principal, item_statuses, attempts, completed_at)
    VALUES ($1, $2, 'search', 'sync', $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, 0, now())
    ON CONFLICT (client_id, message_id) DO NOTHING
    RETURNING id
), logged AS (
    INSERT INTO dci_access_log (id, client_id, transaction_id, correlation_id, reference_id, action, query,
                                household_ids, data_profile)
    SELECT l.id, $2, $4, $5, l.reference_id, 'search', l.query::jsonb, string_to_array(l.households, ',')::uuid[], $10
    FROM unnest($11::uuid[], $12::text[], $13::text[], $14::text[]) AS l(id, reference_id, query, households)
    WHERE EXISTS (SELECT 1 FROM txn)
)
SELECT count(*) FROM txn
"""
