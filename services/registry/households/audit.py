"""The personal-data access log for auditors: /registry/audit/access-log (registry.audit.read)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from sqlalchemy import func, select

from services.registry.households.models import AccessLogEntry
from services.registry.households.schemas import AccessLogOut
from shared import permissions
from shared.http import DbSession, require
from shared.pagination import Page, PageParams, page_params
from shared.principal import Principal

router = APIRouter(prefix="/registry/audit", tags=["audit"])
Auditor = Annotated[Principal, Depends(require(permissions.AUDIT_READ))]


@router.get("/access-log", response_model=Page[AccessLogOut],
            summary="Who read which household's personal data, when and why (newest first)")
async def access_log(
    principal: Auditor, session: DbSession, paging: Annotated[PageParams, Depends(page_params)],
    household_id: UUID | None = None,
    principal_id: Annotated[str | None, Query(description="the reader")] = None,
    unmasked: bool | None = None,
    since: Annotated[datetime | None, Query(description="from this instant (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="before this instant (ISO 8601)")] = None,
) -> Page[AccessLogOut]:
    query = select(AccessLogEntry)
    if household_id is not None:
        query = query.where(AccessLogEntry.household_id == household_id)
    if principal_id:
        query = query.where(AccessLogEntry.principal_id == principal_id)
    if unmasked is not None:
        query = query.where(AccessLogEntry.unmasked.is_(unmasked))
    if since is not None:
        query = query.where(AccessLogEntry.at >= since)
    if until is not None:
        query = query.where(AccessLogEntry.at < until)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(query.order_by(AccessLogEntry.at.desc(), AccessLogEntry.id.desc())
                                 .limit(paging.limit).offset(paging.offset))
    return Page[AccessLogOut](items=[AccessLogOut.model_validate(r, from_attributes=True) for r in rows],
                              total=total, limit=paging.limit, offset=paging.offset)
