"""The queries of the operator commands: which units a code names, a batch of living households with
their current members and the deprivation indicators they were last announced with, and the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

_UNITS = "SELECT path, hierarchy, level, name FROM units WHERE code = $1 AND ($2::text IS NULL OR hierarchy = $2) " \
         "ORDER BY hierarchy"

# Living households after `after` (keyset on id), inside one of `paths` (shared.db.scope_clause's rule
# written in SQL; NULL: all). The members are the household's current ones, the head first (as
# repository.member_ids_of orders them); the indicators are those of the newest assessment the registry
# announced in an event: a recognised one (a review's `assessed`) or an import's (`assessed_batch`).
_BATCH = """
SELECT h.id, h.unit_path, h.commune_code, h.household_code, h.village, h.member_count, h.ethnic_minority,
       h.policy_family, h.social_protection, h.area, h.status, h.status_year, h.version, h.updated_at,
       ARRAY(SELECT m.id FROM household_members m WHERE m.household_id = h.id AND m.removed_at IS NULL
             ORDER BY m.is_head DESC, m.created_at, m.id) AS member_ids,
       (SELECT a.deprived_indicators FROM household_assessments a
        WHERE a.household_id = h.id AND (a.state = 'recognised' OR a.source = 'import')
        ORDER BY a.review_year DESC, a.recognised_at DESC NULLS LAST, a.created_at DESC LIMIT 1)
           AS deprived_indicators
FROM households h
WHERE h.removed_at IS NULL AND h.id > $1
  AND ($2::text[] IS NULL OR EXISTS (SELECT 1 FROM unnest($2::text[]) p
                                     WHERE h.unit_path = p OR (h.unit_path > p || '.' AND h.unit_path < p || '/')))
ORDER BY h.id
LIMIT $3
"""

FIRST_ID = UUID(int=0)


async def units(conn: asyncpg.Connection, code: str, hierarchy: str | None) -> list[asyncpg.Record]:
    return list(await conn.fetch(_UNITS, code, hierarchy))


async def households(conn: asyncpg.Connection, after: UUID, paths: Sequence[str] | None,
                     limit: int) -> list[asyncpg.Record]:
    return list(await conn.fetch(_BATCH, after, list(paths) if paths is not None else None, limit))
