"""The periodic reports: types, drafts, versions, submission and approval (reports.service), the
documents (document.py, annex.py, pdf.py) and the trace of a figure (trace.py)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status

from services.reporting.reports import repository, service
from services.reporting.reports.annex import render_xlsx
from services.reporting.reports.document import render_docx, template_path
from services.reporting.reports.pdf import docx_to_pdf
from services.reporting.reports.rules import REPORT_TYPES, SUBSECTIONS
from services.reporting.reports.schemas import Decision, ReportEdit, ReportOpen, ReportSummary, ReportView
from services.reporting.reports.view import overview
from services.reporting.units.service import locate
from shared.etag import etag_of, set_etag
from shared.http import DbSession, require
from shared.idempotency import IdempotencyKey, idempotent
from shared.openapi import problems
from shared.pagination import Page, PageParams, page_params, paginate
from shared.permissions import REPORTS_APPROVE, REPORTS_READ, REPORTS_WRITE
from shared.principal import Principal

router = APIRouter(prefix="/reporting", tags=["reports"])
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Reader = Annotated[Principal, Depends(require(REPORTS_READ))]
# Rendering a province's documents, and a PDF through LibreOffice, may take longer than a read.
DocumentReader = Annotated[Principal, Depends(require(REPORTS_READ, timeout=120))]
Writer = Annotated[Principal, Depends(require(REPORTS_WRITE))]
Approver = Annotated[Principal, Depends(require(REPORTS_APPROVE))]
IfMatch = Annotated[str | None, Header(description="The ETag last read (required)")]
VersionQuery = Annotated[int | None, Query(ge=1, le=100_000, description="A past version (default: current)")]


@router.get("/report-types", summary="The report types: sections, required narratives, periods and due dates")
async def report_types(_: Reader) -> list[dict[str, Any]]:
    return [{"code": t.code, "name": t.name, "period_kind": t.period_kind, "phase": t.phase,
             "sections": [{"key": s, "heading": SUBSECTIONS[s], "required": s in t.required} for s in t.sections]}
            for t in REPORT_TYPES.values()]


@router.post("/reports", status_code=status.HTTP_201_CREATED, response_model=ReportView, responses=problems(404, 409),
             summary="Open the draft of a unit's report for a period (by the unit's own officers)")
async def open_report(body: ReportOpen, principal: Writer, session: DbSession, request: Request,
                      idempotency_key: IdempotencyKey = None) -> Response:
    """Figures are filled from the read models for the unit and all its descendants; an upper level's
    draft sums its children's accepted reports. 409 `report_exists` when the unit has it already (a
    retry with the first request's `Idempotency-Key` gets the first 201 instead); 422 `period_in_future`
    for a period that has not started."""

    async def run() -> Response:
        answer = await service.open_report(session, principal, body.unit, body.hierarchy, body.type, body.period)
        return Response(orjson.dumps(answer), status_code=201, media_type="application/json",
                        headers={"Location": f"/reporting/reports/{answer['id']}",
                                 "ETag": etag_of(answer["row_version"])})

    return await idempotent(request, session, principal, run)


@router.get("/reports", response_model=Page[ReportSummary], responses=problems(404),
            summary="Reports of your units and the units below")
async def list_reports(
    principal: Reader, session: DbSession, paging: Annotated[PageParams, Depends(page_params)],
    unit: Annotated[str | None, Query(max_length=160, description="Only this unit and the units below")] = None,
    hierarchy: Annotated[str | None, Query(description="v2008 or v2025")] = None,
    type: Annotated[str | None, Query(max_length=16)] = None,
    period: Annotated[str | None, Query(max_length=64)] = None,
    state: Annotated[str | None, Query(max_length=16)] = None,
) -> Page[ReportSummary]:
    path = (await locate(session, principal, unit, hierarchy)).unit.path if unit else None
    return await paginate(session, repository.listing(path, type, period, state), paging,
                          lambda r: ReportSummary(**overview(r)))


@router.get("/reports/{report_id}", response_class=Response, responses={200: {"model": ReportView}, **problems(404)},
            summary="A report: figures, sections, history")
async def read_report(report_id: UUID, principal: Reader, session: DbSession,
                      version: VersionQuery = None) -> Response:
    """While a draft (or returned), figures are live from the read models; a submitted version shows
    them as submitted. Each figure gives `data` (what the read models say), `consolidated` (an upper
    level: its own rows plus its children's accepted reports), `override` and `reason`, and `value`."""
    answer = await service.read_report(session, report_id, version)
    return Response(orjson.dumps(answer), media_type="application/json",
                    headers={"ETag": f'"{answer["row_version"]}"'})


@router.patch("/reports/{report_id}", response_model=ReportView, responses=problems(404, 409, 412, 428),
              summary="Edit a draft: header, narratives, overridden figures (a new version each time)")
async def edit_report(report_id: UUID, body: ReportEdit, principal: Writer, session: DbSession, response: Response,
                      if_match: IfMatch = None) -> dict[str, Any]:
    answer = await service.edit_report(session, principal, report_id, if_match, body.header_changes(),
                                       body.narratives, body.override_changes())
    set_etag(response, answer["row_version"])
    return answer


@router.post("/reports/{report_id}/submit", response_model=ReportView, responses=problems(404, 409, 412, 428),
             summary="Submit to the level above: the version and its figures are frozen")
async def submit_report(report_id: UUID, principal: Writer, session: DbSession, response: Response,
                        if_match: IfMatch = None) -> dict[str, Any]:
    """422 `incomplete_report` naming each empty required section or header field."""
    answer = await service.submit_report(session, principal, report_id, if_match)
    set_etag(response, answer["row_version"])
    return answer


@router.post("/reports/{report_id}/accept", response_model=ReportView, responses=problems(404, 409, 412, 428),
             summary="Accept a submitted report (the unit it reports to only)")
async def accept_report(report_id: UUID, principal: Approver, session: DbSession, response: Response,
                        body: Decision | None = None, if_match: IfMatch = None) -> dict[str, Any]:
    answer = await service.decide_report(session, principal, report_id, "accept", if_match,
                                         body.comment if body else None)
    set_etag(response, answer["row_version"])
    return answer


@router.post("/reports/{report_id}/return", response_model=ReportView, responses=problems(404, 409, 412, 428),
             summary="Return a report with comments (the unit it reports to only)")
async def return_report(report_id: UUID, body: Decision, principal: Approver, session: DbSession,
                        response: Response, if_match: IfMatch = None) -> dict[str, Any]:
    answer = await service.decide_report(session, principal, report_id, "return", if_match, body.comment)
    set_etag(response, answer["row_version"])
    return answer


def _file_name(report: dict[str, Any], extension: str) -> str:
    code = report["unit_path"].rsplit(".", 1)[-1]
    return f"bao-cao_{report['type']}_{report['period']}_{code}_v{report['shown_version']}.{extension}"


async def _docx(request: Request, report: dict[str, Any]) -> bytes:
    template = template_path(report["unit_path"], request.app.state.settings.report_templates)
    return await asyncio.to_thread(render_docx, report, template)


def _download(body: bytes, media_type: str, report: dict[str, Any], extension: str) -> Response:
    return Response(body, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{_file_name(report, extension)}"',
        "ETag": f'"{report["row_version"]}"'})


