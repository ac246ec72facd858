"""What every route file of the support service uses, held once: who may call a route (the permission
it needs, `require`), paging, the common filters (`unit` + `hierarchy`, `year`, `from`/`to` and the
period they make), If-Match, the database session and the answers' helpers. Route files import these
from here, not each from shared/."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Header, Query

from shared import clock
from shared.errors import Problem
from shared.etag import RecordAnswers, check_if_match, etag_of, versioned_json
from shared.http import DbSession, require
from shared.idempotency import IdempotencyKey, idempotent
from shared.openapi import file_answer, problems
from shared.pagination import Page, PageParams, page_params, paginate
from shared.permissions import SUPPORT_CATALOGUE_WRITE, SUPPORT_READ, SUPPORT_WRITE
from shared.principal import Principal

__all__ = ["AnyYear", "DateFrom", "DateTo", "DbSession", "Editor", "Exporter", "Hierarchy", "IdempotencyKey",
           "IfMatch", "Page", "PageParams", "Paging", "Period", "Reader", "UnitCode", "Uploader", "Writer", "XLSX",
           "Year", "check_if_match", "etag_of", "file_answer", "idempotent", "paginate", "problems", "RecordAnswers",
           "versioned_json"]

Reader = Annotated[Principal, Depends(require(SUPPORT_READ))]
# A read that may answer a whole list as a file (the coverage gaps): the gateway waits longer for it (an
# XLSX is built whole before its first byte).
Exporter = Annotated[Principal, Depends(require(SUPPORT_READ, timeout=300))]
Writer = Annotated[Principal, Depends(require(SUPPORT_WRITE))]
# A file upload: streamed through the gateway, with a long timeout.
Uploader = Annotated[Principal, Depends(require(SUPPORT_WRITE, upload=True, timeout=600))]
Editor = Annotated[Principal, Depends(require(SUPPORT_CATALOGUE_WRITE))]
Paging = Annotated[PageParams, Depends(page_params)]
IfMatch = Annotated[str | None, Header(description="the ETag you last read; required to change it (428 without it)")]
Hierarchy = Annotated[str | None, Query(pattern="^v(2008|2025)$")]
UnitCode = Annotated[str | None, Query(description="a unit's code: that unit and everything below it; "
                                                   "default: your scope")]
Year = Annotated[int | None, Query(ge=2000, le=2100, description="default: this year")]
AnyYear = Annotated[int | None, Query(ge=2000, le=2100, description="default: every year")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DateFrom = Annotated[date | None, Query(alias="from")]
DateTo = Annotated[date | None, Query(alias="to")]


def period(year: Year = None, date_from: DateFrom = None, date_to: DateTo = None) -> tuple[date, date]:
    """`from`..`to`, each defaulting to the start or end of `year` (default: this year); 422 naming
    `to` when it is before `from`."""
    year = year or clock.today().year
    start, end = date_from or date(year, 1, 1), date_to or date(year, 12, 31)
    if end < start:
        raise Problem(422, "validation_error", "Invalid request", "to is before from", field="to",
                      errors=[{"field": "to", "reason": "to is before from"}])
    return start, end


Period = Annotated[tuple[date, date], Depends(period)]
