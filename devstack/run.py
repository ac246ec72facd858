"""`make run`: the whole platform on one machine.

Starts embedded PostgreSQL and NATS unless DATABASE_URL / NATS_URL are set (data under
CHUNGTAY_DATA_DIR, default ./.data, so a restart keeps it), creates and migrates one database per
service, runs each service's bootstrap (reference data, demo accounts), starts the four services and
the gateway, prints the URLs, and on Ctrl-C or SIGTERM stops everything it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil

from devstack import apps
from devstack.embedded import EmbeddedNats, EmbeddedPostgres
from devstack.migrate import bootstrap, prepare_databases, wait_for_unit_directory
from devstack.ports import holder, listeners, port_open, wait_listening
from shared.principal import generate_keypair
from shared.services import SERVICES


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def log(message: str) -> None:
    print(f"[chungtay] {message}", flush=True)


def principal_keys(data_dir: Path) -> tuple[str, str]:
    """The key pair the gateway signs principals with; made once and kept with the data."""
    keys = data_dir / "keys"
    private, public = keys / "principal_ed25519.pem", keys / "principal_ed25519.pub.pem"
    if not private.exists():
        keys.mkdir(parents=True, exist_ok=True)
        private_pem, public_pem = generate_keypair()
        private.write_text(private_pem)
        private.chmod(0o600)
        public.write_text(public_pem)
    return private.read_text(), public.read_text()


def kept_keys(data_dir: Path, files: dict[str, str], generate: Callable[[str], str] | None = None) -> dict[str, str]:
    """Keys (setting name → file under keys/) made once and kept with the data, unless the environment
    already gives them: losing one makes what it encrypted unreadable. `generate(name)` makes a new one
    (default: a symmetric key, 32 random bytes in base64)."""
    from shared.crypto import generate_key

    env = {}
    for name, file in files.items():
        if os.environ.get(name):
            continue
        path = data_dir / "keys" / file
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(generate(name) if generate is not None else generate_key())
            path.chmod(0o600)
        env[name] = path.read_text().strip()
    return env


# The registry's citizen-ID encryption and hash keys.
PERSONAL_DATA_KEYS = {"REGISTRY_PERSONAL_DATA_KEY": "personal_data.key",
                      "REGISTRY_PERSONAL_DATA_HASH_KEY": "personal_data_hash.key"}
# The registry's DCI keys (private JWKs): it signs its DCI answers and callbacks with the first, and
# clients encrypt their messages to the second (docs/dci.md).
DCI_KEYS = {"REGISTRY_DCI_SIGNING_KEY": "dci_signing.jwk", "REGISTRY_DCI_ENCRYPTION_KEY": "dci_encryption.jwk"}


def dci_key(name: str) -> str:
    """A new DCI key for the setting `name` (DCI_KEYS), its kid naming the key and the day it was made."""
    from services.registry.dci import encryption, signatures

    made = time.strftime("%Y%m%d", time.gmtime())
    if name == "REGISTRY_DCI_SIGNING_KEY":
        return signatures.generate_signing_key(f"chungtay-registry-sig-{made}")
    return encryption.generate_key(f"chungtay-registry-enc-{made}")


# The key the gateway encrypts its token signing keys with: without it the gateway refuses to start.
SIGNING_KEY_ENCRYPTION_KEY = {"GATEWAY_SIGNING_KEY_ENCRYPTION_KEY": "signing_key_encryption.key"}


def die_with_parent() -> None:
    """In the child, before exec: SIGTERM it if this supervisor dies without stopping it (kill -9)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def wait_healthy(name: str, port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Until the process itself listens on its port (so no other program answers for it), then until
    its /health answers 200."""
    deadline = time.monotonic() + timeout
    wait_listening(process.pid, port, process.poll, name, timeout)  # NotOwnListener, a RuntimeError
    url = f"http://127.0.0.1:{port}/health"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with code {process.returncode} while starting")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not become healthy in {timeout}s")


def wait_for_routes(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Until the gateway's /ready counts routes for every service (it answers a service whose routes
    it does not know as down)."""
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{port}/ready"
    routes: object = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the gateway exited with code {process.returncode} while starting")
        try:
            routes = httpx.get(url, timeout=2).json().get("checks", {}).get("routes")
        except (httpx.HTTPError, ValueError):
            routes = None
        if isinstance(routes, dict) and routes and all(isinstance(n, int) for n in routes.values()):
            return
        time.sleep(0.5)
    raise RuntimeError(f"the gateway does not know every service's routes after {timeout}s: {routes}")


class Platform:
    def __init__(self) -> None:
        self.data_dir = Path(os.environ.get("CHUNGTAY_DATA_DIR", ".data")).resolve()
        self.host = os.environ.get("CHUNGTAY_HOST", "127.0.0.1")
        self.gateway_port = env_int("GATEWAY_PORT", apps.DEFAULT_GATEWAY_PORT)
        self.port_base = env_int("CHUNGTAY_SERVICE_PORT_BASE", apps.DEFAULT_SERVICE_PORT_BASE)
        self.pg_port = env_int("CHUNGTAY_PG_PORT", 55432)
        self.nats_port = env_int("CHUNGTAY_NATS_PORT", 14222)
        self.lock_file: int | None = None
        self.pg: EmbeddedPostgres | None = None
        self.nats: EmbeddedNats | None = None
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.stopping = False

    def start_infrastructure(self) -> tuple[str, str]:
        database_url = os.environ.get("DATABASE_URL")
        nats_url = os.environ.get("NATS_URL")
        if not database_url:
            self.pg = EmbeddedPostgres(self.data_dir / "postgres", self.pg_port)
            self.pg.start()
            database_url = self.pg.url
            log(f"embedded PostgreSQL on {database_url} (data in {self.pg.data_dir})")
        if not nats_url:
            self.nats = EmbeddedNats(self.data_dir / "nats", self.nats_port)
            self.nats.start()
            nats_url = self.nats.url
            log(f"embedded NATS with JetStream on {nats_url} (data in {self.nats.data_dir})")
        return database_url, nats_url

    def service_port(self, name: str) -> int:
        return apps.service_port(name, self.port_base)

    def lock_data_dir(self) -> None:
        """One `make run` per data folder: a second one would stop the first one's servers as stale.
        The lock goes with the process, so a killed run leaves none behind."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / "make-run.lock"
        self.lock_file = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(self.lock_file, 32, 0).decode(errors="replace").strip() or "?"
            raise RuntimeError(f"another `make run` (pid {owner}) uses the data folder {self.data_dir}; stop it "
                               "or choose another folder with CHUNGTAY_DATA_DIR") from None
        os.ftruncate(self.lock_file, 0)
        os.pwrite(self.lock_file, str(os.getpid()).encode(), 0)

    def ports(self) -> dict[int, list[str]]:
        """Every port this run will listen on, with what listens there and the variable that moves it."""
        wanted: dict[int, list[str]] = {}
        wanted.setdefault(self.gateway_port, []).append("the gateway (GATEWAY_PORT)")
        for name in SERVICES:
            wanted.setdefault(self.service_port(name), []).append(f"{name} (CHUNGTAY_SERVICE_PORT_BASE)")
        if not os.environ.get("DATABASE_URL"):
            wanted.setdefault(self.pg_port, []).append("the embedded PostgreSQL (CHUNGTAY_PG_PORT)")
        if not os.environ.get("NATS_URL"):
            wanted.setdefault(self.nats_port, []).append("the embedded NATS (CHUNGTAY_NATS_PORT)")
        return wanted

    def stale_servers(self) -> set[int]:
        """The PostgreSQL and NATS a killed run of this data folder left running: starting stops them,
        so the ports they hold count as this run's."""
        found = set()
        for pid_file, name in ((self.data_dir / "postgres" / "pgdata" / "postmaster.pid", "postgres"),
                               (self.data_dir / "nats" / "nats-server.pid", "nats-server")):
            with contextlib.suppress(OSError, ValueError, IndexError, psutil.Error):
                pid = int(pid_file.read_text().split()[0])
                if psutil.Process(pid).name() == name:
                    found.add(pid)
        return found

    def check_ports_free(self) -> None:
        """Before anything starts: refuse ports another program holds (another `make run`, another
        PostgreSQL or NATS), naming each port and the variable that moves it."""
        wanted = self.ports()
        shared = [f"{port} ({' and '.join(labels)})" for port, labels in wanted.items() if len(labels) > 1]
        if shared:
            raise RuntimeError(f"two parts would listen on one port: {'; '.join(shared)}; set the variables "
                               "named to different ports")
        stale = self.stale_servers()
        taken = []
        for port, labels in wanted.items():
            held_by = listeners(port)
            ours = bool(held_by) and held_by <= stale  # a listener we cannot see is not ours
            if (held_by or port_open(port)) and not ours:
                taken.append(f"{port} for {labels[0]}, held by {holder(port)}")
        if taken:
            raise RuntimeError(f"port(s) already in use: {'; '.join(taken)}. Stop what holds them, or move "
                               "this run with the variables named")

    def start_processes(self, urls: dict[str, str], nats_url: str) -> None:
        private_pem, public_pem = principal_keys(self.data_dir)
        base_env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for name in SERVICES:
            prefix = name.upper()
            env = base_env | {f"{prefix}_DATABASE_URL": urls[name], f"{prefix}_NATS_URL": nats_url,
                              f"{prefix}_PRINCIPAL_PUBLIC_KEY": public_pem}
            if name == "registry":
                env |= kept_keys(self.data_dir, PERSONAL_DATA_KEYS) | kept_keys(self.data_dir, DCI_KEYS, dci_key)
            self.spawn(name, self.service_port(name), env)
        # The services first: the gateway reads their routes as it starts, and a service it found down
        # stays unknown until its next refresh (a restart on kept data is otherwise "ready" too soon).
        for name, process in self.processes.items():
            wait_healthy(name, self.service_port(name), process)
        gateway_env = base_env | {
            "GATEWAY_DATABASE_URL": urls["gateway"], "GATEWAY_NATS_URL": nats_url,
            "GATEWAY_PRINCIPAL_PRIVATE_KEY": private_pem, "GATEWAY_PRINCIPAL_PUBLIC_KEY": public_pem,
            "GATEWAY_KEYS_DIR": str(self.data_dir / "keys"),
            **kept_keys(self.data_dir, SIGNING_KEY_ENCRYPTION_KEY),
            **{f"GATEWAY_UPSTREAM_{n.upper()}": f"http://127.0.0.1:{self.service_port(n)}" for n in SERVICES},
        }
        self.spawn("gateway", self.gateway_port, gateway_env, host=self.host)
        wait_healthy("gateway", self.gateway_port, self.processes["gateway"])
        wait_for_routes(self.gateway_port, self.processes["gateway"])

    def spawn(self, name: str, port: int, env: dict[str, str], host: str = "127.0.0.1") -> None:
        args = [sys.executable, "-m", "uvicorn", "--factory", apps.factory_of(name), "--host", host,
                "--port", str(port), "--no-access-log", "--loop", "uvloop", "--http", "httptools",
                "--timeout-graceful-shutdown", "10"]
        self.processes[name] = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL,
                                                preexec_fn=die_with_parent if sys.platform == "linux" else None)
        log(f"{name} starting on {host}:{port} (pid {self.processes[name].pid})")

    def stop(self) -> None:
        if self.stopping:
            return
        self.stopping = True
        log("stopping…")
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.nats:
            self.nats.stop()
        if self.pg:
            self.pg.stop()
        log("stopped")

    def watch(self) -> int:
        while not self.stopping:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    log(f"{name} exited with code {process.returncode}; stopping the platform")
                    return 1
            time.sleep(0.5)
        return 0


def main() -> int:
    platform = Platform()

    def on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    code = 0
    try:
        platform.lock_data_dir()
        platform.check_ports_free()
        database_url, nats_url = platform.start_infrastructure()
        urls = asyncio.run(prepare_databases(database_url))
        asyncio.run(bootstrap(urls))
        platform.start_processes(urls, nats_url)
        log(f"gateway unit directory: {asyncio.run(wait_for_unit_directory(urls))} units")
        demo_password = os.environ.get("CHUNGTAY_DEMO_PASSWORD", "demo")
        log(f"ready: gateway http://{platform.host}:{platform.gateway_port}  "
            f"(docs http://{platform.host}:{platform.gateway_port}/docs, "
            f"dashboard http://{platform.host}:{platform.gateway_port}/dashboard/)")
        log(f"demo logins (password '{demo_password}'): admin, province.24, district.213, commune.07207, "
            "commune.07222, emulation.24; system client system.demo")
        log("press Ctrl-C to stop")
        code = platform.watch()
    except KeyboardInterrupt:
        code = 0
    except Exception as exc:
        log(f"failed: {exc}")
        code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        platform.stop()
    return code


if __name__ == "__main__":
    sys.exit(main())
