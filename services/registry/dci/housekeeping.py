"""DCI's part of the registry's housekeeping (run with the access-log partitions, at start and every six
hours, households/partitions.py), in one registry process at a time (a transaction-level advisory lock;
another process finding it taken skips the round):

- callbacks delivered, or given up (`expired_at`), more than REGISTRY_DCI_DELIVERY_RETENTION_DAYS ago
  are deleted: `dci_deliveries` no longer only grows. Callbacks still waiting are never deleted.
- rows sealed before DCI had its own sealing purpose (`legacy_seal`, sealing.py) are sealed again
  with it; a value that cannot be opened is left for the worker to give up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import text

from services.registry.dci import sealing
from services.registry.personal_data import PersonalDataCipher
from shared.db import Database

_LOCK = text("SELECT pg_try_advisory_xact_lock(hashtextextended('registry.dci.housekeeping', 0))")
_BATCH = 5_000
_PURGE = text("DELETE FROM dci_deliveries WHERE id IN (SELECT id FROM dci_deliveries "
              "WHERE coalesce(delivered_at, expired_at) < now() - make_interval(secs => :retention) LIMIT :batch)")
# (table, sealed columns) of the rows to seal again; `id > :after` walks each table once per round.
_LEGACY = (("dci_transactions", ("request_sealed", "response_sealed")), ("dci_deliveries", ("body_sealed",)))


@dataclass(frozen=True)
class DciHousekept:
    purged: int  # delivered or given-up callbacks deleted
    resealed: int  # rows sealed again with DCI's purpose


async def run(db: Database, cipher: PersonalDataCipher | None, retention_seconds: float) -> DciHousekept | None:
    """One round; None when another process holds the round."""
    purged = resealed = 0
    async with db.system_session() as session:
        if not await session.scalar(_LOCK):
            return None
        while True:
            deleted = (await session.execute(_PURGE, {"retention": retention_seconds, "batch": _BATCH})).rowcount
            purged += deleted
            if deleted < _BATCH:
                break
        if cipher is not None:
            for table, columns in _LEGACY:
                resealed += await _reseal(session, cipher, table, columns)
    return DciHousekept(purged, resealed)


async def _reseal(session: Any, cipher: PersonalDataCipher, table: str, columns: tuple[str, ...]) -> int:
    done, after = 0, UUID(int=0)
    select = (f"SELECT id, {', '.join(columns)} FROM {table} WHERE legacy_seal AND id > :after ORDER BY id "
              f"LIMIT {_BATCH} FOR UPDATE SKIP LOCKED")
    assignments = ", ".join(f"{c} = :{c}" for c in columns)
    update = text(f"UPDATE {table} SET {assignments}, legacy_seal = false WHERE id = :id")
    while rows := (await session.execute(text(select), {"after": after})).mappings().all():
        changed = []
        for row in rows:
            opened = {c: sealing.unsealed(cipher, row[c], legacy=True) if row[c] is not None else None
                      for c in columns}
            if any(row[c] is not None and opened[c] is None for c in columns):
                continue  # cannot be opened: the worker gives it up when it comes to it
            changed.append({"id": row["id"], **{c: None if v is None else sealing.seal(cipher, v)
                                                  for c, v in opened.items()}})
        if changed:
            await session.execute(update, changed)
        done += len(changed)
        after = rows[-1]["id"]
    return done
