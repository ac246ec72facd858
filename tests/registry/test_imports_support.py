"""Helpers of the import tests: the registry app with personal-data keys, files, uploads, counts.

(Named test_imports_* to stay inside the import tests' paths; it holds fixtures, no tests.)
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from services.registry.imports.columns import COLUMN_NAMES
from services.registry.imports.settings import ImportSettings
from services.registry.main import create_app
from services.registry.personal_data import PersonalDataCipher
from services.registry.settings import RegistrySettings
from shared.crypto import decode_key, generate_key
from shared.db import asyncpg_dsn
from shared.permissions import ROLE_PERMISSIONS
from shared.principal import Principal
from tests.kit import auth_headers, eventually, make_principal, running_app, service_env
from tests.registry.units_helpers import COMMUNE, DISTRICT, OTHER_COMMUNE, OTHER_DISTRICT, OTHER_PROVINCE, PROVINCE

__all__ = ["COMMUNE", "DISTRICT", "OTHER_COMMUNE", "OTHER_DISTRICT", "OTHER_PROVINCE", "PROVINCE"]

KEY, HASH_KEY = generate_key(), generate_key()
CIPHER = PersonalDataCipher(decode_key(KEY, "key"), decode_key(HASH_KEY, "hash key"))
COMMUNE_CODE = COMMUNE.rsplit(".", 1)[-1]  # 07207 Ngô Quyền ward (urban)
OTHER_COMMUNE_CODE = OTHER_COMMUNE.rsplit(".", 1)[-1]  # 07210, same district
TABLES = ("households", "household_members", "household_assessments", "household_history", "outbox")


def officer(role: str, *paths: str) -> Principal:
    return make_principal(role, paths, ROLE_PERMISSIONS[role])


def commune_officer() -> Principal:
    return officer("commune_officer", COMMUNE)


@dataclass
class Registry:
    app: FastAPI
    client: httpx.AsyncClient
    db_url: str

    async def sql(self, query: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(asyncpg_dsn(self.db_url))
        try:
            return await conn.fetch(query, *args)
        finally:
            await conn.close()

    async def counts(self) -> dict[str, int]:
        rows = await self.sql(" UNION ALL ".join(f"SELECT '{t}' AS t, count(*) AS n FROM {t}" for t in TABLES))
        return {r["t"]: r["n"] for r in rows}

    async def upload(self, data: bytes, principal: Principal | None = None, filename: str = "households.csv",
                     **params: Any) -> httpx.Response:
        principal = principal or commune_officer()
        return await self.client.post("/registry/imports", params=params, headers=auth_headers(principal),
                                      files={"file": (filename, data)})

    async def job(self, job_id: str, principal: Principal | None = None, **params: Any) -> httpx.Response:
        return await self.client.get(f"/registry/imports/{job_id}", params=params,
                                     headers=auth_headers(principal or commune_officer()))

    async def finished(self, response: httpx.Response, principal: Principal | None = None) -> dict[str, Any]:
        """The job of an upload once it has finished (its runner works in the background)."""
        assert response.status_code == 202, response.text
        await self.app.state.import_jobs.wait_all()
        job = await self.job(response.json()["id"], principal)
        assert job.status_code == 200, job.text
        body: dict[str, Any] = job.json()
        assert body["status"] in ("completed", "rejected", "failed"), body
        return body

    async def run(self, data: bytes, principal: Principal | None = None, filename: str = "households.csv",
                  **params: Any) -> dict[str, Any]:
        return await self.finished(await self.upload(data, principal, filename, **params), principal)


@dataclass
class HeldOutbox:
    conn: asyncpg.Connection  # for queries while the outbox is held
    transaction: Any  # roll it back to let the import go on


@asynccontextmanager
async def outbox_held(db_url: str) -> AsyncIterator[HeldOutbox]:
    """The outbox locked by another transaction: an import stops at its first event, with the batches
    before it stored in its open transaction and its progress already written."""
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute("LOCK TABLE outbox IN SHARE ROW EXCLUSIVE MODE")
        yield HeldOutbox(conn, transaction)
    finally:
        await conn.close()


def registry_app(db_url: str, nats_url: str, **import_settings: Any) -> FastAPI:
    app = create_app(RegistrySettings(**service_env("registry", db_url, nats_url), personal_data_key=KEY,
                                      personal_data_hash_key=HASH_KEY))
    app.state.import_settings = ImportSettings(**import_settings)
    return app


@pytest.fixture
async def registry(registry_db: str, nats_url: str) -> AsyncIterator[Registry]:
    """The registry app on a fresh database with the units; background workers off so the outbox keeps
    the import's events for the tests to read."""
    app = create_app(RegistrySettings(**service_env("registry", registry_db, nats_url), personal_data_key=KEY,
                                      personal_data_hash_key=HASH_KEY, run_background_workers=False))
    app.state.import_settings = ImportSettings(batch_rows=3, event_items=4, max_bytes=64 * 1024)
    async with running_app(app) as client:
        yield Registry(app, client, registry_db)


def household(n: int = 1, **overrides: Any) -> dict[str, Any]:
    """A valid row of commune 07207: poor under Decree 07/2021 (urban line 2,000,000) unless overridden."""
    row = {
        "household_code": f"NQ-{n:04d}", "commune_code": COMMUNE_CODE, "village": "Tổ dân phố 3",
        "head_name": "Nguyễn Văn An", "head_citizen_id": f"0240850{n:05d}", "head_birth_date": "1975-03-21",
        "member_count": "4", "ethnic_minority": "false", "policy_family": "false", "income_per_capita": "1200000",
        "deprived_indicators": "health_insurance;housing_quality;latrine", "review_year": "2024",
    }
    row.update({k: str(v) for k, v in overrides.items()})
    return row


def csv_file(rows: Sequence[dict[str, Any]], columns: Sequence[str] = COLUMN_NAMES, delimiter: str = ",",
             encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    return out.getvalue().encode(encoding)


def xlsx_file(rows: Sequence[Sequence[Any]], header: Sequence[str] = COLUMN_NAMES) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def errors_of(job: dict[str, Any]) -> list[tuple[int | None, str | None, str]]:
    return [(e["row"], e["column"], e["reason"]) for e in job["errors"]]


async def until(check: Any) -> Any:
    return await eventually(check, timeout=30)
