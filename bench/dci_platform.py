"""The platform the DCI benches run against: the registry and the gateway of bench/platform.py, the
administrative units loaded, `households` households of Phường Ngô Quyền (07207) COPYed straight into
the registry database with encrypted citizen IDs and their keyed hashes (as an import writes them),
the demo system client `system.demo` registered for DCI, and its client_credentials token.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg
import httpx
import orjson

from bench.platform import proxied, registry_and_gateway
from services.registry.personal_data import PersonalDataCipher
from shared.crypto import decode_key, generate_key
from shared.db import Database, asyncpg_dsn

COMMUNE, PATH = "07207", "v2008.24.213.07207"
CLIENT, SECRET = "system.demo", "demo"


@dataclass
class Platform:
    gateway: str
    registry: str
    registry_db: str
    token: str
    citizen_ids: list[str]
    household_ids: list[str]
    load_note: str
    direct_headers: dict[str, str]  # the registry called without the gateway, with the principal it would sign
    pids: dict[str, int]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def _load(db_url: str, cipher: PersonalDataCipher, households: int, callback: str) -> tuple[list[str], list[str]]:
    """COPY `households` households of two members each; returns (citizen IDs, household ids)."""
    from services.registry.units.load import load_units

    db = Database(db_url, pool_size=1)
    try:
        async with db.system_session() as session:
            await load_units(session)
    finally:
        await db.dispose()
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    citizen_ids: list[str] = []
    household_ids: list[str] = []
    try:
        batch = 20_000
        for start in range(0, households, batch):
            rows_h, rows_m = [], []
            numbers = [f"024{start * 2 + i:09d}" for i in range(min(batch, households - start) * 2)]
            protected = cipher.protect_many(numbers)
            for i in range(len(numbers) // 2):
                hid = uuid.uuid4()
                household_ids.append(str(hid))
                rows_h.append((hid, PATH, COMMUNE, f"B-{start + i:07d}", "Tổ 1", "Nguyễn Văn An", "nguyen van an",
                               "urban", 2))
                for j, relation in enumerate(("head", "spouse")):
                    enc, digest = protected[i * 2 + j]
                    rows_m.append((uuid.uuid4(), hid, PATH, "Nguyễn Văn An", "nguyen van an", enc, digest,
                                   date(1980, 1, 1), relation, relation == "head"))
            citizen_ids.extend(numbers)
            await conn.copy_records_to_table("households", records=rows_h, columns=[
                "id", "unit_path", "commune_code", "household_code", "village", "head_name", "head_name_search",
                "area", "member_count"])
            await conn.copy_records_to_table("household_members", records=rows_m, columns=[
                "id", "household_id", "unit_path", "full_name", "name_search", "citizen_id_enc", "citizen_id_hash",
                "birth_date", "relation", "is_head"])
        await conn.execute("ANALYZE households; ANALYZE household_members")
        await conn.execute(
            "INSERT INTO dci_clients (client_id, display_name, callback_urls, public_keys, allow_unsigned, "
            "data_profile, active) VALUES ($1, 'Bench client', $2, '[]', true, 'full', true)", CLIENT, [callback])
    finally:
        await conn.close()
    return citizen_ids, household_ids


@contextmanager
def dci_platform(households: int, callback: str) -> Iterator[Platform]:
    key, hash_key = generate_key(), generate_key()
    cipher = PersonalDataCipher(decode_key(key, "k"), decode_key(hash_key, "h"))
    loaded: dict[str, Any] = {}

    def load(registry_db: str) -> None:
        started = time.perf_counter()
        loaded["citizen_ids"], loaded["household_ids"] = asyncio.run(_load(registry_db, cipher, households, callback))
        loaded["note"] = (f"{households:,} households / {2 * households:,} members loaded in "
                          f"{time.perf_counter() - started:.0f}s")

    with registry_and_gateway((key, hash_key), before_start=load) as services:
        token = services.token({"grant_type": "client_credentials", "client_id": CLIENT, "client_secret": SECRET})
        yield Platform(services.gateway, services.registry, services.registry_db, token, loaded["citizen_ids"],
                       loaded["household_ids"], loaded["note"], services.direct_headers(token), services.pids)


def officer_token(platform: Platform) -> str:
    return str(httpx.post(platform.gateway + "/auth/token", data={
        "grant_type": "password", "username": f"commune.{COMMUNE}", "password": "demo"}).json()["access_token"])


def message(action: str, items_key: str, items: list[dict[str, Any]], **header: Any) -> bytes:
    now = "2026-12-06T09:00:00+07:00"
    return orjson.dumps({
        "header": {"version": "1.0.0", "message_id": uuid.uuid4().hex, "message_ts": now, "action": action,
                   "sender_id": CLIENT, "total_count": len(items), **header},
        "message": {"transaction_id": uuid.uuid4().hex[:20], items_key: items}})


def by_citizen(number: str) -> dict[str, Any]:
    return {"reference_id": uuid.uuid4().hex[:16], "timestamp": "2026-12-06T09:00:00+07:00",
            "search_criteria": {"query_type": "idtype-value", "query": {"type": "NationalID", "value": number}}}


def proxied_post(url: str, headers: dict[str, str], body: bytes) -> httpx.Response:
    """The first 200 through the gateway (it reads the registry's routes when first asked)."""
    return proxied("POST", url, headers | {"content-type": "application/json"}, body)
