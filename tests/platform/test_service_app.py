"""Every service starts with health, readiness, metrics and refuses callers without the gateway's principal."""

from __future__ import annotations

import importlib

import pytest

from shared.services import SERVICES
from tests.kit import Stack, auth_headers, fresh_database, make_principal, running_app, service_env


def build(service: str, db_url: str, nats_url: str):  # type: ignore[no-untyped-def]
    main = importlib.import_module(f"services.{service}.main")
    settings_mod = importlib.import_module(f"services.{service}.settings")
    settings_cls = next(v for k, v in vars(settings_mod).items() if k.endswith("Settings") and k != "ServiceSettings")
    return main.create_app(settings_cls(**service_env(service, db_url, nats_url)))


@pytest.mark.parametrize("service", SERVICES)
async def test_service_is_healthy_ready_and_exposes_metrics(service: str, stack: Stack, nats_url: str) -> None:
    db_url = await fresh_database(stack, service)
    async with running_app(build(service, db_url, nats_url)) as client:
        assert (await client.get("/health")).json()["status"] == "ok"
        ready = await client.get("/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "nats": "ok"}
        metrics = await client.get("/metrics")
        assert "outbox_published_total" in metrics.text
        assert metrics.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize("service", SERVICES)
async def test_service_refuses_requests_without_a_valid_principal(service: str, stack: Stack, nats_url: str) -> None:
    db_url = await fresh_database(stack, service)
    async with running_app(build(service, db_url, nats_url)) as client:
        missing = await client.get(f"/{service}/principal")
        assert missing.status_code == 401
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.json()["code"] == "unauthorized"
        forged = await client.get(f"/{service}/principal", headers={"x-chungtay-principal": "not-a-token"})
        assert forged.status_code == 401
        principal = make_principal("commune_officer", ["v2008.24.213.07207"])
        ok = await client.get(f"/{service}/principal", headers=auth_headers(principal))
        assert ok.status_code == 200
        assert ok.json()["scopes"][0]["path"] == "v2008.24.213.07207"
        assert ok.headers["x-request-id"]
