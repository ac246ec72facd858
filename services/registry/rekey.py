"""Replace the registry's personal-data keys: every stored citizen ID re-encrypted and re-hashed.

    python -m services.registry.rekey --new-key-file NEW.key --new-hash-key-file NEW_HASH.key

Run it while the registry is stopped, with the registry's usual settings (REGISTRY_DATABASE_URL and
the current REGISTRY_PERSONAL_DATA_KEY / REGISTRY_PERSONAL_DATA_HASH_KEY), then start the registry
with the new keys. Everything happens in one transaction: a failure or interruption changes nothing.
Running it again with the same keys is harmless (rows already under the new key are recognised and
only re-hashed). Idempotency-Key answers sealed with the old key are deleted: a client retrying such a
create within its day gets the duplicate-code refusal instead of a replay.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from cryptography.exceptions import InvalidTag

from services.registry.dci.rekey import DciRekeyed, rekey_dci
from services.registry.personal_data import PersonalDataCipher, cipher_from_settings
from services.registry.settings import RegistrySettings
from shared.crypto import decode_key
from shared.db import asyncpg_dsn
from shared.idempotency import SEALED_PREFIX

_CHUNK = 10_000
_MEMBERS = "SELECT id, citizen_id_enc FROM household_members WHERE citizen_id_enc IS NOT NULL"
# Writers wait (the registry should be stopped anyway); readers go on until the commit.
_LOCK = "LOCK TABLE household_members, idempotency_keys IN EXCLUSIVE MODE"
_STAGE = "CREATE TEMP TABLE rekeyed (id uuid PRIMARY KEY, enc bytea NOT NULL, hash bytea NOT NULL) ON COMMIT DROP"
# One statement for every row. The unique index on the hash is checked row by row, but a new hash
# equal to another row's old one would take a collision of two HMAC-SHA256 keys: never in practice.
_APPLY = ("UPDATE household_members m SET citizen_id_enc = r.enc, citizen_id_hash = r.hash "
          "FROM rekeyed r WHERE m.id = r.id")
_DROP_SEALED_ANSWERS = "DELETE FROM idempotency_keys WHERE substring(response_body FROM 1 FOR $1) = $2"


class RekeyError(RuntimeError):
    pass


@dataclass(frozen=True)
class RekeyResult:
    members: int
    already_new: int
    replay_answers_dropped: int
    dci: DciRekeyed


async def rekey(database_url: str, old: PersonalDataCipher, new: PersonalDataCipher) -> RekeyResult:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        async with conn.transaction():
            await conn.execute(_LOCK)
            await conn.execute(_STAGE)
            members = already_new = 0
            cursor = await conn.cursor(_MEMBERS)
            while rows := await cursor.fetch(_CHUNK):
                batch = []
                for row in rows:
                    citizen_id, was_new = _open(row["id"], bytes(row["citizen_id_enc"]), old, new)
                    already_new += was_new
                    batch.append((row["id"], new.encrypt(citizen_id), new.hash(citizen_id)))
                await conn.copy_records_to_table("rekeyed", records=batch, columns=("id", "enc", "hash"))
                members += len(batch)
            await conn.execute(_APPLY)
            dropped = await conn.execute(_DROP_SEALED_ANSWERS, len(SEALED_PREFIX), SEALED_PREFIX)
            dci = await rekey_dci(conn, old, new)
        return RekeyResult(members, already_new, int(dropped.split()[-1]), dci)
    finally:
        await conn.close()


def _open(member_id: object, blob: bytes, old: PersonalDataCipher, new: PersonalDataCipher) -> tuple[str, bool]:
    """(citizen ID, whether the row is already under the new key)."""
    try:
        return old.decrypt(blob), False
    except InvalidTag:
        pass
    try:
        return new.decrypt(blob), True
    except InvalidTag:
        raise RekeyError(f"member {member_id}: its citizen ID opens with neither the current nor the new key; "
                         "nothing was changed") from None


def _key_file(path: str, name: str) -> bytes:
    try:
        return decode_key(Path(path).read_text(), name)
    except OSError as exc:
        raise RekeyError(f"{name}: cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise RekeyError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    settings = RegistrySettings()
    parser = argparse.ArgumentParser(prog="python -m services.registry.rekey", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=settings.database_url, help="the registry's database")
    parser.add_argument("--new-key-file", required=True, help="the new encryption key (32 bytes, base64 or hex)")
    parser.add_argument("--new-hash-key-file", required=True, help="the new hash key (32 bytes, base64 or hex)")
    args = parser.parse_args(argv)
    try:
        old = cipher_from_settings(settings)
        new = PersonalDataCipher(_key_file(args.new_key_file, "the new key"),
                                 _key_file(args.new_hash_key_file, "the new hash key"))
        started = time.monotonic()
        result = asyncio.run(rekey(args.database_url, old, new))
    except (RekeyError, ValueError, RuntimeError) as exc:
        print(f"rekey failed: {exc}", file=sys.stderr)
        return 1
    print(f"re-keyed {result.members} citizen IDs ({result.already_new} were already under the new key) and "
          f"dropped {result.replay_answers_dropped} sealed Idempotency-Key answers, sealed {result.dci.sealed} "
          f"DCI values again ({result.dci.unreadable} unreadable, left) and re-hashed {result.dci.people} DCI "
          f"person subscriptions in "
          f"{time.monotonic() - started:.1f} s; start the registry with the new keys now")
    return 0


if __name__ == "__main__":
    sys.exit(main())
