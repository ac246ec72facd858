"""Who listens on a TCP port. `make run` refuses ports another program holds before it starts
anything, and then checks that what listens on each of its ports is the process it started: a
server that could not bind would otherwise look up through the other program's answers (another
stack's JetStream, say)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import psutil


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Something accepts connections on the port."""
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def listeners(port: int) -> set[int | None]:
    """The pids listening on the TCP port, on any address; None stands for a process this user may
    not inspect (another user's)."""
    return {c.pid for c in psutil.net_connections(kind="tcp")
            if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port}


def listens(pid: int, port: int) -> bool:
    """The process itself listens on the TCP port."""
    try:
        return any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
                   for c in psutil.Process(pid).net_connections(kind="tcp"))
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def holder(port: int) -> str:
    """Who holds the port, in words, for an error message."""
    names = []
    for pid in sorted(listeners(port), key=lambda p: p or 0):
        if pid is None:
            names.append("a process of another user")
            continue
        try:
            names.append(f"pid {pid} ({psutil.Process(pid).name()})")
        except psutil.NoSuchProcess:
            names.append(f"pid {pid}")
    return ", ".join(names) or "another program"


class NotOwnListener(RuntimeError):
    """The process did not come to listen on its port: it exited, or another program holds the port."""


def wait_listening(pid: int, port: int, exited: Callable[[], int | None], what: str, timeout: float = 60) -> None:
    """Until process `pid` itself listens on `port`. `exited()` gives its exit code once it ended."""
    deadline = time.monotonic() + timeout
    while not listens(pid, port):
        code = exited()
        if code is not None:
            taken = f"; port {port} is held by {holder(port)}" if port_open(port) else ""
            raise NotOwnListener(f"{what} exited with code {code} before listening on port {port}{taken}")
        if time.monotonic() > deadline:
            taken = f" (held by {holder(port)})" if port_open(port) else ""
            raise NotOwnListener(f"{what} did not listen on port {port}{taken} within {timeout:.0f}s")
        time.sleep(0.05)
