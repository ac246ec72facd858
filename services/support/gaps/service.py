"""Coverage gaps officers act on: which programmes a gap is about comes from the catalogue (by
category, by eligibility), never from a list in code; whom it is about, from `rules.py`. A list is
read a page at a time (JSON) or whole, in batches from a server-side cursor (the exports)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from services.support.catalogue import repository as catalogue
from services.support.gaps import repository
from shared.db import Database
from shared.pagination import batches
from shared.principal import Principal

BATCH = 1000  # rows fetched from the cursor at a time


async def programmes_of_category(session: AsyncSession, category: str) -> list[str]:
    return [e.code for e in await catalogue.entries(session, "programme") if e.fields.get("category") == category]


async def poor_only_programmes(session: AsyncSession) -> list[str]:
    return [e.code for e in await catalogue.entries(session, "programme") if e.fields.get("eligible") == ["poor"]]


async def aggregate_cards(session: AsyncSession, unit_path: str | None, programmes: list[str],
                          year: int) -> dict[str, Any]:
    """What aggregate batches of these programmes reported in the year (seed 003: "1.405 thẻ BHYT hộ
    nghèo"): how many batches, the cards and households they count. They name no household, so they
    never close a household's gap; the answer shows them beside it."""
    rows = (await session.execute(repository.aggregate_deliveries(unit_path, programmes, year))).all()
    cards = sum((Decimal(str(q["quantity"])) for _, quantities in rows for q in quantities or []
                 if q.get("measure") == "card"), Decimal(0))
    return {"aggregate_deliveries": len(rows), "aggregate_cards": int(cards),
            "aggregate_households": sum(int(households or 0) for households, _ in rows)}


async def batches_in_own_session(db: Database, principal: Principal, query: Select[Any],
                                 size: int = BATCH) -> AsyncIterator[list[Any]]:
    """`shared.pagination.batches` in a session of its own, scoped to `principal`: for an answer
    streamed after the route returned (the request's session is closed by then)."""
    async with db.session(principal) as session:
        async for part in batches(session, query, size):
            yield part
