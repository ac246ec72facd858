"""The platform the DCI benches run against: embedded PostgreSQL and NATS (or DATABASE_URL /
NATS_URL), the registry and the gateway as uvicorn processes, the administrative units loaded,
`households` households of Phường Ngô Quyền (07207) COPYed straight into the registry database with
encrypted citizen IDs and their keyed hashes (as an import writes them), the demo system client
`system.demo` registered for DCI, and its client_credentials token.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson

from bench.gateway import prepare, process, uvicorn, wait_healthy
from bench.stack import bench_stack
from devstack.embedded import free_port
from services.registry.personal_data import PersonalDataCipher
from shared.crypto import decode_key, generate_key
from shared.db import Database, asyncpg_dsn
from shared.principal import PRINCIPAL_HEADER, Principal, PrincipalSigner, ScopeUnit, generate_keypair

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
    logs = Path(tempfile.mkdtemp(prefix="chungtay-bench-dci-"))
    private_pem, public_pem = generate_keypair()
    key, hash_key = generate_key(), generate_key()
    cipher = PersonalDataCipher(decode_key(key, "k"), decode_key(hash_key, "h"))
    with bench_stack() as (pg_url, nats_url):
        os.environ.setdefault("CHUNGTAY_DEMO_PASSWORD", "demo")
        registry_db, gateway_db = asyncio.run(prepare(pg_url))
        started = time.perf_counter()
        citizen_ids, household_ids = asyncio.run(_load(registry_db, cipher, households, callback))
        note = f"{households:,} households / {2 * households:,} members loaded in {time.perf_counter() - started:.0f}s"
        registry_port, gateway_port = free_port(), free_port()
        base_env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        registry_env = base_env | {
            "REGISTRY_DATABASE_URL": registry_db, "REGISTRY_NATS_URL": nats_url,
            "REGISTRY_PRINCIPAL_PUBLIC_KEY": public_pem, "REGISTRY_PERSONAL_DATA_KEY": key,
            "REGISTRY_PERSONAL_DATA_HASH_KEY": hash_key}
        gateway_env = base_env | {
            "GATEWAY_DATABASE_URL": gateway_db, "GATEWAY_NATS_URL": nats_url,
            "GATEWAY_PRINCIPAL_PRIVATE_KEY": private_pem, "GATEWAY_PRINCIPAL_PUBLIC_KEY": public_pem,
            "GATEWAY_UPSTREAM_REGISTRY": f"http://127.0.0.1:{registry_port}",
            "GATEWAY_REQUESTS_PER_PRINCIPAL_PER_MINUTE": "1000000000",
            "GATEWAY_TOKEN_REQUESTS_PER_IP_PER_MINUTE": "1000000000"}
        registry_url, gateway_url = f"http://127.0.0.1:{registry_port}", f"http://127.0.0.1:{gateway_port}"
        with process(uvicorn("services.registry.main:create_app", registry_port), registry_env,
                     logs / "registry.log") as registry_proc, \
                process(uvicorn("gateway.main:create_app", gateway_port), gateway_env,
                        logs / "gateway.log") as gateway_proc:
            wait_healthy(registry_url, registry_proc, logs / "registry.log")
            wait_healthy(gateway_url, gateway_proc, logs / "gateway.log")
            token = httpx.post(gateway_url + "/auth/token", data={
                "grant_type": "client_credentials", "client_id": CLIENT, "client_secret": SECRET}).json()
            bearer = {"Authorization": f"Bearer {token['access_token']}"}
            me = httpx.get(gateway_url + "/auth/me", headers=bearer).json()
            principal = Principal(id=me["id"], role=me["role"], permissions=frozenset(me["permissions"]),
                                  scopes=tuple(ScopeUnit(**s) for s in me["scopes"]), kind="client",
                                  name=me["username"])
            direct = {PRINCIPAL_HEADER: PrincipalSigner(private_pem, ttl_seconds=3600).sign(principal)}
            yield Platform(gateway_url, registry_url, registry_db, token["access_token"], citizen_ids,
                           household_ids, note, direct, {"registry": registry_proc.pid, "gateway": gateway_proc.pid})


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


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def proxied_post(url: str, headers: dict[str, str], body: bytes) -> httpx.Response:
    """The first 200 through the gateway (it reads the registry's routes when first asked)."""
    deadline = time.monotonic() + 30
    while True:
        response = httpx.post(url, headers=headers | {"content-type": "application/json"}, content=body)
        if response.status_code == 200 or time.monotonic() > deadline:
            response.raise_for_status()
            return response
        time.sleep(0.5)
