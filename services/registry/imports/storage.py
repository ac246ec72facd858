"""SQL of an import: look-ups of what is already registered, COPY into the household tables, outbox.

Everything runs on the job's own asyncpg connection inside its one transaction, so rows COPYed by
earlier batches are visible to the look-ups of later ones: a duplicate inside the file is found by
the same query as a duplicate already registered, told apart by `xmin` (the row was written by this
transaction), with no per-file set of keys held in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from services.registry.imports.build import (
    ASSESSMENT_COLUMNS,
    HISTORY_COLUMNS,
    HOUSEHOLD_COLUMNS,
    MEMBER_COLUMNS,
    Records,
)
from services.registry.imports.places import Commune
from shared.copy_text import slices
from shared.events import write_events

__all__ = ["communes", "copy_batch", "existing_citizens", "existing_codes", "lock_tables", "write_events"]

_COMMUNES = "SELECT path, hierarchy, code, name, urban FROM units WHERE level = 'commune'"
# Look-ups are LATERAL probes of the unique indexes, one per key, so that the plan does not depend on
# statistics, which cannot count this transaction's own rows (a join against a table the planner
# believes small becomes a scan of the whole table per batch: quadratic over a large file).
# Same household code already living in the same commune.
_EXISTING_CODES = """
SELECT k.i, x.mine
FROM unnest($1::text[], $2::text[], $3::int[]) AS k(path, code, i)
CROSS JOIN LATERAL (
    SELECT h.xmin = pg_current_xact_id()::xid AS mine FROM households h
    WHERE h.unit_path = k.path AND h.household_code = k.code AND h.removed_at IS NULL
    LIMIT 1
) AS x
"""
# A citizen registered as a member of any living household, anywhere: the caller learns the commune only.
_EXISTING_CITIZENS = """
SELECT k.i, x.unit_path, x.commune_code, x.commune_name, x.household_code, x.mine
FROM unnest($1::bytea[], $2::int[]) AS k(hash, i)
CROSS JOIN LATERAL (
    SELECT m.unit_path, u.code AS commune_code, u.name AS commune_name, h.household_code,
           m.xmin = pg_current_xact_id()::xid AS mine
    FROM household_members m
    JOIN households h ON h.id = m.household_id
    LEFT JOIN units u ON u.path = m.unit_path
    WHERE m.citizen_id_hash = k.hash AND m.citizen_id_hash IS NOT NULL AND m.removed_at IS NULL
    LIMIT 1
) AS x
"""
# Held for the transaction: no ANALYZE (autovacuum's included) can run meanwhile. An ANALYZE during
# the import would see none of its uncommitted rows but all their pages, record "0 rows in N pages",
# and turn the look-ups of the rest of the file into scans. Writes and reads of others go on; a
# second import waits (the lock conflicts with itself).
_LOCK = "LOCK TABLE households, household_members IN SHARE UPDATE EXCLUSIVE MODE NOWAIT"


@dataclass(frozen=True, slots=True)
class ExistingCitizen:
    unit_path: str
    commune_code: str | None
    commune_name: str | None
    household_code: str
    in_this_file: bool


async def communes(conn: asyncpg.Connection) -> dict[str, list[Commune]]:
    """Every commune of both hierarchies by code (about 13,000: read once per job, a few MB)."""
    found: dict[str, list[Commune]] = {}
    for r in await conn.fetch(_COMMUNES):
        found.setdefault(r["code"], []).append(Commune(r["path"], r["hierarchy"], r["code"], r["name"], r["urban"]))
    return found


async def lock_tables(conn: asyncpg.Connection) -> bool:
    """Takes the import lock (in a savepoint, so a refusal leaves the transaction usable)."""
    try:
        async with conn.transaction():
            await conn.execute(_LOCK)
        return True
    except asyncpg.LockNotAvailableError:
        return False


async def existing_codes(conn: asyncpg.Connection, keys: Sequence[tuple[str, str]]) -> dict[int, bool]:
    """Position in `keys` → True when the (unit path, household code) was written by this import."""
    if not keys:
        return {}
    rows = await conn.fetch(_EXISTING_CODES, [k[0] for k in keys], [k[1] for k in keys], list(range(len(keys))))
    return {r["i"]: r["mine"] for r in rows}


async def existing_citizens(conn: asyncpg.Connection, hashes: Sequence[bytes]) -> dict[int, ExistingCitizen]:
    if not hashes:
        return {}
    rows = await conn.fetch(_EXISTING_CITIZENS, list(hashes), list(range(len(hashes))))
    return {r["i"]: ExistingCitizen(r["unit_path"], r["commune_code"], r["commune_name"], r["household_code"],
                                    r["mine"]) for r in rows}


async def copy_batch(conn: asyncpg.Connection, records: Records) -> None:
    """The batch's COPY text lines into households, members, assessments and history."""
    if not records:
        return
    # Parents first: members, assessments and history reference households.
    for table, columns, lines in (("households", HOUSEHOLD_COLUMNS, records.households),
                                  ("household_members", MEMBER_COLUMNS, records.members),
                                  ("household_assessments", ASSESSMENT_COLUMNS, records.assessments),
                                  ("household_history", HISTORY_COLUMNS, records.history)):
        await conn.copy_to_table(table, source=slices(lines.data), columns=columns, format="text")

