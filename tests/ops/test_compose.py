"""docker-compose.yml as Debian's docker-compose resolves it: services, variables, health checks, order."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.ops.compose import APPS, DCI_KEYS, PORTS, ROOT, SERVICES, compose_config, resolved_compose


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return resolved_compose()


def start_order(services: dict[str, Any]) -> list[str]:
    """An order compose may start the services in (each after everything it depends on)."""
    order: list[str] = []
    while len(order) < len(services):
        ready = sorted(n for n, s in services.items()
                       if n not in order and all(d in order for d in s.get("depends_on", {})))
        assert ready, f"dependency cycle among {set(services) - set(order)}"
        order.extend(ready)
    return order


def test_the_stack_has_postgres_nats_migrate_four_services_and_the_gateway(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"postgres", "nats", "migrate", *APPS}


def test_every_app_runs_the_one_project_image_with_its_own_command(compose: dict[str, Any]) -> None:
    images = {compose["services"][name]["image"] for name in (*APPS, "migrate")}
    assert images == {"chungtay:latest"}
    for name in APPS:
        service = compose["services"][name]
        assert Path(service["build"]["context"]) == ROOT
        app = "gateway.main:create_app" if name == "gateway" else f"services.{name}.main:create_app"
        command = service["command"]
        assert command[:3] == ["uvicorn", "--factory", app]
        assert command[command.index("--port") + 1] == str(PORTS[name])
    assert compose["services"]["migrate"]["command"] == ["python", "-m", "devstack.migrate"]


def test_each_service_gets_its_own_database_nats_and_the_principal_public_key(compose: dict[str, Any]) -> None:
    for name in SERVICES:
        env = compose["services"][name]["environment"]
        prefix = name.upper()
        assert env[f"{prefix}_DATABASE_URL"].endswith(f"@postgres:5432/chungtay_{name}")
        assert f"chungtay_{name}:change-me-{name}@" in env[f"{prefix}_DATABASE_URL"]
        assert env[f"{prefix}_NATS_URL"] == "nats://nats:4222"
        assert env[f"{prefix}_PRINCIPAL_PUBLIC_KEY_FILE"] == "/run/secrets/principal_public_key"
        own_keys = ["registry_personal_data_key", "registry_personal_data_hash_key", "registry_dci_signing_key",
                    "registry_dci_encryption_key"] if name == "registry" else []
        assert [s["source"] for s in compose["services"][name]["secrets"]] == ["principal_public_key", *own_keys]
        for key in own_keys:
            assert env[f"{key.upper()}_FILE"] == f"/run/secrets/{key}"
        # Nobody else's database URL leaks into a service.
        assert not [k for k in env if k.endswith("_DATABASE_URL") and not k.startswith(prefix)]


def test_the_gateway_signs_with_the_private_key_and_reaches_every_service(compose: dict[str, Any]) -> None:
    gateway = compose["services"]["gateway"]
    env = gateway["environment"]
    assert env["GATEWAY_DATABASE_URL"].endswith("/chungtay_gateway")
    assert env["GATEWAY_PRINCIPAL_PRIVATE_KEY_FILE"] == "/run/secrets/principal_private_key"
    for name in SERVICES:
        assert env[f"GATEWAY_UPSTREAM_{name.upper()}"] == f"http://{name}:{PORTS[name]}"
    assert env["GATEWAY_SIGNING_KEY_ENCRYPTION_KEY_FILE"] == "/run/secrets/gateway_signing_key_encryption_key"
    assert {s["source"] for s in gateway["secrets"]} == {"principal_private_key", "principal_public_key",
                                                         "gateway_signing_key_encryption_key"}
    assert set(compose["secrets"]) == {"principal_private_key", "principal_public_key",
                                       "registry_personal_data_key", "registry_personal_data_hash_key",
                                       "registry_dci_signing_key", "registry_dci_encryption_key",
                                       "gateway_signing_key_encryption_key"}
    # The gateway is the only published port; the other containers sit on the internal network only.
    assert [p["target"] for p in gateway["ports"]] == [8000]
    assert [n for n, s in compose["services"].items() if s.get("ports")] == ["gateway"]
    assert compose["networks"]["internal"]["internal"] is True
    assert all(set(s["networks"]) == {"internal"} for n, s in compose["services"].items() if n != "gateway")


def test_the_registry_gets_every_dci_key_as_a_secret_file(compose: dict[str, Any]) -> None:
    """The DCI keys (signing, encryption) reach the registry as secret files, never as plain variables."""
    assert DCI_KEYS == ("REGISTRY_DCI_ENCRYPTION_KEY", "REGISTRY_DCI_SIGNING_KEY")
    registry = compose["services"]["registry"]
    env, mounted = registry["environment"], {s["source"] for s in registry["secrets"]}
    for name in DCI_KEYS:
        assert name not in env, f"{name} must come from a secret file"
        assert f"{name}_FILE" in env, f"the registry is not given {name}"
        secret = env[f"{name}_FILE"].removeprefix("/run/secrets/")
        assert secret in mounted and secret in compose["secrets"], name
        assert Path(compose["secrets"][secret]["file"]).parent == ROOT / "deploy" / "secrets"
    for other in set(compose["services"]) - {"registry"}:  # nobody else holds them
        assert not {s["source"] for s in compose["services"][other].get("secrets", [])} & {
            env[f"{n}_FILE"].removeprefix("/run/secrets/") for n in DCI_KEYS}, other


def test_the_migrate_step_reaches_every_database(compose: dict[str, Any]) -> None:
    env = compose["services"]["migrate"]["environment"]
    for name in APPS:
        assert env[f"{name.upper()}_DATABASE_URL"].endswith(f"/chungtay_{name}")
    assert compose["services"]["migrate"]["restart"] == "no"
    # The first administrator comes from .env; demo accounts (password "demo") only when asked for.
    assert env["GATEWAY_ADMIN_PASSWORD"] == "change-me-admin"
    assert env["CHUNGTAY_DEMO_ACCOUNTS"] == "0"


def test_health_checks_probe_ready_or_health_on_each_apps_port(compose: dict[str, Any]) -> None:
    for name in APPS:
        test = compose["services"][name]["healthcheck"]["test"]
        assert test[:3] == ["CMD", "python", "/app/deploy/healthcheck.py"]
        assert test[3] == f"http://127.0.0.1:{PORTS[name]}/ready"
    assert "pg_isready" in " ".join(compose["services"]["postgres"]["healthcheck"]["test"])
    assert "js-enabled-only=true" in " ".join(compose["services"]["nats"]["healthcheck"]["test"])


def test_start_order_infrastructure_then_migrate_then_services_then_gateway(compose: dict[str, Any]) -> None:
    services = compose["services"]
    conditions = {n: {d: c["condition"] for d, c in s.get("depends_on", {}).items()} for n, s in services.items()}
    assert conditions["migrate"] == {"postgres": "service_healthy", "nats": "service_healthy"}
    for name in SERVICES:
        assert conditions[name] == {"postgres": "service_healthy", "nats": "service_healthy",
                                    "migrate": "service_completed_successfully"}
    assert {conditions["gateway"][n] for n in SERVICES} == {"service_healthy"}
    order = start_order(services)
    assert order.index("migrate") > max(order.index("postgres"), order.index("nats"))
    assert min(order.index(n) for n in SERVICES) > order.index("migrate")
    assert order[-1] == "gateway"


def test_data_lives_on_volumes_and_init_material_comes_from_deploy(compose: dict[str, Any]) -> None:
    postgres, nats = compose["services"]["postgres"], compose["services"]["nats"]
    assert "pgdata:/var/lib/postgresql/data:rw" in postgres["volumes"]
    assert f"{ROOT}/deploy/postgres/init-databases.sh:/docker-entrypoint-initdb.d/10-init-databases.sh:ro" \
        in postgres["volumes"]
    assert "natsdata:/data:rw" in nats["volumes"]
    assert nats["command"] == ["nats-server", "--config", "/etc/nats/nats.conf"]
    assert set(compose["volumes"]) == {"pgdata", "natsdata"}
    for name in APPS:
        assert f"{name.upper()}_DB_PASSWORD" in postgres["environment"]


def test_without_the_passwords_compose_refuses_to_resolve(tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = compose_config(empty)
    assert result.returncode != 0
    assert "set POSTGRES_PASSWORD in .env" in result.stderr


def test_env_example_sets_every_variable_the_compose_file_needs() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    example = {line.split("=", 1)[0] for line in (ROOT / ".env.example").read_text().splitlines()
               if line and not line.startswith("#")}
    needed = set(re.findall(r"\$\{([A-Z_]+)", text))
    assert needed <= example, f"missing from .env.example: {needed - example}"
