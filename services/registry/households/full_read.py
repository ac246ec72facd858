"""The full record of one household and its access-log row in ONE statement: the registry's hottest read.

`GET /registry/households/{id}` carries a latency target, and on this kind of machine every database
round trip costs more CPU (socket system calls) than the query itself. The ORM path took five round
trips (pool ping, BEGIN, SELECT, INSERT, COMMIT); this one takes one, a prepared statement on the
pool's asyncpg connection itself (SQLAlchemy's layers cost more CPU than the query): a data-modifying
CTE inserts the access-log row for the household it finds, and the statement commits on its own, so
the record is never answered without its log row.

The scope filter of `shared.db` works on ORM queries; this is plain SQL, so it applies the same rule
itself (the row's path equals a scope path or lies below it) — on purpose, and tested like the rest.
"""

from __future__ import annotations

from types import SimpleNamespace
from uuid import UUID

from shared.context import request_id_var
from shared.db import ConnectionLost, Database
from shared.events import uuid7
from shared.principal import Principal

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
    ON CONFLICT (id) DO NOTHING
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
