"""DCI fixtures: the registry app (with personal-data keys and fast callback retries), registered
client systems, principals as the gateway signs them for a system client, envelopes and a callback
receiver (a real HTTP server on a free port)."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from devstack.embedded import free_port
from services.registry.dci import signatures
from services.registry.main import create_app
from services.registry.settings import RegistrySettings
from shared import clock
from shared.permissions import ROLE_PERMISSIONS
from shared.principal import Principal
from tests.kit import auth_headers, eventually, make_principal, running_app, scope_unit, service_env
from tests.registry.conftest import PERSONAL_DATA_KEYS, registry_db, units_template  # noqa: F401 - fixtures
from tests.registry.households_helpers import HOME, commune_officer, household_body

_serial = itertools.count(1)


@pytest.fixture
def fast_dci_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry's DCI worker, for the apps started after it: it looks for work every 0.1 s and
    tries a refused callback again after 0.2 s, then at most every 0.5 s."""
    monkeypatch.setenv("REGISTRY_DCI_POLL_SECONDS", "0.1")
    monkeypatch.setenv("REGISTRY_DCI_RETRY_BASE_SECONDS", "0.2")
    monkeypatch.setenv("REGISTRY_DCI_RETRY_CAP_SECONDS", "0.5")


@pytest.fixture
async def dci_client(registry_db: str, nats_url: str,  # noqa: F811 - the imported fixture
                     fast_dci_worker: None, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("REGISTRY_DCI_CALLBACK_TIMEOUT_SECONDS", "2")
    settings = RegistrySettings(**service_env("registry", registry_db, nats_url, **PERSONAL_DATA_KEYS))
    async with running_app(create_app(settings)) as client:
        yield client


ADMIN = auth_headers(make_principal("admin", ["v2008", "v2025"], ("*",), principal_id="dci-admin"))


def system(client_id: str, *paths: str) -> dict[str, str]:
    """A system client's principal, as the gateway signs it after a client_credentials grant."""
    return auth_headers(Principal(id=str(uuid.uuid4()), role="system_client",
                                  permissions=ROLE_PERMISSIONS["system_client"],
                                  scopes=tuple(scope_unit(p) for p in paths), kind="client", name=client_id))


async def register_client(client: httpx.AsyncClient, client_id: str, **body: Any) -> dict[str, Any]:
    payload = {"client_id": client_id, "display_name": f"Hệ thống {client_id}", "allow_unsigned": True,
               "data_profile": "full", **body}
    response = await client.put("/registry/dci/clients", json=payload, headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


def new_key(kid: str = "k1") -> tuple[dict[str, Any], dict[str, Any]]:
    """(private JWK, public JWK) of a new Ed25519 key."""
    key = Ed25519PrivateKey.generate()
    private = orjson.loads(OKPAlgorithm.to_jwk(key))
    public = orjson.loads(OKPAlgorithm.to_jwk(key.public_key()))
    return {**private, "kid": kid}, {**public, "kid": kid}


def envelope(action: str, sender: str, message: dict[str, Any], count: int, *, sender_uri: str | None = None,
             key: dict[str, Any] | None = None, message_id: str | None = None) -> dict[str, Any]:
    message_id = message_id or f"M-{next(_serial)}-{uuid.uuid4().hex[:6]}"
    header: dict[str, Any] = {"version": "1.0.0", "message_id": message_id,
                              "message_ts": clock.now().isoformat(), "action": action, "sender_id": sender,
                              "total_count": count, "is_msg_encrypted": False}
    if sender_uri:
        header["sender_uri"] = sender_uri
    body: dict[str, Any] = {"header": header, "message": message}
    if key is not None:
        body["signature"] = signatures.sign(header, message, key)
    return body


def search_item(query_type: str, query: Any, reference_id: str | None = None, **criteria: Any) -> dict[str, Any]:
    return {"reference_id": reference_id or f"R-{next(_serial)}", "timestamp": clock.now().isoformat(),
            "search_criteria": {"version": "1.0.0", "reg_type": "ns:chungtay:RegistryType:Social",
                                "query_type": query_type, "query": query, **criteria}}


def search_body(sender: str, items: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    return envelope("search", sender, {"transaction_id": f"T-{next(_serial)}", "search_request": items},
                    len(items), **kw)


def by_citizen(number: str, **kw: Any) -> dict[str, Any]:
    return search_item("idtype-value", {"type": "NationalID", "value": number}, **kw)


class Receiver:
    """A DCI client's callback endpoint: records what it is sent; answers `status` (503 = it is down)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[dict[str, Any]] = []
        self.refused = 0
        self.status = 200

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/dci"

    async def _handle(self, request: Request) -> JSONResponse:
        body = orjson.loads(await request.body())
        if self.status >= 300:
            self.refused += 1
            return JSONResponse({"errors": [{"code": "err.service.unavailable"}]}, status_code=self.status)
        self.received.append({"path": request.url.path, "body": body})
        return JSONResponse({"message": {"ack_status": "ACK", "timestamp": clock.now().isoformat(),
                                         "correlation_id": body["header"]["message_id"]}})

    def of(self, action: str) -> list[dict[str, Any]]:
        return [r["body"] for r in self.received if r["body"]["header"]["action"] == action]

    async def arrived(self, action: str) -> list[dict[str, Any]]:
        """`of(action)` as a check for `eventually`."""
        return self.of(action)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = Starlette(routes=[Route("/dci", found._handle, methods=["POST"]),
                            Route("/dci/{rest:path}", found._handle, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=found.port, log_level="warning",
                                           lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.02)
    try:
        yield found
    finally:
        server.should_exit = True
        await task


def registry_app(database_url: str, nats_url: str, keys: dict[str, str] = PERSONAL_DATA_KEYS) -> Any:
    """The registry app under `keys` (its personal-data keys), run as the tests' running_app."""
    return running_app(create_app(RegistrySettings(**service_env("registry", database_url, nats_url, **keys))))


async def async_search(client: httpx.AsyncClient, number: str, receiver: Receiver) -> str:
    """An async search by citizen ID from client `bhxh`, its on-search to `receiver`: the correlation id."""
    body = search_body("bhxh", [by_citizen(number)], sender_uri=receiver.url)
    ack = (await client.post("/registry/search", json=body, headers=system("bhxh", HOME))).json()
    assert ack["message"]["ack_status"] == "ACK", ack
    return str(ack["message"]["correlation_id"])


async def a_household_for_bhxh(client: httpx.AsyncClient, receiver: Receiver) -> tuple[dict[str, Any], str]:
    """Client `bhxh` registered with `receiver`'s URL for its callbacks, and a new household of two
    members: (the household, its second member's citizen ID)."""
    body = household_body(members=2)
    await register_client(client, "bhxh", callback_urls=[receiver.url])
    created = await client.post("/registry/households", json=body, headers=commune_officer())
    assert created.status_code == 201, created.text
    return created.json(), body["members"][1]["citizen_id"]


async def a_callback_waiting(client: httpx.AsyncClient, number: str, receiver: Receiver) -> str:
    """An async search by `number` answered (its correlation id returned), then a second one whose
    answer waits, sealed, for the client: `receiver` is down (503) and has refused it once. Needs
    client `bhxh` registered with `receiver`'s URL (`a_household_for_bhxh`) and the fast worker
    (`fast_dci_worker`)."""
    answered = await async_search(client, number, receiver)
    await eventually(lambda: receiver.arrived("on-search"))
    receiver.received.clear()
    receiver.status = 503
    await async_search(client, number, receiver)

    async def refused() -> bool:
        return receiver.refused >= 1

    await eventually(refused)
    return answered
