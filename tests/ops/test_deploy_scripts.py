"""The deployment material runs for real: the postgres init script against a real PostgreSQL, the
migrate step as the per-service roles it creates, the image's entry point, the NATS configuration and
the container health check."""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from devstack.embedded import EmbeddedPostgres, _pg_bin, free_port, nats_server_binary
from tests.ops.compose import APPS, ROOT

PASSWORDS = {f"{name.upper()}_DB_PASSWORD": f"pw-{name}" for name in APPS}


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL of this module's own: the init script creates cluster-wide roles. (mkdtemp, not
    tmp_path: another pytest session on the machine may prune tmp_path folders under a live server.)"""
    folder = Path(tempfile.mkdtemp(prefix="chungtay-ops-pg-"))
    pg = EmbeddedPostgres(folder, free_port(), durable=False)
    pg.start()
    try:
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(folder, ignore_errors=True)


def run_init_script(pg: EmbeddedPostgres) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{_pg_bin()}:{os.environ['PATH']}", "PGHOST": "127.0.0.1", "PGPORT": str(pg.port),
           "POSTGRES_USER": "postgres", "POSTGRES_DB": "postgres", **PASSWORDS}
    return subprocess.run(["bash", str(ROOT / "deploy/postgres/init-databases.sh")], env=env,
                          capture_output=True, text=True, timeout=120)


def role_url(pg: EmbeddedPostgres, service: str, database: str | None = None) -> str:
    return f"postgresql://chungtay_{service}:pw-{service}@127.0.0.1:{pg.port}/{database or f'chungtay_{service}'}"


@pytest.fixture(scope="module")
def initialised(server: EmbeddedPostgres) -> EmbeddedPostgres:
    result = run_init_script(server)
    assert result.returncode == 0, result.stderr
    return server


async def test_init_script_creates_a_database_owned_by_a_role_per_service(initialised: EmbeddedPostgres) -> None:
    admin = await asyncpg.connect(initialised.url)
    try:
        rows = await admin.fetch("SELECT d.datname, r.rolname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba"
                                 " WHERE d.datname LIKE 'chungtay_%' ORDER BY 1")
    finally:
        await admin.close()
    assert {(r["datname"], r["rolname"]) for r in rows} == {(f"chungtay_{n}", f"chungtay_{n}") for n in APPS}


async def test_a_service_role_cannot_open_another_services_database(initialised: EmbeddedPostgres) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await asyncpg.connect(role_url(initialised, "registry", "chungtay_support"))
    own = await asyncpg.connect(role_url(initialised, "registry"))
    await own.close()


def test_init_script_runs_again_without_harm_and_refuses_a_missing_password(initialised: EmbeddedPostgres) -> None:
    assert run_init_script(initialised).returncode == 0
    env = {"PATH": f"{_pg_bin()}:{os.environ['PATH']}", "PGHOST": "127.0.0.1", "PGPORT": str(initialised.port)}
    result = subprocess.run(["bash", str(ROOT / "deploy/postgres/init-databases.sh")], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "REGISTRY_DB_PASSWORD" in result.stderr


def migrate(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    return subprocess.run([sys.executable, "-m", "devstack.migrate", *args], env=base | env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


async def test_migrate_step_as_the_service_roles_then_wait_sees_head(initialised: EmbeddedPostgres) -> None:
    urls = {f"{n.upper()}_DATABASE_URL": role_url(initialised, n) for n in APPS}
    wait_env = {"CHUNGTAY_MIGRATE_WAIT_SECONDS": "0"}
    before = migrate(["wait", "registry"], urls | wait_env)
    assert before.returncode == 1, before.stdout + before.stderr  # nothing migrated yet

    result = migrate([], urls)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in APPS:
        assert f"database of {name} migrated" in result.stdout

    after = migrate(["wait", *APPS], urls | wait_env)
    assert after.returncode == 0, after.stdout + after.stderr
    conn = await asyncpg.connect(role_url(initialised, "registry"))
    try:  # the tables belong to the service's own role, not to a superuser
        rows = await conn.fetch("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")
        owners = {r["tableowner"] for r in rows}
    finally:
        await conn.close()
    assert owners == {"chungtay_registry"}


def test_migrate_names_the_missing_url() -> None:
    result = migrate(["wait", "support"], {})
    assert result.returncode != 0
    assert "SUPPORT_DATABASE_URL" in result.stderr


def test_entrypoint_exports_file_variables_and_runs_the_command(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----\n")
    env = {"PATH": os.environ["PATH"], "REGISTRY_PRINCIPAL_PUBLIC_KEY_FILE": str(key)}
    script = "import os; print(repr(os.environ['REGISTRY_PRINCIPAL_PUBLIC_KEY'])); print('_FILE' in str(os.environ))"
    result = subprocess.run([str(ROOT / "deploy/docker-entrypoint.sh"), sys.executable, "-c", script],
                            env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [repr("-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----"), "False"]

    env["REGISTRY_PRINCIPAL_PUBLIC_KEY_FILE"] = str(tmp_path / "missing.pem")
    failed = subprocess.run([str(ROOT / "deploy/docker-entrypoint.sh"), "true"], env=env,
                            capture_output=True, text=True, timeout=30)
    assert failed.returncode == 1
    assert "missing.pem" in failed.stderr


def test_nats_configuration_is_accepted_by_the_real_server(tmp_path: Path) -> None:
    good = subprocess.run([nats_server_binary(), "-c", str(ROOT / "deploy/nats/nats.conf"), "-t"],
                          capture_output=True, text=True, timeout=30)
    assert good.returncode == 0, good.stderr
    broken = tmp_path / "broken.conf"
    broken.write_text((ROOT / "deploy/nats/nats.conf").read_text().replace("jetstream {", "jetstream {{"))
    bad = subprocess.run([nats_server_binary(), "-c", str(broken), "-t"], capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0


@pytest.fixture
def http_status() -> Iterator[tuple[dict[str, int], int]]:
    state = {"status": 200}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(state["status"])
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, httpd.server_address[1]
    finally:
        httpd.shutdown()


def test_container_health_check_follows_the_status(http_status: tuple[dict[str, int], int]) -> None:
    state, port = http_status

    def check(url: str) -> int:
        return subprocess.run([sys.executable, str(ROOT / "deploy/healthcheck.py"), url],
                              capture_output=True, timeout=30).returncode

    assert check(f"http://127.0.0.1:{port}/ready") == 0
    state["status"] = 503
    assert check(f"http://127.0.0.1:{port}/ready") == 1
    assert check(f"http://127.0.0.1:{free_port()}/ready") == 1
