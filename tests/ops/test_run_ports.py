"""`make run` checks every port it will use before it starts anything, naming the port, who holds it
and the variable that moves it; and it takes a port as up only when the process it started listens
there itself (a server that could not bind would otherwise pass for up through another program's
answers: another stack's JetStream, another service's /health)."""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from devstack.embedded import EmbeddedNats, EmbeddedPostgres, free_port
from devstack.ports import port_open
from devstack.run import wait_healthy

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port this test process listens on, as another program would."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    try:
        yield holder.getsockname()[1]
    finally:
        holder.close()


@pytest.fixture
def folder() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="chungtay-ports-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def make_run(folder: Path, **ports: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CHUNGTAY_DATA_DIR": str(folder / "data"), "GATEWAY_PORT": str(free_port()),
           "CHUNGTAY_SERVICE_PORT_BASE": str(free_port()), "CHUNGTAY_PG_PORT": str(free_port()),
           "CHUNGTAY_NATS_PORT": str(free_port()), **{name: str(port) for name, port in ports.items()}}
    env.pop("DATABASE_URL", None)
    env.pop("NATS_URL", None)
    return subprocess.run([sys.executable, "-m", "devstack.run"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def started_nothing(folder: Path) -> bool:
    return not (folder / "data" / "postgres").exists() and not (folder / "data" / "nats").exists()


@pytest.mark.parametrize(("variable", "offset", "part"), [
    ("GATEWAY_PORT", 0, "the gateway"),
    ("CHUNGTAY_SERVICE_PORT_BASE", -2, "support"),  # support listens on base + 2
    ("CHUNGTAY_PG_PORT", 0, "the embedded PostgreSQL"),
    ("CHUNGTAY_NATS_PORT", 0, "the embedded NATS"),
])
def test_make_run_refuses_any_of_its_ports_in_use_and_starts_nothing(
        variable: str, offset: int, part: str, held_port: int, folder: Path) -> None:
    run = make_run(folder, **{variable: held_port + offset})
    assert run.returncode == 1, run.stdout + run.stderr
    assert f"{held_port} for {part} ({variable}), held by pid {os.getpid()}" in run.stdout, run.stdout
    assert "already in use" in run.stdout
    assert started_nothing(folder)


def test_make_run_refuses_two_parts_on_one_port(folder: Path) -> None:
    port = free_port()
    run = make_run(folder, GATEWAY_PORT=port, CHUNGTAY_NATS_PORT=port)
    assert run.returncode == 1, run.stdout + run.stderr
    assert f"{port} (the gateway (GATEWAY_PORT) and the embedded NATS (CHUNGTAY_NATS_PORT))" in run.stdout
    assert started_nothing(folder)


def test_a_second_make_run_on_the_same_data_folder_is_refused(folder: Path) -> None:
    """It would otherwise stop the first run's PostgreSQL and NATS as if a killed run had left them."""
    (folder / "data").mkdir()
    with (folder / "data" / "make-run.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        lock.write("4242")
        lock.flush()
        run = make_run(folder)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "another `make run` (pid 4242) uses the data folder" in run.stdout and "CHUNGTAY_DATA_DIR" in run.stdout
    assert started_nothing(folder)


def test_embedded_nats_does_not_take_another_listener_for_itself(held_port: int, folder: Path) -> None:
    server = EmbeddedNats(folder / "nats", held_port)
    with pytest.raises(RuntimeError, match=f"port {held_port} is held by pid {os.getpid()}"):
        server.start()
    assert server.process is not None and server.process.poll() is not None  # it is not left running
    assert port_open(held_port)  # and the other program is untouched


def test_embedded_postgres_refuses_a_port_in_use_before_initialising(held_port: int, folder: Path) -> None:
    with pytest.raises(RuntimeError, match=f"port {held_port} is held by pid {os.getpid()}"):
        EmbeddedPostgres(folder / "postgres", held_port).start()
    assert not (folder / "postgres" / "pgdata" / "PG_VERSION").exists()


class _Healthy(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def foreign_health() -> Iterator[int]:
    """Another program answering 200 on /health."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Healthy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_a_health_answer_from_another_program_does_not_count(foreign_health: int) -> None:
    """The started process never listens (as a service that could not bind): the other program's 200
    on the same port must not make it healthy."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(2)"])
    try:
        with pytest.raises(RuntimeError, match=f"before listening on port {foreign_health}; port {foreign_health} "
                                               f"is held by pid {os.getpid()}"):
            wait_healthy("registry", foreign_health, process, timeout=30)
    finally:
        process.kill()
        process.wait()


def test_a_process_listening_on_its_own_port_is_healthy() -> None:
    port = free_port()
    script = ("import sys; from http.server import HTTPServer; from tests.ops.test_run_ports import _Healthy; "
              f"HTTPServer(('127.0.0.1', {port}), _Healthy).serve_forever()")
    process = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    try:
        wait_healthy("registry", port, process, timeout=30)
        assert process.poll() is None
    finally:
        process.kill()
        process.wait()
