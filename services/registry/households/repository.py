"""The household queries: always through the caller's scoped session (shared.db), so a row of another
unit is neither read nor written. Two deliberate exceptions, each applying the scope itself or saying
why not: the citizen-ID duplicate check (a duplicate anywhere is a duplicate) and the one-statement
full read (`read_and_log`, the registry's hottest read).
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any
from uuid import UUID

from sqlalchemy import Select, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.households.models import AccessLogEntry, Assessment, HistoryEntry, Household, Member
from services.registry.households.rules import ANNUAL
from services.registry.reviews.models import Review
from shared.context import request_id_var
from shared.db import ConnectionLost, Database, load_by_id, scope_clause
from shared.errors import Problem, conflict, not_found
from shared.events import uuid7
from shared.principal import Principal


async def flush(session: AsyncSession) -> None:
    """Flush now so a unique index answers 409 here, not as a 500 at commit."""
    try:
        await session.flush()
    except IntegrityError as exc:
        message = str(exc.orig)
        if "ux_households_commune_code" in message:
            raise conflict("household_code_taken", "Another household of this commune has this code.") from exc
        if "ux_household_members_citizen" in message:
            raise conflict("citizen_id_registered", "This citizen ID belongs to a member of another household.") \
                from exc
        if "ux_household_members_head" in message:
            raise conflict("one_head", "A household has exactly one head.") from exc
        raise


# ---- households and members ------------------------------------------------------------------------------
async def load(session: AsyncSession, household_id: UUID, *, lock: bool = False, active: bool = True) -> Household:
    """The household if it lies in the caller's scope (404 otherwise: a foreign row is not revealed)."""
    household = await load_by_id(session, Household, household_id, "household", lock=lock)
    if active and household.removed_at is not None:
        raise Problem(409, "household_removed", "Household removed",
                      f"The household was removed ({household.removed_reason}); it can no longer change.")
    return household


async def members_of(session: AsyncSession, household_id: UUID) -> list[Member]:
    query = (select(Member).where(Member.household_id == household_id, Member.removed_at.is_(None))
             .order_by(Member.is_head.desc(), Member.created_at, Member.id))
    return list((await session.scalars(query)).all())


async def member_ids_of(session: AsyncSession, household_id: UUID) -> list[UUID]:
    """The ids of the household's current members, the head first (the order of members_of)."""
    query = (select(Member.id).where(Member.household_id == household_id, Member.removed_at.is_(None))
             .order_by(Member.is_head.desc(), Member.created_at, Member.id))
    return list((await session.scalars(query)).all())


async def load_member(session: AsyncSession, household: Household, member_id: UUID) -> Member:
    member = await session.scalar(select(Member).where(
        Member.id == member_id, Member.household_id == household.id, Member.removed_at.is_(None)))
    if member is None:
        raise not_found("member", member_id)
    return member


async def citizen_id_holders(session: AsyncSession, hashes: list[bytes]) -> list[tuple[UUID, str, str]]:
    """(member id, commune code, unit path) of every living member holding one of these citizen IDs.

    Unscoped on purpose: a duplicate in another province is still a duplicate. The caller decides
    what of it may be told (rules: nothing outside the caller's scope)."""
    query = (select(Member.id, Household.commune_code, Household.unit_path)
             .join(Household, Household.id == Member.household_id)
             .where(Member.citizen_id_hash.in_(hashes), Member.removed_at.is_(None))
             .execution_options(skip_scope=True))
    return [(row[0], row[1], row[2]) for row in (await session.execute(query)).all()]


