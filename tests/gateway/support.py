"""Helpers of the gateway tests: settings, the gateway running in process, servers on real ports,
units published as the registry publishes them, an echo upstream that verifies the principal."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Annotated, Any

import httpx
import nats
import orjson
import uvicorn
from fastapi import APIRouter, Depends, FastAPI
from starlette.types import Receive, Scope, Send

from devstack.embedded import free_port
from gateway import bootstrap
from gateway.directory.reference import reference_directory
from gateway.directory.service import UNIT_CHANGED, DirUnit
from gateway.proxy.front import GatewayFront
from gateway.settings import GatewaySettings
from shared.crypto import generate_key
from shared.events import Event
from shared.http import require
from shared.principal import PRINCIPAL_HEADER, InvalidPrincipal, Principal, PrincipalVerifier
from shared.route_rules import add_rules_to_openapi
from shared.services import SERVICES
from shared.streams import ensure_streams
from tests.kit import PRIVATE_KEY, PUBLIC_KEY

DEMO_PASSWORD = "demo"
# The key the gateways under test encrypt their token signing keys with (tests pass "" for none).
SIGNING_KEY_ENCRYPTION_KEY = generate_key()

# Units the gateway tests name: Bắc Giang (24) before the reform with its city (213), two wards of the
# city, a commune of another district, another province, and the reused codes after the reform.
BAC_GIANG, CITY, NGO_QUYEN, SONG_MAI, HOANG_VAN_THU = "24", "213", "07207", "07222", "07210"
OTHER_DISTRICT = "215"
OTHER_PROVINCE = "25"


def units_for_tests() -> list[DirUnit]:
    ref = reference_directory()
    wanted = [("v2008", c) for c in (BAC_GIANG, CITY, NGO_QUYEN, SONG_MAI, HOANG_VAN_THU, OTHER_DISTRICT,
                                      OTHER_PROVINCE)]
    wanted += [("v2025", BAC_GIANG), ("v2025", HOANG_VAN_THU)]
    units = [ref.resolve(code, hierarchy)[0] for hierarchy, code in wanted]
    # one commune of the other district, and one district and commune of the other province
    units += [next(u for u in _children(ref, units[5].path))]
    other_district = next(u for u in _children(ref, units[6].path))
    units += [other_district, next(u for u in _children(ref, other_district.path))]
    return units


def _children(ref: Any, path: str) -> Iterable[DirUnit]:
    return sorted((u for u in ref._by_path.values() if u.parent_path == path), key=lambda u: u.path)


def unit_event(unit: DirUnit, version: int = 1) -> Event:
    return Event(type=UNIT_CHANGED, producer="registry", subject_id=unit.path, unit_code=unit.code,
                 unit_path=unit.path, version=version,
                 payload={"hierarchy": unit.hierarchy, "code": unit.code, "name": unit.name, "level": unit.level,
                          "parent_path": unit.parent_path})


async def publish_units(nats_url: str, units: Iterable[DirUnit]) -> None:
    """Publish `registry.unit.changed` as the registry's outbox relay would."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        for unit in units:
            event = unit_event(unit)
            await js.publish(event.subject, event.to_bytes(), headers={"Nats-Msg-Id": str(event.id)})
    finally:
        await nc.close()


FAST_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_kib": 8192, "argon2_parallelism": 1}  # tests only


async def seed(database_url: str) -> None:
    """Roles and demo accounts, hashed cheaply."""
    await bootstrap.run(database_url, GatewaySettings(database_url=database_url, **FAST_ARGON2))


def gateway_settings(database_url: str, nats_url: str, upstreams: dict[str, str] | None = None,
                     **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "database_url": database_url, "nats_url": nats_url, "principal_private_key": PRIVATE_KEY,
        "principal_public_key": PUBLIC_KEY, **FAST_ARGON2, "revocation_poll_seconds": 0.2,
        "directory_refresh_seconds": 0.5, "key_reload_seconds": 1.0, "redis_url": "",
        "signing_key_encryption_key": SIGNING_KEY_ENCRYPTION_KEY,
    }
    for service in SERVICES:  # a service not given is down: nothing listens on its port
        values[f"upstream_{service}"] = (upstreams or {}).get(service) or f"http://127.0.0.1:{free_port()}"
    values.update(overrides)
    return GatewaySettings(**values)


