"""Catalogue queries. The catalogue is reference data (not scoped): any session may read it."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from services.support.catalogue.models import CatalogueEntry


async def entries(session: AsyncSession, catalogue: str | None = None,
                  include_inactive: bool = True) -> list[CatalogueEntry]:
    query = select(CatalogueEntry).order_by(CatalogueEntry.catalogue, CatalogueEntry.code)
    if catalogue:
        query = query.where(CatalogueEntry.catalogue == catalogue)
    if not include_inactive:
        query = query.where(CatalogueEntry.active.is_(True))
    return list((await session.scalars(query)).all())


async def entry(session: AsyncSession, catalogue: str, code: str, *, lock: bool = False) -> CatalogueEntry | None:
    query = select(CatalogueEntry).where(CatalogueEntry.catalogue == catalogue, CatalogueEntry.code == code)
    if lock:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def several(session: AsyncSession, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], CatalogueEntry]:
    """The entries named by (catalogue, code), in one query: what one delivery needs."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    rows = await session.scalars(select(CatalogueEntry).where(
        tuple_(CatalogueEntry.catalogue, CatalogueEntry.code).in_(wanted)))
    return {(r.catalogue, r.code): r for r in rows}
