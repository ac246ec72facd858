"""The queries of the unit directory: the table's rows, its fingerprint, and the upsert of unit events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.directory.models import DirectoryUnit

_COLUMNS = (DirectoryUnit.path, DirectoryUnit.hierarchy, DirectoryUnit.code, DirectoryUnit.level,
            DirectoryUnit.name, DirectoryUnit.parent_path, DirectoryUnit.updated_at)

_UPSERT = text("""
INSERT INTO directory_units (path, hierarchy, code, level, name, parent_path, version, updated_at)
SELECT *, now() FROM unnest(CAST(:paths AS text[]), CAST(:hierarchies AS text[]), CAST(:codes AS text[]),
                            CAST(:levels AS text[]), CAST(:names AS text[]), CAST(:parents AS text[]),
                            CAST(:versions AS int[]))
ON CONFLICT (path) DO UPDATE SET hierarchy = EXCLUDED.hierarchy, code = EXCLUDED.code,
    level = EXCLUDED.level, name = EXCLUDED.name, parent_path = EXCLUDED.parent_path,
    version = EXCLUDED.version, updated_at = now()
WHERE directory_units.version <= EXCLUDED.version
""")

# Every insert adds a row and every applied change raises a version: either moves the fingerprint.
_FINGERPRINT = text("SELECT count(*), coalesce(sum(version), 0), max(updated_at) FROM directory_units")


async def fingerprint(session: AsyncSession) -> tuple[object, ...]:
    return tuple((await session.execute(_FINGERPRINT)).one())


async def rows(session: AsyncSession, changed_after: datetime | None = None) -> Sequence[Any]:
    """(path, hierarchy, code, level, name, parent_path, updated_at) of every unit, or of those
    changed after a moment."""
    query = select(*_COLUMNS)
    if changed_after is not None:
        query = query.where(DirectoryUnit.updated_at > changed_after)
    return (await session.execute(query)).all()


async def upsert(session: AsyncSession, units: list[tuple[Any, int]]) -> None:
    """(unit, version) pairs; a row keeps a newer version it already has."""
    await session.execute(_UPSERT, {
        "paths": [u.path for u, _ in units], "hierarchies": [u.hierarchy for u, _ in units],
        "codes": [u.code for u, _ in units], "levels": [u.level for u, _ in units],
        "names": [u.name for u, _ in units], "parents": [u.parent_path for u, _ in units],
        "versions": [v for _, v in units],
    })


async def counts(session: AsyncSession) -> tuple[Sequence[Any], datetime | None]:
    """(hierarchy, level, units) rows, and the latest change."""
    rows = (await session.execute(
        select(DirectoryUnit.hierarchy, DirectoryUnit.level, func.count())
        .group_by(DirectoryUnit.hierarchy, DirectoryUnit.level))).all()
    return rows, await session.scalar(select(func.max(DirectoryUnit.updated_at)))
