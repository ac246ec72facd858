"""Apps as real operating-system processes (uvicorn, as `make run` and the pods start them), for the
tests that run several replicas side by side and the benches that kill one with SIGKILL
(bench/faults.py, bench/mixed_load.py)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from devstack import apps
from devstack.embedded import free_port
from devstack.run import wait_healthy

# Fast retries and short ack waits (as the tests give the in-process apps).
QUICK = {"CONSUMER_ACK_WAIT_SECONDS": "2", "CONSUMER_BACKOFF_SECONDS": "0.2", "RELAY_IDLE_SECONDS": "0.5",
         "DB_POOL_SIZE": "5", "LOG_LEVEL": "INFO"}


@dataclass
class AppProcess:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(repr=False, default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """kill -9: no shutdown hook runs, connections drop mid-transaction."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    async def metrics(self) -> str:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(f"{self.url}/metrics")
            response.raise_for_status()
            return response.text


def service_env(name: str, database_url: str, nats_url: str, public_key: str, **extra: str) -> dict[str, str]:
    """The variables one service process reads (its own prefix), as devstack/run.py sets them; it trusts
    principals signed with the private key of `public_key`."""
    prefix = name.upper()
    env = {f"{prefix}_DATABASE_URL": database_url, f"{prefix}_NATS_URL": nats_url,
           f"{prefix}_PRINCIPAL_PUBLIC_KEY": public_key}
    env |= {f"{prefix}_{key}": value for key, value in QUICK.items()}
    env |= {f"{prefix}_{key.upper()}": value for key, value in extra.items()}
    return env


def spawn(name: str, env: dict[str, str], port: int | None = None) -> AppProcess:
    port = port or free_port()
    log_path = Path(tempfile.mkstemp(prefix=f"chungtay-{name}-", suffix=".log")[1])
    args = [sys.executable, "-m", "uvicorn", "--factory", apps.factory_of(name), "--host", "127.0.0.1",
            "--port", str(port), "--no-access-log", "--timeout-graceful-shutdown", "5"]
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
    with log_path.open("wb") as out:
        process = subprocess.Popen(args, env=full_env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    return AppProcess(name, port, process, log_path, env)


async def started(app: AppProcess, timeout: float = 120) -> AppProcess:
    try:
        await asyncio.to_thread(wait_healthy, app.name, app.port, app.process, timeout)
    except Exception as exc:
        app.kill()
        raise AssertionError(f"{app.name} did not start: {exc}\n{app.log()[-3000:]}") from exc
    return app


@asynccontextmanager
async def replicas(name: str, env: dict[str, str], count: int = 2) -> AsyncIterator[list[AppProcess]]:
    """`count` processes of one app with the same settings (the same database and NATS)."""
    running = [spawn(name, env) for _ in range(count)]
    try:
        await asyncio.gather(*(started(app) for app in running))
        yield running
    finally:
        for app in running:
            app.stop()
        for app in running:
            with contextlib.suppress(OSError):
                app.log_path.unlink()


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample of a Prometheus text exposition (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.compile(rf"^{re.escape(name)}(?:\{{([^}}]*)\}})? ([0-9.eE+-]+)$", re.MULTILINE)
    total = 0.0
    for found_labels, value in pattern.findall(text):
        if all(f'{k}="{v}"' in found_labels for k, v in labels.items()) or not wanted:
            total += float(value)
    return total
