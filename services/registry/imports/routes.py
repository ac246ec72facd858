"""Bulk import API: /registry/imports (upload, job status with errors, list) and the template."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response

from services.registry.imports import repository, service
from services.registry.imports.columns import template_csv, template_xlsx
from services.registry.imports.schemas import ImportJobDetail, ImportJobOut, JobStatus
from shared import permissions
from shared.http import DbSession, require
from shared.openapi import file_answer, problems
from shared.pagination import MAX_OFFSET, Page, PageParams, page_params, paginate
from shared.principal import Principal
from shared.scope import HIERARCHIES

router = APIRouter(prefix="/registry/imports", tags=["imports"], lifespan=service.lifespan)
Importer = Annotated[Principal, Depends(require(permissions.IMPORTS_WRITE))]
Uploader = Annotated[Principal, Depends(require(permissions.IMPORTS_WRITE, upload=True, timeout=600))]
SignedIn = Annotated[Principal, Depends(require(None))]
Paging = Annotated[PageParams, Depends(page_params)]


@router.get("/template", summary="The import template with the canonical columns (CSV or XLSX)",
            response_class=Response,
            responses=file_answer("text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
async def template(_: SignedIn, format: Literal["csv", "xlsx"] = "csv") -> Response:  # noqa: A002
    if format == "xlsx":
        return Response(template_xlsx(), headers={"content-disposition": 'attachment; filename="households.xlsx"'},
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return Response(template_csv(), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": 'attachment; filename="households.csv"'})


@router.post(
    "", status_code=202, response_model=ImportJobOut, responses=problems(400, 413, 415),
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
    job = await service.start_import(request, session, principal, keep_valid, hierarchy)
    response.headers["location"] = f"/registry/imports/{job.id}"
    return ImportJobOut.of(job)


@router.get("", response_model=Page[ImportJobOut], summary="Import jobs in your scope, newest first")
async def list_imports(_: Importer, session: DbSession, paging: Paging,
                       status: JobStatus | None = None) -> Page[ImportJobOut]:
    return await paginate(session, repository.jobs_query(status), paging, ImportJobOut.of)


@router.get("/{job_id}", response_model=ImportJobDetail, responses=problems(404),
            summary="A job's status, progress (rows done of total) and rejected rows (row, column, reason)")
async def get_import(
    job_id: UUID, request: Request, _: Importer, session: DbSession,
    errors_offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    errors_limit: Annotated[int | None, Query(ge=0, le=100_000)] = None,
) -> ImportJobDetail:
    return await service.job_detail(session, service.import_settings(request.app), job_id, errors_limit,
                                    errors_offset)
