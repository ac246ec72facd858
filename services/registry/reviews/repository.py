"""The review queries, through the caller's scoped session (shared.db): annual reviews and their
meetings, the households an approval recognises, certificates and their counters, regular reviews."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Select, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.households.models import Assessment, Household
from services.registry.households.rules import ANNUAL, RECOGNISED_STATUSES
from services.registry.reviews.models import Certificate, Meeting, RegularReview, Review
from services.registry.reviews.rules import PENDING, certificate_number
from shared.db import load_by_id, scope_clause
from shared.events import uuid7


# ---- annual reviews ---------------------------------------------------------------------------------------
async def load(session: AsyncSession, review_id: UUID, *, lock: bool = False) -> Review:
    return await load_by_id(session, Review, review_id, "review", lock=lock)


def reviews_in(unit_path: str | None, year: int | None, state: str | None) -> Select[Review]:
    query = select(Review)
    if unit_path is not None:
        query = query.where(scope_clause(Review.unit_path, [unit_path]))
    if year is not None:
        query = query.where(Review.year == year)
    if state:
        query = query.where(Review.state == state)
    return query.order_by(Review.year.desc(), Review.unit_path)


async def meetings_of(session: AsyncSession, review_id: UUID) -> list[Meeting]:
    return list((await session.scalars(select(Meeting).where(Meeting.review_id == review_id)
                                       .order_by(Meeting.held_on, Meeting.recorded_at))).all())


def _annual_of(review: Review) -> tuple[Any, ...]:
    return (Assessment.unit_path == review.unit_path, Assessment.review_year == review.year,
            Assessment.kind == ANNUAL)


async def assessed_count(session: AsyncSession, review: Review) -> int:
    return await session.scalar(select(func.count()).select_from(Assessment).where(*_annual_of(review))) or 0


def review_households(review: Review) -> Select[Any]:
    """The review's assessed households: (assessment, household code, head's name), by household code."""
    query = (select(Assessment, Household.household_code, Household.head_name)
             .join(Household, Household.id == Assessment.household_id)
             .where(*_annual_of(review)).order_by(Household.household_code))
    return query  # type: ignore[return-value]


async def unassessed_listed(session: AsyncSession, review: Review) -> list[UUID]:
    """Households of the commune on a list (poor or near-poor) with no annual assessment of the year."""
    assessed = select(Assessment.household_id).where(*_annual_of(review))
    return list((await session.scalars(select(Household.id).where(
        Household.unit_path == review.unit_path, Household.removed_at.is_(None),
        Household.status.in_(RECOGNISED_STATUSES), Household.id.not_in(assessed))
        .order_by(Household.household_code))).all())


async def households_to_recognise(session: AsyncSession, review: Review) -> list[tuple[Household, Assessment | None]]:
    """Every living household of the commune with its annual assessment of the year (if any), locked."""
    rows = (await session.execute(
        select(Household, Assessment).outerjoin(Assessment, (Assessment.household_id == Household.id)
                                                & (Assessment.kind == ANNUAL)
                                                & (Assessment.review_year == review.year))
        .where(Household.unit_path == review.unit_path, Household.removed_at.is_(None))
        .order_by(Household.household_code).with_for_update(of=Household))).all()
    return [(h, a) for h, a in rows]


# ---- certificates ---------------------------------------------------------------------------------------
# Numbers come from a counter row per (commune, year): `UPDATE ... RETURNING` locks it, so two decisions
# issuing at once queue instead of drawing the same number, and numbers have no gaps from races.
_RESERVE = text(
    "INSERT INTO certificate_counters (unit_path, year, last_seq) VALUES (:path, :year, :n) "
    "ON CONFLICT (unit_path, year) DO UPDATE SET last_seq = certificate_counters.last_seq + :n "
    "RETURNING last_seq"
)


async def issue_certificates(session: AsyncSession, *, unit_path: str, commune_code: str, year: int,
                             issued_on: date, source: str, holders: list[tuple[UUID, str]],
                             review_id: UUID | None = None,
                             regular_review_id: UUID | None = None) -> dict[UUID, str]:
    """Issue one certificate per (household id, status) in `holders`; {household id: number}."""
    if not holders:
        return {}
    last: int = (await session.execute(_RESERVE, {"path": unit_path, "year": year, "n": len(holders)})).scalar_one()
    first = last - len(holders) + 1
    rows: list[dict[str, Any]] = []
    numbers: dict[UUID, str] = {}
    for offset, (household_id, status) in enumerate(holders):
        seq = first + offset
        number = certificate_number(year, commune_code, seq)
        numbers[household_id] = number
        rows.append({"id": uuid7(), "unit_path": unit_path, "commune_code": commune_code, "year": year, "seq": seq,
                     "number": number, "household_id": household_id, "status": status, "source": source,
                     "review_id": review_id, "regular_review_id": regular_review_id, "issued_on": issued_on})
    await session.execute(insert(Certificate), rows)
    return numbers


def certificates_in(unit_path: str | None, year: int | None,
                    household_id: UUID | None) -> Select[Certificate]:
    query = select(Certificate)
    if unit_path is not None:
        query = query.where(scope_clause(Certificate.unit_path, [unit_path]))
    if year is not None:
        query = query.where(Certificate.year == year)
    if household_id is not None:
        query = query.where(Certificate.household_id == household_id)
    return query.order_by(Certificate.unit_path, Certificate.year, Certificate.seq)


# ---- regular reviews ------------------------------------------------------------------------------------
async def load_request(session: AsyncSession, request_id: UUID, *, lock: bool = False) -> RegularReview:
    return await load_by_id(session, RegularReview, request_id, "regular review", lock=lock)


async def pending_request_of(session: AsyncSession, household_id: UUID) -> UUID | None:
    return await session.scalar(select(RegularReview.id).where(
        RegularReview.household_id == household_id, RegularReview.state == PENDING))


def requests_in(unit_path: str | None, *, state: str | None = None, household_id: UUID | None = None,
                due_before: date | None = None) -> Select[RegularReview]:
    """Requests in a unit's subtree (all the caller's when None), by deadline; `due_before`: pending ones
    whose deadline is before that day (overdue)."""
    query = select(RegularReview)
    if due_before is not None:
        query = query.where(RegularReview.state == PENDING, RegularReview.deadline < due_before)
    if unit_path is not None:
        query = query.where(scope_clause(RegularReview.unit_path, [unit_path]))
    if state:
        query = query.where(RegularReview.state == state)
    if household_id:
        query = query.where(RegularReview.household_id == household_id)
    return query.order_by(RegularReview.deadline, RegularReview.id)
