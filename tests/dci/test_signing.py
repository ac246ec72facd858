"""The registry signs what it sends when it has a key: sync answers and callbacks carry a JWS a client
checks with the public key the registry publishes (GET /registry/dci/keys)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import orjson
import pytest

from services.registry.dci import signatures
from services.registry.main import create_app
from services.registry.settings import RegistrySettings
from tests.dci.conftest import Receiver, by_citizen, new_key, register_client, search_body, system
from tests.kit import eventually, running_app, service_env
from tests.registry.conftest import PERSONAL_DATA_KEYS
from tests.registry.households_helpers import HOME


@pytest.fixture
async def signing_client(registry_db: str, nats_url: str,
                         monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    private, _ = new_key("chungtay-registry-1")
    monkeypatch.setenv("REGISTRY_DCI_SIGNING_KEY", orjson.dumps(private).decode())
    monkeypatch.setenv("REGISTRY_DCI_POLL_SECONDS", "0.1")
    settings = RegistrySettings(**service_env("registry", registry_db, nats_url, **PERSONAL_DATA_KEYS))
    async with running_app(create_app(settings)) as client:
        yield client


async def test_answers_and_callbacks_are_signed(signing_client: httpx.AsyncClient, receiver: Receiver) -> None:
    await register_client(signing_client, "bhxh", callback_urls=[receiver.url])
    headers = system("bhxh", HOME)
    keys = (await signing_client.get("/registry/dci/keys", headers=headers)).json()["keys"]
    assert [k["kid"] for k in keys] == ["chungtay-registry-1"] and all("d" not in k for k in keys)
    answer = (await signing_client.post("/registry/sync/search", headers=headers,
                                        json=search_body("bhxh", [by_citizen("024000000001")]))).json()
    signatures.verify(answer, keys)
    tampered = {**answer, "message": {**answer["message"], "transaction_id": "other"}}
    with pytest.raises(signatures.SignatureRefused):
        signatures.verify(tampered, keys)
    await signing_client.post("/registry/search", headers=headers,
                              json=search_body("bhxh", [by_citizen("024000000001")]))

    async def delivered() -> list[dict[str, object]]:
        return receiver.of("on-search")

    [callback] = await eventually(delivered)
    signatures.verify(callback, keys)
