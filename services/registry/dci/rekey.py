"""DCI's part of replacing the personal-data keys (services.registry.rekey, in its transaction, with the
registry stopped): what DCI keeps sealed is sealed again under the new key — async requests and answers
(txn status hands them out later) and callbacks not yet delivered — and each active person
subscription gets the person's keyed hash under the new hash key, from the citizen ID it keeps
encrypted. Everything is sealed again with DCI's own purpose: a row still flagged `legacy_seal`
(sealed before DCI had one, see sealing.py) is opened with the old purpose and loses its flag. A sealed
value that opens with neither key is left as it is: the DCI worker gives it up on its own
(sealing.unsealed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson
from cryptography.exceptions import InvalidTag

from services.registry.dci import rules, sealing
from services.registry.personal_data import PersonalDataCipher

_LOCK = "LOCK TABLE dci_transactions, dci_deliveries, dci_subscriptions IN EXCLUSIVE MODE"
_SEALED = (
    ("dci_transactions", ("request_sealed", "response_sealed"),
     "request_sealed IS NOT NULL OR response_sealed IS NOT NULL"),
    # A delivered or abandoned callback is never read again.
    ("dci_deliveries", ("body_sealed",), "delivered_at IS NULL AND expired_at IS NULL"),
)
_PEOPLE = "SELECT id, filter FROM dci_subscriptions WHERE status = 'subscribe' AND filter ? 'person'"


@dataclass(frozen=True)
class DciRekeyed:
    sealed: int  # sealed values sealed again under the new key
    unreadable: int  # sealed values that open with neither key (left for the worker to give up)
    people: int  # person subscriptions given the new keyed hash


def _resealed(blob: bytes | None, legacy: bool, old: PersonalDataCipher,
              new: PersonalDataCipher) -> tuple[bytes | None, str]:
    """(the value under the new key and DCI's purpose, what happened: none | sealed | already | unreadable)."""
    if blob is None:
        return None, "none"
    for cipher, purpose, outcome in ((old, sealing.purpose(legacy), "sealed"), (new, sealing.PURPOSE, "already")):
        try:
            opened = cipher.open(bytes(blob), purpose)
        except (InvalidTag, ValueError):
            continue
        return (sealing.seal(new, opened) if outcome == "sealed" else bytes(blob)), outcome
    return bytes(blob), "unreadable"


async def rekey_dci(conn: asyncpg.Connection, old: PersonalDataCipher, new: PersonalDataCipher) -> DciRekeyed:
    await conn.execute(_LOCK)
    sealed = unreadable = 0
    for table, columns, where in _SEALED:
        updates: list[tuple[Any, ...]] = []
        for row in await conn.fetch(f"SELECT id, legacy_seal, {', '.join(columns)} FROM {table} WHERE {where}"):
            values = []
            for column in columns:
                value, outcome = _resealed(row[column], row["legacy_seal"], old, new)
                sealed += outcome == "sealed"
                unreadable += outcome == "unreadable"
                values.append(value)
            updates.append((row["id"], *values))
        assignments = ", ".join(f"{c} = ${i + 2}" for i, c in enumerate(columns)) + ", legacy_seal = false"
        await conn.executemany(f"UPDATE {table} SET {assignments} WHERE id = $1", updates)
    people = []
    for row in await conn.fetch(_PEOPLE):
        stored = orjson.loads(row["filter"]) if isinstance(row["filter"], str) else row["filter"]
        found = rules.person_citizen_id(stored, old) or rules.person_citizen_id(stored, new)
        if found is not None:
            people.append((row["id"], orjson.dumps(rules.person_filter(new, found)).decode()))
    await conn.executemany("UPDATE dci_subscriptions SET filter = $2::jsonb WHERE id = $1", people)
    return DciRekeyed(sealed, unreadable, len(people))