def households_query(*, year: int | None, status: str | None, unit_path: str | None, include_removed: bool,
                     village: str | None, name_key: str | None, flags: dict[str, bool | None],
                     citizen_id_hash: bytes | None) -> Select[Any]:
    """Households (with the year's assessment status and year when `year` is given), in list order."""
    query: Select[Any] = select(Household)
    if year is not None:
        query = select(Household, Assessment.status, Assessment.review_year).join(  # type: ignore[assignment]
            Assessment, (Assessment.household_id == Household.id) & (Assessment.kind == ANNUAL)
            & (Assessment.review_year == year))
        if status:
            query = query.where(Assessment.status == status)
    elif status:
        query = query.where(Household.status == status)
    if unit_path is not None:
        query = query.where(scope_clause(Household.unit_path, [unit_path]))
    if not include_removed:
        query = query.where(Household.removed_at.is_(None))
    if village:
        query = query.where(Household.village == village)
    if name_key:
        query = query.where(Household.head_name_search.contains(name_key, autoescape=True))
    for flag, value in flags.items():
        if value is not None:
            query = query.where(getattr(Household, flag).is_(value))
    if citizen_id_hash is not None:
        query = query.where(Household.id.in_(select(Member.household_id).where(
            Member.citizen_id_hash == citizen_id_hash)))
    return query.order_by(Household.unit_path, Household.household_code, Household.id)


# ---- history and the access log ---------------------------------------------------------------------------
def add_history(session: AsyncSession, principal: Principal, household: Household, action: str,
                before: dict[str, Any] | None, after: dict[str, Any] | None, reason: str | None = None) -> None:
    """A history entry in the change's own transaction (no triggers: bulk imports COPY their own rows)."""
    session.add(HistoryEntry(
        household_id=household.id, unit_path=household.unit_path, version=household.version, action=action,
        actor_id=principal.id, actor_role=principal.role, reason=reason, before=before, after=after,
        correlation_id=request_id_var.get(),
    ))


def history_query(household_id: UUID) -> Select[HistoryEntry]:
    return (select(HistoryEntry).where(HistoryEntry.household_id == household_id)
            .order_by(HistoryEntry.version, HistoryEntry.at))


async def log_access(session: AsyncSession, principal: Principal, household: Any, unmasked: bool,
                     purpose: str | None, action: str = "read") -> None:
    """One access-log row in the caller's transaction: the answer is sent only if its log row commits."""
    await session.execute(insert(AccessLogEntry).values(
        id=uuid7(), household_id=household.id, unit_path=household.unit_path, principal_id=principal.id,
        principal_role=principal.role, action=action, unmasked=unmasked, purpose=purpose,
        request_id=request_id_var.get(),
    ))


def access_log_query(*, household_id: UUID | None, principal_id: str | None, unmasked: bool | None,
                     since: datetime | None, until: datetime | None) -> Select[AccessLogEntry]:
    query = select(AccessLogEntry)
    if household_id is not None:
        query = query.where(AccessLogEntry.household_id == household_id)
    if principal_id:
        query = query.where(AccessLogEntry.principal_id == principal_id)
    if unmasked is not None:
        query = query.where(AccessLogEntry.unmasked.is_(unmasked))
    if since is not None:
        query = query.where(AccessLogEntry.at >= since)
    if until is not None:
        query = query.where(AccessLogEntry.at < until)
    return query.order_by(AccessLogEntry.at.desc(), AccessLogEntry.id.desc())


# ---- assessments -------------------------------------------------------------------------------------------
async def assessments_of(session: AsyncSession, household_id: UUID) -> list[Assessment]:
    """The household's assessments, newest year first."""
    return list((await session.scalars(select(Assessment).where(Assessment.household_id == household_id)
                                       .order_by(Assessment.review_year.desc(), Assessment.created_at.desc()))).all())


async def load_assessment(session: AsyncSession, household_id: UUID, assessment_id: UUID) -> Assessment:
    assessment = await session.scalar(select(Assessment).where(
        Assessment.id == assessment_id, Assessment.household_id == household_id))
    if assessment is None:
        raise Problem(404, "not_found", "assessment not found", f"No assessment with id {assessment_id} in your scope.")
    return assessment