@router.get("/reports/{report_id}/document.docx", response_class=Response,
            responses={200: {"content": {DOCX: {}}}, **problems(404)},
            summary="The report as a DOCX in the layout of Decree 30/2020/NĐ-CP (from the province's template)")
async def document_docx(report_id: UUID, principal: DocumentReader, session: DbSession, request: Request,
                        version: VersionQuery = None) -> Response:
    report = await service.read_report(session, report_id, version)
    return _download(await _docx(request, report), DOCX, report, "docx")


@router.get("/reports/{report_id}/document.xlsx", response_class=Response,
            responses={200: {"content": {XLSX: {}}}, **problems(404)},
            summary="The report's annex: every table, and every figure with its data, override and reason")
async def document_xlsx(report_id: UUID, principal: DocumentReader, session: DbSession,
                        version: VersionQuery = None) -> Response:
    report = await service.read_report(session, report_id, version)
    return _download(await asyncio.to_thread(render_xlsx, report), XLSX, report, "xlsx")


@router.get("/reports/{report_id}/document.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}, **problems(404)},
            summary="The report as PDF (the DOCX converted by LibreOffice; 503 where it is not installed)")
async def document_pdf(report_id: UUID, principal: DocumentReader, session: DbSession, request: Request,
                       version: VersionQuery = None) -> Response:
    report = await service.read_report(session, report_id, version)
    return _download(await docx_to_pdf(await _docx(request, report)), "application/pdf", report, "pdf")


@router.get("/reports/{report_id}/figures/{key}/trace", responses=problems(404),
            summary="The rows a figure sums (read models), and the children's reports an upper level's figure sums")
async def trace_figure(report_id: UUID, key: Annotated[str, Path(max_length=300)], principal: Reader,
                       session: DbSession, paging: Annotated[PageParams, Depends(page_params)]) -> dict[str, Any]:
    """`rows` are a page of today's rows (household-years, deliveries, ledger entries, activities, ...):
    a submitted report's figure is frozen and may differ from what they add up to now."""
    return await service.trace_figure(session, report_id, key, paging)
