"""Helpers of the ops tests: the repository root and `docker-compose config` run in a clean environment."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

from devstack.apps import APPS, DEFAULT_GATEWAY_PORT, GATEWAY, service_port
from services.registry.dci.settings import DciSettings
from shared.services import SERVICES
from tests.kit import system_tool

ROOT = Path(__file__).resolve().parents[2]
# The keys the registry's DCI interface needs in production (its settings named *_key): every deployment
# gives each to the registry as a secret.
DCI_KEYS = tuple(sorted(f"REGISTRY_DCI_{name.upper()}" for name in DciSettings.model_fields if name.endswith("_key")))
# Compose and Kubernetes give each app the port `make run` gives it by default.
PORTS = {name: service_port(name) for name in SERVICES} | {GATEWAY: DEFAULT_GATEWAY_PORT}
__all__ = ["APPS", "DCI_KEYS", "PORTS", "ROOT", "SERVICES", "compose_config", "docker_compose", "env_name",
           "resolved_compose"]


def docker_compose() -> str:
    return system_tool("docker-compose")


def compose_config(env_file: Path) -> subprocess.CompletedProcess[str]:
    """`docker-compose config` with only PATH and HOME from our environment, so no stray variable counts."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [docker_compose(), "--env-file", str(env_file), "--project-directory", str(ROOT),
         "-f", str(ROOT / "docker-compose.yml"), "config"],
        capture_output=True, text=True, env=env, timeout=120,
    )


def resolved_compose() -> dict[str, Any]:
    result = compose_config(ROOT / ".env.example")
    assert result.returncode == 0, f"docker-compose config failed:\n{result.stderr}"
    return yaml.safe_load(result.stdout)


def env_name(name: str) -> str:
    """Compose passes secrets as NAME_FILE (the image's entry point exports NAME); k8s passes NAME."""
    return name.removesuffix("_FILE")