async def annual_assessment(session: AsyncSession, household_id: UUID, year: int) -> Assessment | None:
    """The household's annual assessment of `year`, locked for the re-record."""
    return await session.scalar(select(Assessment).where(
        Assessment.household_id == household_id, Assessment.kind == ANNUAL,
        Assessment.review_year == year).with_for_update())


async def review_of(session: AsyncSession, unit_path: str, year: int) -> Review | None:
    """The commune's annual review of `year`, if opened."""
    return await session.scalar(select(Review).where(Review.unit_path == unit_path, Review.year == year))


# ---- the full read: one statement ----------------------------------------------------------------------
# `GET /registry/households/{id}` carries a latency target, and on this kind of machine every database
# round trip costs more CPU (socket system calls) than the query itself. The ORM path took five round
# trips (pool ping, BEGIN, SELECT, INSERT, COMMIT); this takes one, a prepared statement on the pool's
# asyncpg connection itself (SQLAlchemy's layers cost more CPU than the query): a data-modifying CTE
# inserts the access-log row for the household it finds, and the statement commits on its own, so the
# record is never answered without its log row. The scope filter of shared.db works on ORM queries; this
# is plain SQL, so it applies the same rule itself (the path equals a scope path or lies below it).
_HOUSEHOLD = ("id", "unit_path", "commune_code", "household_code", "village", "address", "head_name", "area",
              "member_count", "ethnic_minority", "policy_family", "social_protection", "no_labour_capacity", "status",
              "status_year", "version", "created_at", "updated_at", "removed_at", "removed_reason")
_MEMBER = ("id", "full_name", "citizen_id_enc", "birth_date", "sex", "ethnicity", "relation", "is_head",
           "no_labour_capacity", "social_protection", "policy_person")

_READ = f"""
WITH h AS (
    SELECT {", ".join(f"h.{c}" for c in _HOUSEHOLD)}
    FROM households h
    WHERE h.id = $1
      AND EXISTS (SELECT 1 FROM unnest($2::text[]) AS s(path)
                  WHERE h.unit_path = s.path OR (h.unit_path > s.path || '.' AND h.unit_path < s.path || '/'))
), logged AS (
    INSERT INTO personal_data_access_log
        (id, household_id, unit_path, principal_id, principal_role, action, unmasked, purpose, request_id)
    SELECT $3, h.id, h.unit_path, $4, $5, 'read', $6, $7, $8
    FROM h
    ON CONFLICT DO NOTHING  -- (id, at): the log is partitioned by month (migration 0007)
)
SELECT {", ".join(f"h.{c} AS h_{c}" for c in _HOUSEHOLD)}, {", ".join(f"m.{c} AS m_{c}" for c in _MEMBER)}
FROM h
LEFT JOIN household_members m
       ON m.household_id = h.id
      -- a removed household is shown with the members it had when it was removed
      AND (m.removed_at IS NULL OR m.removed_at = h.removed_at)
ORDER BY m.is_head DESC, m.created_at, m.id
"""


async def read_and_log(db: Database, principal: Principal, household_id: UUID, unmasked: bool,
                       purpose: str | None) -> tuple[SimpleNamespace, list[SimpleNamespace]] | None:
    """(household, members) if the household lies in the principal's scope, else None; logs the read."""
    args = (household_id, list(principal.scope_paths), uuid7(), principal.id, principal.role, unmasked, purpose,
            request_id_var.get())
    for attempt in (1, 2):
        try:
            async with db.driver_connection() as conn:
                rows = await conn.fetch(_READ, *args)
            break
        except ConnectionLost:
            # A pooled connection cut by a database restart: the pool dropped it, and one more try on a
            # fresh one answers the reader. The log row keeps its id: never written twice.
            if attempt == 2:
                raise
    if not rows:
        return None
    household = SimpleNamespace(**{c: rows[0][f"h_{c}"] for c in _HOUSEHOLD})
    members = [SimpleNamespace(**{c: row[f"m_{c}"] for c in _MEMBER}) for row in rows if row["m_id"] is not None]
    return household, members
