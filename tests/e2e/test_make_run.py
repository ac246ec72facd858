"""`make run`, stop, `make run` again: the whole platform (`python -m devstack.run`) on a temporary
data folder and free ports. It must stop on SIGTERM leaving no process behind (postgres, nats-server,
uvicorn); a second start must find the data written during the first (a unit flag set through the
gateway with a demo login, in PostgreSQL; the events the relay published, in JetStream; the accounts
and keys, so the first run's token still works); and after a kill -9 of the supervisor the next start
must still work. The first start also loads the support service's catalogue and reference data from
its data file (programmes with their dated standards, funding sources, bodies), read back through the
gateway with the demo login; the second start loads none of it again."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import nats
import psutil
import pytest

from devstack.embedded import port_open

ROOT = Path(__file__).resolve().parents[2]
READY = "[chungtay] ready: gateway"
START_TIMEOUT = 300.0  # first start migrates five databases and loads every administrative unit
UNIT = "07207"  # a commune of province 24 before the 2025 reform (v2008.24.213.07207)
SUPPORT_DATA = ROOT / "services" / "support" / "data" / "catalogue.json"


class Platform:
    """One `python -m devstack.run` process and everything it starts."""

    def __init__(self, data_dir: Path, ports: dict[str, int]) -> None:
        self.data_dir, self.ports = data_dir, ports
        env = {**os.environ, "CHUNGTAY_DATA_DIR": str(data_dir), "GATEWAY_PORT": str(ports["gateway"]),
               "CHUNGTAY_SERVICE_PORT_BASE": str(ports["base"]), "CHUNGTAY_PG_PORT": str(ports["pg"]),
               "CHUNGTAY_NATS_PORT": str(ports["nats"]), "PYTHONUNBUFFERED": "1",
               # the demo logins, and a token that outlives a slow restart
               "CHUNGTAY_DEMO_ACCOUNTS": "1", "CHUNGTAY_DEMO_PASSWORD": "demo",
               "GATEWAY_ACCESS_TOKEN_TTL_SECONDS": "3600"}
        for name in ("DATABASE_URL", "NATS_URL"):  # the embedded ones, whatever the test session uses
            env.pop(name, None)
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.process = subprocess.Popen([sys.executable, "-m", "devstack.run"], cwd=ROOT, env=env,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, errors="replace")
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:  # keep reading so the children never block on a full pipe
            self.lines.append(line.rstrip())
            if line.startswith(READY):
                self.ready.set()

    def output(self) -> str:
        return "\n".join(line for line in self.lines[-60:] if not line.startswith("{"))

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while not self.ready.wait(0.5):
            assert self.process.poll() is None, f"devstack.run exited with {self.process.returncode}:\n{self.output()}"
            assert time.monotonic() < deadline, f"no ready line in {START_TIMEOUT}s:\n{self.output()}"

    def processes(self) -> dict[str, list[psutil.Process]]:
        """What the platform runs: its children, and the postmaster (pg_ctl detaches it) with its backends."""
        children = psutil.Process(self.process.pid).children(recursive=True)
        pid_file = self.data_dir / "postgres" / "pgdata" / "postmaster.pid"
        postmaster = psutil.Process(int(pid_file.read_text().split()[0]))
        found: dict[str, list[psutil.Process]] = {"uvicorn": [], "nats-server": [],
                                                  "postgres": [postmaster, *postmaster.children()]}
        for child in children:
            cmdline = " ".join(child.cmdline())
            if "uvicorn" in cmdline:
                found["uvicorn"].append(child)
            elif "nats-server" in cmdline:
                found["nats-server"].append(child)
        return found

    def stop(self, timeout: float = 90) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill_all(self) -> None:
        """After a failed assertion only: leave nothing of ours running."""
        if self.process.poll() is not None:
            return
        procs = [p for group in self.processes().values() for p in group]
        self.process.kill()
        for p in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()


def gone(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE  # exited, waiting to be reaped by init
    except psutil.NoSuchProcess:
        return True


def gateway_client(platform: Platform, token: str | None = None) -> httpx.Client:
    """A client of the gateway, signed in as the demo province officer unless given a token."""
    base_url = f"http://127.0.0.1:{platform.ports['gateway']}"
    if token is None:
        answer = httpx.post(f"{base_url}/auth/token", timeout=30,
                            data={"grant_type": "password", "username": "province.24", "password": "demo"})
        assert answer.status_code == 200, answer.text
        token = answer.json()["access_token"]
    return httpx.Client(base_url=base_url, timeout=30, headers={"Authorization": f"Bearer {token}"})


async def registry_stream_messages(nats_port: int) -> int:
    nc = await nats.connect(f"nats://127.0.0.1:{nats_port}")
    try:
        info = await nc.jetstream().stream_info("REGISTRY")
        return int(info.state.messages)
    finally:
        await nc.close()


def key_files(data_dir: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in (data_dir / "keys").iterdir()}


def assert_support_reference_data(gateway: httpx.Client) -> None:
    """What `make run` seeded into the support service, as an officer reads it through the gateway: every
    programme, funding source and body of the data file, the programmes with their dated standards."""
    data = json.loads(SUPPORT_DATA.read_text(encoding="utf-8"))
    held = {}
    for catalogue, key in (("programme", "programmes"), ("funding_source", "funding_sources"), ("body", "bodies")):
        answer = gateway.get("/support/catalogue", params={"catalogue": catalogue})
        assert answer.status_code == 200, answer.text
        held[catalogue] = {e["entry"]: e for e in answer.json()}
        assert {e["code"] for e in data[key]} <= set(held[catalogue]), (catalogue, sorted(held[catalogue]))
    housing = held["programme"]["housing_new"]
    assert housing["name"] == "Hỗ trợ xây mới nhà ở" and housing["fields"]["category"] == "housing"
    assert [(s["value"], s["valid_from"], s["valid_to"]) for s in housing["fields"]["standards"]] == [
        (40_000_000, "2021-01-01", "2024-12-31"), (60_000_000, "2025-01-01", None)]
    assert [s["value"] for s in held["programme"]["electricity"]["fields"]["standards"]] == [30]
    assert held["funding_source"]["state_central"]["fields"] == {"kind": "state_budget", "level": "central"}
    assert held["body"]["hlhpn"]["name"] == "Hội Liên hiệp Phụ nữ"


def assert_stopped_cleanly(platform: Platform, before: dict[str, list[psutil.Process]]) -> None:
    code = platform.stop()
    assert code == 0, platform.output()
    assert "[chungtay] stopped" in platform.lines
    left = {name: [p.pid for p in group if not gone(p)] for name, group in before.items()}
    assert left == {name: [] for name in before}, f"orphans after SIGTERM: {left}"
    listened = [platform.ports["gateway"], platform.ports["pg"], platform.ports["nats"],
                *(platform.ports["base"] + offset for offset in range(1, 5))]
    open_ports = [p for p in listened if port_open(p)]
    assert open_ports == [], f"ports still open: {open_ports}"


@pytest.mark.slow
def test_make_run_stop_and_run_again_keeps_the_data() -> None:
    # A folder of our own, not pytest's tmp_path: a concurrent pytest session prunes old numbered
    # tmp_path folders, which once removed the data folder under a running PostgreSQL.
    folder = Path(tempfile.mkdtemp(prefix="chungtay-make-run-"))
    try:
        start_stop_and_restart(folder / "data")
    finally:
        stop_leftovers(folder)
        shutil.rmtree(folder, ignore_errors=True)


def stop_leftovers(folder: Path) -> None:
    """After a failure: whatever still runs on our folder (postmaster, nats-server) is ours to end."""
    ours = [p for p in psutil.process_iter(["cmdline"]) if str(folder) in " ".join(p.info["cmdline"] or [])]
    for process in ours:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.terminate()
    _, alive = psutil.wait_procs(ours, timeout=15)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()


def pick_ports() -> dict[str, int]:
    """Free ports, all different: the gateway, PostgreSQL, NATS, and base+1..base+4 for the services.

    Taken below the kernel's ephemeral range (free_port() hands out ports of that range to every other
    test on the machine, and these stay unbound for minutes between the runs), and kept for the three
    runs: the third must find the second's leftover PostgreSQL and NATS on their own ports."""
    low, _ = (int(n) for n in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    while True:
        base = random.randrange(10_000, low - 8)
        ports = {"gateway": random.randrange(10_000, low), "base": base, "pg": random.randrange(10_000, low),
                 "nats": random.randrange(10_000, low)}
        used = [ports["gateway"], ports["pg"], ports["nats"], *(base + i for i in range(1, 5))]
        if len(set(used)) == len(used) and not any(port_open(port) for port in used):
            return ports


def start_stop_and_restart(data_dir: Path) -> None:
    ports = pick_ports()

    first = Platform(data_dir, ports)
    try:
        first.wait_ready()
        running = first.processes()
        assert len(running["uvicorn"]) == 5 and len(running["nats-server"]) == 1, running
        with gateway_client(first) as gateway:
            assert gateway.get("/ready").status_code == 200
            page = gateway.get("/dashboard/")  # the officers' dashboard, served by the gateway itself
            assert page.status_code == 200 and "Chung Tay" in page.text
            unit = gateway.get(f"/registry/units/{UNIT}", params={"hierarchy": "v2008"})
            assert unit.status_code == 200, unit.text
            assert unit.json()["mountainous"] is False
            flagged = gateway.patch(f"/registry/units/{UNIT}/flags", params={"hierarchy": "v2008"},
                                    json={"mountainous": True}, headers={"If-Match": unit.headers["etag"]})
            assert flagged.status_code == 200, flagged.text
            version = flagged.json()["version"]
            assert_support_reference_data(gateway)
            assert any("support catalogue:" in line and " 0 entries" not in line for line in first.lines)
            token = str(gateway.headers["Authorization"]).removeprefix("Bearer ")
        published = asyncio.run(registry_stream_messages(ports["nats"]))
        assert published > 0
        keys = key_files(data_dir)
        assert {"principal_ed25519.pem", "personal_data.key", "personal_data_hash.key",
                "signing_key_encryption.key"} <= set(keys)
    except BaseException:
        first.kill_all()
        raise
    assert_stopped_cleanly(first, running)

    second = Platform(data_dir, ports)
    try:
        second.wait_ready()
        running = second.processes()
        # The token of the first run still opens the door: accounts and signing keys were kept.
        with gateway_client(second, token) as gateway:
            unit = gateway.get(f"/registry/units/{UNIT}", params={"hierarchy": "v2008"})
        assert unit.status_code == 200, unit.text
        assert unit.json()["mountainous"] is True
        assert unit.json()["version"] == version
        assert asyncio.run(registry_stream_messages(ports["nats"])) >= published
        # new keys would make the stored citizen IDs (and the gateway's signing keys) unreadable
        assert key_files(data_dir) == keys
        # The second start found the data: no second load of the reference data.
        assert any("created=0" in line for line in second.lines if "registry units:" in line), second.output()
        assert "[chungtay] support catalogue: 0 entries added or changed" in second.lines, second.output()
    except BaseException:
        second.kill_all()
        raise

    # kill -9 of the supervisor: its services follow it; the next run stops the detached PostgreSQL
    # and nats-server it left, starts on the same ports and data, and stops cleanly.
    second.process.kill()
    second.process.wait()
    for service in running["uvicorn"]:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.TimeoutExpired):
            service.wait(30)
    assert [p.pid for p in running["uvicorn"] if not gone(p)] == [], "services outlived a killed make run"
    leftovers = running["postgres"][:1] + running["nats-server"]

    third = Platform(data_dir, ports)
    try:
        third.wait_ready()
        running = third.processes()
        with gateway_client(third) as gateway:
            assert gateway.get(f"/registry/units/{UNIT}", params={"hierarchy": "v2008"}).json()["mountainous"] is True
    except BaseException:
        third.kill_all()
        raise
    assert_stopped_cleanly(third, running)
    assert [p.pid for p in leftovers if not gone(p)] == []
