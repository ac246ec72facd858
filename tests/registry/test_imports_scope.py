"""Scope of import jobs: who may read a job, and files naming units outside the caller's scope."""

from __future__ import annotations

import psutil
import pytest

from shared.events import uuid7
from tests.kit import auth_headers, make_principal, running_app
from tests.registry.test_imports_support import (
    COMMUNE,
    DISTRICT,
    OTHER_COMMUNE,
    OTHER_DISTRICT,
    OTHER_PROVINCE,
    PROVINCE,
    Registry,
    commune_officer,
    csv_file,
    errors_of,
    household,
    officer,
    outbox_held,
    registry,  # noqa: F401 (fixture)
    registry_app,
    until,
)

FOREIGN = [("commune_officer", OTHER_COMMUNE), ("district_officer", OTHER_DISTRICT),
           ("province_officer", OTHER_PROVINCE)]


async def test_a_job_is_read_inside_its_scope_and_hidden_outside(registry: Registry) -> None:  # noqa: F811
    job = await registry.run(csv_file([household(1)]))
    assert job["status"] == "completed"
    for role, path in [("commune_officer", COMMUNE), ("district_officer", DISTRICT), ("province_officer", PROVINCE)]:
        seen = await registry.job(job["id"], officer(role, path))
        assert seen.status_code == 200 and seen.json()["rows_stored"] == 1, (role, seen.text)
    for role, path in FOREIGN:
        hidden = await registry.job(job["id"], officer(role, path))
        assert hidden.status_code == 404, (role, hidden.text)
        listed = await registry.client.get("/registry/imports", headers=auth_headers(officer(role, path)))
        assert listed.json()["total"] == 0


async def test_a_province_officers_import_is_visible_to_the_communes_officers(registry: Registry) -> None:  # noqa: F811
    province = officer("province_officer", PROVINCE)
    response = await registry.upload(csv_file([household(1)]), province)
    assert response.json()["unit_path"] == PROVINCE  # until the file is read
    job = await registry.finished(response, province)
    assert job["status"] == "completed" and job["unit_path"] == COMMUNE
    assert (await registry.job(job["id"], officer("commune_officer", COMMUNE))).status_code == 200
    assert (await registry.job(job["id"], officer("commune_officer", OTHER_COMMUNE))).status_code == 404


@pytest.mark.parametrize(("role", "path"), FOREIGN)
async def test_a_file_for_a_commune_outside_the_callers_scope_stores_nothing(
        registry: Registry, role: str, path: str) -> None:  # noqa: F811
    job = await registry.run(csv_file([household(1)]), officer(role, path), keep_valid="true")
    assert job["status"] == "rejected"
    [(row, column, reason)] = errors_of(job)
    assert (row, column) == (2, "commune_code") and "Phường Ngô Quyền" in reason and "outside your scope" in reason
    assert (await registry.counts())["households"] == 0
    assert job["unit_path"] == path  # the job stays with its uploader


async def test_a_code_used_in_both_hierarchies_needs_the_hierarchy(registry: Registry) -> None:  # noqa: F811
    both = officer("province_officer", "v2008.24", "v2025.24")
    row = household(1, commune_code="07210")  # Hoàng Văn Thụ ward before July 2025, Bắc Giang ward after
    ambiguous = await registry.run(csv_file([row]), both)
    assert ambiguous["status"] == "rejected" and "hierarchy=v2025" in errors_of(ambiguous)[0][2]
    chosen = await registry.run(csv_file([row]), both, hierarchy="v2025")
    assert chosen["status"] == "completed", chosen
    stored = await registry.sql("SELECT unit_path FROM households")
    assert [r["unit_path"] for r in stored] == ["v2025.24.07210"]
    # A caller whose scope has one hierarchy needs no choice.
    old = await registry.run(csv_file([household(2, commune_code="07210")]), officer("district_officer", DISTRICT))
    assert old["status"] == "completed" and old["unit_path"] == "v2008.24.213.07210"


