"""The tests' side of devstack/processes.py: service processes that trust the tests' principals
(tests.kit's key pair)."""

from __future__ import annotations

from devstack import processes
from devstack.processes import QUICK, AppProcess, metric, replicas, spawn, started
from tests.kit import PUBLIC_KEY

__all__ = ["QUICK", "AppProcess", "metric", "replicas", "service_env", "spawn", "started"]


def service_env(name: str, database_url: str, nats_url: str, **extra: str) -> dict[str, str]:
    """The variables one service process reads, trusting principals signed by tests.kit."""
    return processes.service_env(name, database_url, nats_url, PUBLIC_KEY, **extra)
