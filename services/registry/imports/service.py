"""What the import routes do: take an upload and start its job, read a job with its rejected rows.

The job itself (reading, checking, storing) runs in jobs.py / runner.py / worker.py."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from fastapi import FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.imports import repository
from services.registry.imports.jobs import STALE_FAILURE, ImportJobs, fail_stale_jobs, is_stale
from services.registry.imports.models import FAILED, PENDING, ImportJob
from services.registry.imports.runner import JobSpec
from services.registry.imports.schemas import ImportErrorOut, ImportJobDetail, ImportJobOut
from services.registry.imports.settings import ImportSettings
from services.registry.imports.upload import spool_upload
from services.registry.personal_data import request_cipher
from shared.context import request_id_var
from shared.db import asyncpg_dsn
from shared.errors import Problem, forbidden
from shared.events import uuid7
from shared.principal import Principal
from shared.scope import HIERARCHIES


def import_settings(app: FastAPI) -> ImportSettings:
    settings = getattr(app.state, "import_settings", None)
    if settings is None:
        settings = app.state.import_settings = ImportSettings()
    return settings


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Merged into the service's lifespan: jobs left by a dead process fail; running jobs stop cleanly."""
    settings = import_settings(app)
    dsn = asyncpg_dsn(app.state.settings.database_url)
    with contextlib.suppress(Exception):  # a database still starting must not stop the service
        await fail_stale_jobs(dsn, settings.stale_after_seconds)
    app.state.import_jobs = ImportJobs(dsn, settings, app.state.standards)
    try:
        yield
    finally:
        await app.state.import_jobs.shutdown()


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"true", "1", "yes", "on"}


async def start_import(request: Request, session: AsyncSession, principal: Principal, keep_valid: bool | None,
                       hierarchy: str | None) -> ImportJob:
    """Spools the upload, records the job (pending) and starts it; a refused upload leaves nothing."""
    if not principal.scope_paths:
        raise forbidden("You have no scope unit to import households into.")
    cipher = request_cipher(request.app.state.settings)
    settings = import_settings(request.app)
    upload = await spool_upload(request, settings.max_bytes, settings.spool_dir)
    try:
        keep = keep_valid if keep_valid is not None else _flag(upload.fields.get("keep_valid"))
        hierarchy = hierarchy or upload.fields.get("hierarchy") or None
        if hierarchy is not None and hierarchy not in HIERARCHIES:
            raise Problem(422, "validation_error", "Invalid request",
                          f"hierarchy must be one of {', '.join(HIERARCHIES)}", field="hierarchy",
                          errors=[{"field": "hierarchy", "reason": f"must be one of {', '.join(HIERARCHIES)}"}])
        job = ImportJob(id=uuid7(), unit_path=principal.scope_paths[0], status=PENDING,
                        filename=upload.filename[:255], size_bytes=upload.size, keep_valid=keep, hierarchy=hierarchy,
                        rows_done=0, rows_stored=0, rows_rejected=0, errors_total=0, created_by=principal.id,
                        created_at=datetime.now(UTC))
        session.add(job)
        await session.commit()  # the job row exists before its runner updates it
    except BaseException:
        upload.discard()
        raise
    jobs: ImportJobs = request.app.state.import_jobs
    jobs.start(JobSpec(job.id, upload.path, keep, hierarchy, principal, request_id_var.get()), cipher)
    return job


async def job_detail(session: AsyncSession, settings: ImportSettings, job_id: UUID, errors_limit: int | None,
                     errors_offset: int) -> ImportJobDetail:
    """The job (failed if its process died) and one page of its rejected rows."""
    job = await repository.load_job(session, job_id)
    if is_stale(job.status, job.heartbeat_at, job.created_at, settings.stale_after_seconds):
        job.status, job.failure, job.finished_at = FAILED, STALE_FAILURE, datetime.now(UTC)
    limit = settings.max_errors_listed if errors_limit is None else errors_limit
    problems = await repository.problems_of(session, job_id, limit, errors_offset)
    body: dict[str, Any] = ImportJobOut.of(job).model_dump()
    return ImportJobDetail(**body, errors=[ImportErrorOut(row=p.row, column=p.column, reason=p.reason)
                                           for p in problems], errors_limit=limit, errors_offset=errors_offset)
