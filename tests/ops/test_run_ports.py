"""`make run` refuses to start beside a program that holds one of its ports, naming the port and the
variable that moves it (a service that cannot bind would otherwise look healthy through the other
program's answers)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from devstack.embedded import free_port


def test_make_run_refuses_ports_in_use_and_starts_nothing() -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    taken = holder.getsockname()[1]
    folder = Path(tempfile.mkdtemp(prefix="chungtay-ports-"))
    try:
        env = {**os.environ, "GATEWAY_PORT": str(taken), "CHUNGTAY_SERVICE_PORT_BASE": str(free_port()),
               "CHUNGTAY_DATA_DIR": str(folder / "data")}
        env.pop("DATABASE_URL", None)
        env.pop("NATS_URL", None)
        run = subprocess.run([sys.executable, "-m", "devstack.run"], env=env, capture_output=True, text=True,
                             timeout=60)
        started_postgres = (folder / "data" / "postgres").exists()
    finally:
        holder.close()
        shutil.rmtree(folder, ignore_errors=True)
    assert run.returncode == 1, run.stdout + run.stderr
    assert f"gateway {taken} (GATEWAY_PORT)" in run.stdout and "already in use" in run.stdout
    assert not started_postgres  # refused before any database was started
