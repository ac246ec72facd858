"""What every route file of the emulation service uses, held once: who may call a route (the
permission it needs, `require`), paging, the common filters (`unit` + `hierarchy`, `year`), If-Match,
the database session, and the 201 answer with its Location and ETag. Route files import these from
here, not each from shared/."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Query
from fastapi.responses import JSONResponse

from services.emulation.movements.schemas import Hierarchy, UnitCode
from shared.etag import check_if_match, set_etag
from shared.http import DbSession, require
from shared.idempotency import IdempotencyKey, idempotent
from shared.openapi import problems
from shared.pagination import Page, PageParams, page_params, paginate
from shared.permissions import EMULATION_APPRAISE, EMULATION_READ, EMULATION_WRITE
from shared.principal import Principal

__all__ = ["Board", "DbSession", "Hierarchy", "IdempotencyKey", "IfMatch", "Page", "Paging", "Reader", "UnitQuery",
           "UpReader", "Writer", "Year", "check_if_match", "created", "idempotent", "paginate", "problems", "set_etag"]

Reader = Annotated[Principal, Depends(require(EMULATION_READ))]
# A commune reads the movement its province launched: reads may name the units above the caller's.
UpReader = Annotated[Principal, Depends(require(EMULATION_READ, ancestors_ok=True))]
Writer = Annotated[Principal, Depends(require(EMULATION_WRITE))]
Board = Annotated[Principal, Depends(require(EMULATION_APPRAISE))]
Paging = Annotated[PageParams, Depends(page_params)]
Year = Annotated[int | None, Query(ge=2000, le=2100)]
UnitQuery = Annotated[UnitCode | None, Query()]
IfMatch = Annotated[str | None, Header(description="The ETag last read (required)")]


def created(model: Any, location: str, version: int | None = None) -> JSONResponse:
    """201 with the new row, its Location and (for a versioned row) its ETag."""
    headers = {"Location": location}
    if version is not None:
        headers["ETag"] = f'"{version}"'
    return JSONResponse(model.model_dump(mode="json"), status_code=201, headers=headers)
