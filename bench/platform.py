"""The registry and the gateway as uvicorn processes (uvloop, httptools) on embedded PostgreSQL and NATS
(or DATABASE_URL / NATS_URL): both databases migrated, the gateway bootstrapped (demo users and
clients, password `CHUNGTAY_DEMO_PASSWORD`, "demo" by default), the gateway's rate limits set out of
reach. What the gateway bench (bench/gateway.py) and the DCI benches (bench/dci_platform.py) run against.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.stack import bench_stack
from devstack.embedded import free_port
from devstack.migrate import upgrade_async
from gateway import bootstrap
from shared.crypto import generate_key
from shared.migrations import service_database_url
from shared.principal import PRINCIPAL_HEADER, Principal, PrincipalSigner, ScopeUnit, generate_keypair


@contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def uvicorn(app: str, port: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", "--factory", app, "--host", "127.0.0.1", "--port", str(port),
            "--no-access-log", "--loop", "uvloop", "--http", "httptools", "--log-level", "warning"]


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not healthy: {log.read_text()[-2000:]}")


async def prepare(pg_url: str) -> tuple[str, str]:
    """(registry database URL, gateway database URL), both migrated, the gateway bootstrapped."""
    registry, gateway = service_database_url(pg_url, "registry"), service_database_url(pg_url, "gateway")
    await upgrade_async("registry", registry)
    await upgrade_async("gateway", gateway)
    await bootstrap.run(gateway)
    return registry, gateway


@dataclass
class Services:
    registry: str  # base URLs
    gateway: str
    registry_db: str
    gateway_db: str
    pids: dict[str, int]  # "registry", "gateway"
    private_pem: str  # the gateway's principal-signing key, to call the registry as the gateway would

    def token(self, form: dict[str, str]) -> str:
        """An access token from the gateway's /auth/token (a password or client_credentials grant)."""
        return str(httpx.post(self.gateway + "/auth/token", data=form).json()["access_token"])

    def direct_headers(self, token: str) -> dict[str, str]:
        """The principal header the gateway signs for this token's holder: the registry called directly."""
        me = httpx.get(self.gateway + "/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
        principal = Principal(id=me["id"], role=me["role"], permissions=frozenset(me["permissions"]),
                              scopes=tuple(ScopeUnit(**s) for s in me["scopes"]),
                              kind="client" if me["role"] == "system_client" else "user", name=me["username"])
        return {PRINCIPAL_HEADER: PrincipalSigner(self.private_pem, ttl_seconds=3600).sign(principal)}


@contextmanager
def registry_and_gateway(personal_data_keys: tuple[str, str] | None = None,
                         before_start: Callable[[str], None] | None = None) -> Iterator[Services]:
    """The two services running; `before_start(registry database URL)` runs once the databases are
    ready and before the processes start (a bench loads its data there). `personal_data_keys` (key,
    hash key) when the caller must protect citizen IDs itself; new ones otherwise."""
    logs = Path(tempfile.mkdtemp(prefix="chungtay-bench-platform-"))
    private_pem, public_pem = generate_keypair()
    key, hash_key = personal_data_keys or (generate_key(), generate_key())
    try:
        with bench_stack() as (pg_url, nats_url):
            os.environ.setdefault("CHUNGTAY_DEMO_PASSWORD", "demo")
            registry_db, gateway_db = asyncio.run(prepare(pg_url))
            if before_start is not None:
                before_start(registry_db)
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
                # The limiter stays on the hot path, with a limit the benchmarks never reach.
                "GATEWAY_REQUESTS_PER_PRINCIPAL_PER_MINUTE": "1000000000",
                "GATEWAY_TOKEN_REQUESTS_PER_IP_PER_MINUTE": "1000000000"}
            registry_url, gateway_url = f"http://127.0.0.1:{registry_port}", f"http://127.0.0.1:{gateway_port}"
            with process(uvicorn("services.registry.main:create_app", registry_port), registry_env,
                         logs / "registry.log") as registry_proc, \
                    process(uvicorn("gateway.main:create_app", gateway_port), gateway_env,
                            logs / "gateway.log") as gateway_proc:
                wait_healthy(registry_url, registry_proc, logs / "registry.log")
                wait_healthy(gateway_url, gateway_proc, logs / "gateway.log")
                yield Services(registry_url, gateway_url, registry_db, gateway_db,
                               {"registry": registry_proc.pid, "gateway": gateway_proc.pid}, private_pem)
    finally:
        shutil.rmtree(logs, ignore_errors=True)


def percentile(values: list[float], q: float) -> float:
    """The q-quantile of durations in seconds, in milliseconds."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def proxied(method: str, url: str, headers: dict[str, str], body: bytes | None = None) -> httpx.Response:
    """The first 200 through the gateway: it reads a service's routes at start, or when asked for a
    service whose routes it does not know yet (at most every 2 s)."""
    deadline = time.monotonic() + 30
    while True:
        response = httpx.request(method, url, headers=headers, content=body)
        if response.status_code == 200 or time.monotonic() > deadline:
            response.raise_for_status()
            return response
        time.sleep(0.5)
