"""A running reporting service on a fresh database and its own NATS, plus helpers to publish and wait."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import httpx
import nats
import pytest
from fastapi import FastAPI
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from services.reporting.main import create_app
from services.reporting.settings import ReportingSettings
from shared.events import Event
from shared.principal import Principal
from shared.streams import ensure_streams
from tests.kit import Stack, auth_headers, eventually, fresh_database, make_principal, running_app, service_env
from tests.reporting.registry_events import PROVINCE, publish

PROVINCE_OFFICER = make_principal("province_officer", [PROVINCE], permissions=["reporting.indicators.read"])
# An operator of the platform: the only kind of caller shown consumer lag, sequences and dead letters.
OPERATOR = make_principal("admin", ["v2008", "v2025"], permissions=["*"])


def reporting_app(db_url: str, nats_url: str, **extra: Any) -> FastAPI:
    return create_app(ReportingSettings(**service_env("reporting", db_url, nats_url, **extra)))


@dataclass
class Reporting:
    app: FastAPI
    client: httpx.AsyncClient
    js: JetStreamContext
    db_url: str
    nats_url: str

    async def publish(self, events: Iterable[Event], with_msg_id: bool = True) -> int:
        return await publish(self.js, events, with_msg_id)

    async def get(self, path: str, principal: Principal = PROVINCE_OFFICER, **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params, headers=auth_headers(principal))

    async def indicators(self, principal: Principal = PROVINCE_OFFICER, **params: Any) -> dict[str, Any]:
        response = await self.get("/reporting/indicators/poverty", principal, **params)
        assert response.status_code == 200, response.text
        return response.json()

    async def settled(self, last_seq: int, timeout: float = 30.0, consumer: str = "reporting-registry") -> None:
        """Wait until the projections of `consumer` have applied its stream up to `last_seq`."""
        async def check() -> bool:
            body = (await self.get("/reporting/status", OPERATOR)).json()
            state = next(c for c in body["consumers"] if c["consumer"] == consumer)
            return bool(state["lag"] == 0 and (state["applied"]["stream_seq"] or 0) >= last_seq)

        await eventually(check, timeout=timeout)


async def connect(nats_url: str) -> tuple[NATS, JetStreamContext]:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js)
    return nc, js


@pytest.fixture
async def reporting(stack: Stack, nats_url: str) -> AsyncIterator[Reporting]:
    db_url = await fresh_database(stack, "reporting")
    nc, js = await connect(nats_url)
    app = reporting_app(db_url, nats_url)
    try:
        async with running_app(app) as client:
            yield Reporting(app, client, js, db_url, nats_url)
    finally:
        await nc.close()
