"""Coverage gaps officers act on: which programmes a gap is about comes from the catalogue (by
category, by eligibility), never from a list in code."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.support.catalogue import repository as catalogue


async def programmes_of_category(session: AsyncSession, category: str) -> list[str]:
    return [e.code for e in await catalogue.entries(session, "programme") if e.fields.get("category") == category]


async def poor_only_programmes(session: AsyncSession) -> list[str]:
    return [e.code for e in await catalogue.entries(session, "programme") if e.fields.get("eligible") == ["poor"]]


async def deprivations_of_category(session: AsyncSession, category: str) -> tuple[list[str], list[str]]:
    """The programmes of a category and the deprivation indicators they remedy (their `deprivations`)."""
    programmes = [e for e in await catalogue.entries(session, "programme") if e.fields.get("category") == category]
    indicators = sorted({code for e in programmes for code in e.fields.get("deprivations") or ()})
    return [e.code for e in programmes], indicators
