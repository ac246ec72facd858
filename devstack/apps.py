"""The platform's apps as the tooling sees them: each service of `shared.services.SERVICES` and the
gateway, with the package holding its code and migrations, its app factory and its `make run` port.

This is the one place that maps a name to a package: `shared/` stays below the services and never
names one (tests/platform/test_import_rules.py), so the tooling above (make run, the migrate step,
the tests, the benchmarks) passes the package's migrations folder down to `shared.migrations`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from shared.services import SERVICES

GATEWAY = "gateway"
APPS: tuple[str, ...] = (*SERVICES, GATEWAY)  # migration and start order: the services, then the gateway

DEFAULT_GATEWAY_PORT = 8000
DEFAULT_SERVICE_PORT_BASE = 8100  # services listen on base+1, base+2, … in the order of SERVICES


def package_of(name: str) -> str:
    if name == GATEWAY:
        return "gateway"
    if name in SERVICES:
        return f"services.{name}"
    raise ValueError(f"unknown app {name!r}: one of {', '.join(APPS)}")


def factory_of(name: str) -> str:
    """What `uvicorn --factory` runs for this app."""
    return f"{package_of(name)}.main:create_app"


def migrations_dir(name: str) -> Path:
    """The app's Alembic folder (`<package>/migrations`), found without importing the package."""
    spec = importlib.util.find_spec(package_of(name))
    if spec is None or spec.origin is None:
        raise ValueError(f"the package of {name!r} ({package_of(name)}) cannot be found")
    return Path(spec.origin).parent / "migrations"


def service_port(name: str, base: int = DEFAULT_SERVICE_PORT_BASE) -> int:
    return base + 1 + SERVICES.index(name)
