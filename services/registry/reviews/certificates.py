"""Certificate numbers (form 03) for households recognised poor or near-poor: unique per commune and year.

Numbers come from a counter row per (commune, year): `UPDATE ... RETURNING` locks it, so two
decisions issuing at once queue instead of drawing the same number, and numbers have no gaps from
races. A number reads `GCN-<year>-<commune code>-<sequence, 5 digits>`.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.reviews.models import Certificate
from shared.events import uuid7

RECOGNISED_STATUSES = frozenset({"poor", "near_poor"})

_RESERVE = text(
    "INSERT INTO certificate_counters (unit_path, year, last_seq) VALUES (:path, :year, :n) "
    "ON CONFLICT (unit_path, year) DO UPDATE SET last_seq = certificate_counters.last_seq + :n "
    "RETURNING last_seq"
)


def certificate_number(year: int, commune_code: str, seq: int) -> str:
    return f"GCN-{year}-{commune_code}-{seq:05d}"


async def issue(session: AsyncSession, *, unit_path: str, commune_code: str, year: int, issued_on: date,
                source: str, holders: list[tuple[UUID, str]], review_id: UUID | None = None,
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