async def test_a_caller_without_scope_units_cannot_import(registry: Registry) -> None:  # noqa: F811
    nowhere = make_principal("commune_officer", [], ["registry.imports.write"])
    response = await registry.upload(csv_file([household(1)]), nowhere)
    assert response.status_code == 403


async def test_a_job_whose_process_died_reads_as_failed(registry: Registry) -> None:  # noqa: F811
    job_id = uuid7()
    await registry.sql(
        "INSERT INTO import_jobs (id, unit_path, status, filename, size_bytes, keep_valid, rows_total, rows_done, "
        "rows_stored, rows_rejected, errors_total, created_by, created_at, heartbeat_at) VALUES "
        "($1, $2, 'running', 'h.csv', 10, false, 100, 40, 0, 0, 0, 'someone', now() - interval '2 hours', "
        "now() - interval '1 hour')", job_id, COMMUNE)
    body = (await registry.job(str(job_id))).json()
    assert body["status"] == "failed" and "Upload again" in body["failure"]
    stored = await registry.sql("SELECT status FROM import_jobs WHERE id = $1", job_id)
    assert stored[0]["status"] == "failed"


async def test_a_job_stopped_by_a_shutdown_is_failed_and_stores_nothing(registry_db: str, nats_url: str) -> None:
    app = registry_app(registry_db, nats_url, batch_rows=2, event_items=3)
    async with outbox_held(registry_db) as held:  # the job stops at its first event
        async with running_app(app) as client:
            response = await client.post("/registry/imports", headers=auth_headers(commune_officer()),
                                         files={"file": ("h.csv", csv_file([household(n) for n in range(1, 6)]))})
            job_id = response.json()["id"]

            async def running() -> bool:
                rows = await held.conn.fetch("SELECT rows_done FROM import_jobs WHERE id = $1", job_id)
                return rows[0]["rows_done"] >= 2

            await until(running)
        # The app stopped while the job waited: it rolled back and says so.
        await held.transaction.rollback()
        job = await held.conn.fetchrow("SELECT status, failure FROM import_jobs WHERE id = $1", job_id)
        assert job["status"] == "failed" and "service stopped" in job["failure"]
        assert await held.conn.fetchval("SELECT count(*) FROM households") == 0


def _import_workers() -> list[psutil.Process]:
    """The import's worker processes: children of the multiprocessing forkserver this test process started."""
    servers = [p for p in psutil.Process().children() if "multiprocessing.forkserver" in " ".join(p.cmdline())]
    return [worker for server in servers for worker in server.children()]


async def test_a_job_whose_worker_process_dies_is_failed_and_stores_nothing(registry_db: str, nats_url: str) -> None:
    app = registry_app(registry_db, nats_url, batch_rows=2, event_items=3)
    async with outbox_held(registry_db) as held, running_app(app) as client:  # the job stops at its first event
        headers = auth_headers(commune_officer())
        rows = csv_file([household(n) for n in range(1, 2001)])  # the worker is still preparing when killed
        response = await client.post("/registry/imports", headers=headers, files={"file": ("h.csv", rows)})
        job_id = response.json()["id"]

        async def stalled_worker() -> list[psutil.Process]:
            stored = await held.conn.fetchval("SELECT rows_done FROM import_jobs WHERE id = $1", job_id)
            return _import_workers() if stored >= 2 else []

        for worker in await until(stalled_worker):
            worker.kill()
        await held.transaction.rollback()
        await app.state.import_jobs.wait_all()
        job = (await client.get(f"/registry/imports/{job_id}", headers=headers)).json()
        assert job["status"] == "failed" and "worker process ended" in job["failure"], job
        assert "upload the file again" in job["failure"]
        assert await held.conn.fetchval("SELECT count(*) FROM households") == 0
        # The service itself goes on: the next import gets a new worker and is stored.
        response = await client.post("/registry/imports", headers=headers,
                                     files={"file": ("h.csv", csv_file([household(1)]))})
        await app.state.import_jobs.wait_all()
        job = (await client.get(f"/registry/imports/{response.json()['id']}", headers=headers)).json()
        assert (job["status"], job["rows_stored"]) == ("completed", 1)