@asynccontextmanager
async def running_gateway(front: GatewayFront) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway with its lifespan, and a client talking to its ASGI front in process."""
    app = front.app
    async with app.router.lifespan_context(app):  # type: ignore[attr-defined]
        transport = httpx.ASGITransport(app=front, client=("198.51.100.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client


@asynccontextmanager
async def serve(app: Any, port: int | None = None, lifespan: str = "on") -> AsyncIterator[str]:
    """An ASGI app on a real local port, in this event loop; yields its base URL."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                          lifespan=lifespan, access_log=False))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task


# ---- the echo upstream's OpenAPI: the routes it stands in for, declared as the services declare them
Anyone = Annotated[Principal, Depends(require(None))]


def _test_routes() -> APIRouter:
    """Test-only routes of the echo upstream (mounted as "support"): slow answers, big answers, uploads."""
    router = APIRouter()

    @router.get("/support/test/echo")
    async def echo(_: Anyone) -> None: ...

    @router.get("/support/test/slow/{n}")
    async def slow(n: int, _: Annotated[Principal, Depends(require(None, timeout=0.5))]) -> None: ...

    @router.get("/support/test/big/{size}")
    async def big(size: int, _: Anyone) -> None: ...

    @router.post("/support/test/json")
    async def json_body(_: Anyone) -> None: ...

    @router.post("/support/test/upload")
    async def upload(_: Annotated[Principal, Depends(require(None, upload=True))]) -> None: ...

    for service in ("support", "emulation"):
        @router.get(f"/{service}/principal")
        async def principal(_: Anyone) -> None: ...

    return router


@lru_cache(maxsize=1)
def echo_openapi() -> bytes:
    """The registry's real routes (with their real declarations) and the test routes, in one document:
    the gateway takes from it, for each service sent to the echo upstream, the routes under its prefix."""
    from services.registry.main import create_app as registry_app
    from services.registry.settings import RegistrySettings

    registry = registry_app(RegistrySettings(principal_public_key=PUBLIC_KEY)).openapi()
    tests = FastAPI()
    tests.include_router(_test_routes())
    extra = add_rules_to_openapi(tests, tests.openapi())
    document = {**registry, "paths": {**registry["paths"], **extra["paths"]}}
    document["components"] = {"schemas": {**registry.get("components", {}).get("schemas", {}),
                                          **extra.get("components", {}).get("schemas", {})}}
    return orjson.dumps(document)


class EchoUpstream:
    """A stand-in service: refuses calls without a valid principal (401) and answers what it received.

    `/slow/...` waits `delay` seconds first; `/big/...` streams `size` bytes; every request is
    recorded so a test can assert that nothing reached the service."""

    def __init__(self) -> None:
        self.verifier = PrincipalVerifier(PUBLIC_KEY)
        self.seen: list[dict[str, Any]] = []
        self.delay = 5.0
        self.openapi = echo_openapi()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["path"] == "/openapi.json":
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": self.openapi})
            return
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path: str = scope["path"]
        record = {"method": scope["method"], "path": path, "raw_path": scope.get("raw_path", b"").decode(),
                  "query": scope["query_string"].decode(), "headers": headers, "body_size": len(body),
                  "body": body.decode("utf-8", "replace")[:2000]}
        self.seen.append(record)
        token = headers.get(PRINCIPAL_HEADER)
        try:
            principal = self.verifier.verify(token) if token else None
        except InvalidPrincipal:
            principal = None
        if principal is None:
            await _json(send, 401, {"code": "unauthorized"})
            return
        record["principal"] = {"id": principal.id, "role": principal.role, "scopes": principal.scope_paths}
        if "/slow/" in path:
            await asyncio.sleep(self.delay)
        if "/big/" in path:
            size = int(path.rsplit("/", 1)[-1])
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/octet-stream"), (b"x-upstream", b"echo")]})
            chunk = b"x" * 65536
            sent = 0
            while sent < size:
                part = chunk[: min(len(chunk), size - sent)]
                sent += len(part)
                await send({"type": "http.response.body", "body": part, "more_body": sent < size})
            return
        await _json(send, 200, record, extra=[(b"x-upstream", b"echo"), (b"connection", b"keep-alive"),
                                               (b"keep-alive", b"timeout=5")])


async def _json(send: Send, status: int, body: Any, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    data = orjson.dumps(body)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                            *(extra or [])]})
    await send({"type": "http.response.body", "body": data})
