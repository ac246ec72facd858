"""Delivery imports: /support/imports (the upload), its template, an accepted import."""

from __future__ import annotations

import csv
import io
from typing import Literal
from uuid import UUID

from fastapi import APIRouter, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from openpyxl import Workbook

from services.support.dependencies import (
    XLSX,
    DbSession,
    IdempotencyKey,
    Reader,
    Uploader,
    file_answer,
    idempotent,
    problems,
)
from services.support.imports import rules, service
from services.support.imports.schemas import ImportOut
from shared.errors import Problem

router = APIRouter(prefix="/support/imports", tags=["support imports"])
MAX_BYTES = 100 * 1024 * 1024


@router.post("", status_code=201, response_model=ImportOut, responses=problems(413),
             summary="Import household deliveries from a CSV or XLSX file, all or nothing",
             description="Multipart field `file`. Every row is checked first; a file with any problem is refused "
                         "(422 `import_rejected` listing `{row, column, reason}`) and nothing is stored. Accepts "
                         "`Idempotency-Key`: a retry with the same key and the same file gets the first answer; "
                         "the same key with another file 422 `idempotency_key_reused`.")
async def import_deliveries(file: UploadFile, request: Request, principal: Uploader, session: DbSession,
                            idempotency_key: IdempotencyKey = None) -> Response:
    data = await file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise Problem(413, "payload_too_large", "File too large", f"An import file holds at most {MAX_BYTES} bytes.")

    async def run() -> Response:
        job = await service.import_file(session, principal, data, (file.filename or "")[:200] or None)
        return JSONResponse(ImportOut.model_validate(job, from_attributes=True).model_dump(mode="json"),
                            status_code=201, headers={"Location": f"/support/imports/{job.id}"})

    return await idempotent(request, session, principal, run, body=data)  # the file, not its multipart wrapping


@router.get("/template", summary="The import template with its Vietnamese headers and an example row",
            response_class=Response, responses=file_answer(XLSX, "text/csv"))
async def template(principal: Reader, format: Literal["csv", "xlsx"] = "xlsx") -> Response:
    headers = [title for _, title in rules.COLUMNS]
    if format == "csv":
        out = io.StringIO()
        csv.writer(out).writerows([headers, rules.EXAMPLE])
        return Response(out.getvalue().encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="mau-nhap-ho-tro.csv"'})
    book = Workbook()
    sheet = book.active
    sheet.title = "Hỗ trợ"
    sheet.append(headers)
    sheet.append(list(rules.EXAMPLE))
    buffer = io.BytesIO()
    book.save(buffer)
    return Response(buffer.getvalue(), media_type=XLSX,
                    headers={"Content-Disposition": 'attachment; filename="mau-nhap-ho-tro.xlsx"'})


@router.get("/{job_id}", response_model=ImportOut, responses=problems(404), summary="An accepted import")
async def get_import(job_id: UUID, principal: Reader, session: DbSession) -> ImportOut:
    return ImportOut.model_validate(await service.load(session, job_id), from_attributes=True)
