"""Bulk import API: /registry/imports (upload, job status with errors, list) and the template."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy import func, select

from services.registry.imports.columns import template_csv, template_xlsx
from services.registry.imports.jobs import STALE_FAILURE, ImportJobs, fail_stale_jobs, is_stale
from services.registry.imports.models import FAILED, PENDING, ImportJob, ImportProblem
from services.registry.imports.runner import JobSpec
from services.registry.imports.settings import ImportSettings
from services.registry.imports.upload import spool_upload
from services.registry.personal_data import request_cipher
from shared import permissions
from shared.context import request_id_var
from shared.db import asyncpg_dsn
from shared.errors import Problem, forbidden, not_found
from shared.events import uuid7
from shared.http import DbSession, require
from shared.pagination import MAX_OFFSET, Page, PageParams, page_params
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
    app.state.import_jobs = ImportJobs(dsn, settings)
    try:
        yield
    finally:
        await app.state.import_jobs.shutdown()


router = APIRouter(prefix="/registry/imports", tags=["imports"], lifespan=lifespan)
Importer = Annotated[Principal, Depends(require(permissions.IMPORTS_WRITE))]
Uploader = Annotated[Principal, Depends(require(permissions.IMPORTS_WRITE, upload=True, timeout=600))]
SignedIn = Annotated[Principal, Depends(require(None))]
Paging = Annotated[PageParams, Depends(page_params)]


class ImportErrorOut(BaseModel):
    row: int | None  # spreadsheet row: 1 is the header, 2 the first household; null for the whole file
    column: str | None
    reason: str


class ImportJobOut(BaseModel):
    id: UUID
    status: str  # pending | running | completed | rejected | failed
    filename: str
    format: str | None
    size_bytes: int
    keep_valid: bool
    hierarchy: str | None
    unit_path: str
    rows_total: int | None
    rows_done: int
    rows_stored: int
    rows_rejected: int
    errors_total: int
    counts: dict[str, int] | None
    failure: str | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: ImportJob) -> ImportJobOut:
        return cls.model_validate(job, from_attributes=True)


class ImportJobDetail(ImportJobOut):
    errors: list[ImportErrorOut]
    errors_limit: int
    errors_offset: int


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"true", "1", "yes", "on"}


@router.get("/template", summary="The import template with the canonical columns (CSV or XLSX)")
async def template(_: SignedIn, format: Literal["csv", "xlsx"] = "csv") -> Response:  # noqa: A002
    if format == "xlsx":
        return Response(template_xlsx(), headers={"content-disposition": 'attachment; filename="households.xlsx"'},
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return Response(template_csv(), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": 'attachment; filename="households.csv"'})


@router.post(
    "", status_code=202, response_model=ImportJobOut,
    summary="Upload a household list (CSV or XLSX) to import; answers the job",
    description="multipart/form-data with the file in the field `file`. `keep_valid=true` (query or form "
                "field) stores the valid rows of a file that has invalid ones; by default any invalid row "
                "rejects the whole file. `hierarchy` (v2008 or v2025) picks the hierarchy of the commune "
                "codes when your scope covers both. Follow the job at `GET /registry/imports/{id}`.",
    openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"], "properties": {
            "file": {"type": "string", "format": "binary"},
            "keep_valid": {"type": "boolean"},
            "hierarchy": {"type": "string", "enum": list(HIERARCHIES)}}}}}}},
)
async def start_import(request: Request, response: Response, principal: Uploader, session: DbSession,
                       keep_valid: bool | None = None, hierarchy: str | None = None) -> ImportJobOut:
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
                          f"hierarchy must be one of {', '.join(HIERARCHIES)}", field="hierarchy")
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
    response.headers["location"] = f"/registry/imports/{job.id}"
    return ImportJobOut.of(job)


@router.get("", response_model=Page[ImportJobOut], summary="Import jobs in your scope, newest first")
async def list_imports(_: Importer, session: DbSession, paging: Paging,
                       status: str | None = None) -> Page[ImportJobOut]:
    query = select(ImportJob)
    if status:
        query = query.where(ImportJob.status == status)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    jobs = await session.scalars(query.order_by(ImportJob.created_at.desc(), ImportJob.id.desc())
                                 .limit(paging.limit).offset(paging.offset))
    return Page[ImportJobOut](items=[ImportJobOut.of(j) for j in jobs], total=total or 0, limit=paging.limit,
                              offset=paging.offset)


@router.get("/{job_id}", response_model=ImportJobDetail,
            summary="A job's status, progress (rows done of total) and rejected rows (row, column, reason)")
async def get_import(
    job_id: UUID, request: Request, _: Importer, session: DbSession,
    errors_offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    errors_limit: Annotated[int | None, Query(ge=0, le=100_000)] = None,
) -> ImportJobDetail:
    job = await session.scalar(select(ImportJob).where(ImportJob.id == job_id))
    if job is None:
        raise not_found("import job", job_id)
    settings = import_settings(request.app)
    if is_stale(job.status, job.heartbeat_at, job.created_at, settings.stale_after_seconds):
        job.status, job.failure, job.finished_at = FAILED, STALE_FAILURE, datetime.now(UTC)
    limit = settings.max_errors_listed if errors_limit is None else errors_limit
    problems = await session.scalars(select(ImportProblem).where(ImportProblem.job_id == job_id)
                                     .order_by(ImportProblem.seq).limit(limit).offset(errors_offset))
    body: dict[str, Any] = ImportJobOut.of(job).model_dump()
    return ImportJobDetail(**body, errors=[ImportErrorOut(row=p.row, column=p.column, reason=p.reason)
                                           for p in problems], errors_limit=limit, errors_offset=errors_offset)
