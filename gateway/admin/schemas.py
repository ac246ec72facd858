"""What the admin API's resources share: scope units as it reads and shows them, and its paging."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from shared.pagination import MAX_OFFSET, PageParams


class ScopeIn(BaseModel):
    hierarchy: Literal["v2008", "v2025"] = Field(description="v2008: before the July 2025 reform; v2025: after")
    code: str | None = Field(default=None, description="Unit code; empty for the whole hierarchy (national)")


class ScopeOut(BaseModel):
    hierarchy: str
    code: str
    path: str
    level: str


def admin_page_params(
    limit: int = Query(50, ge=1, le=500, description="Items per page"),
    offset: int = Query(0, ge=0, le=MAX_OFFSET, description="Items to skip"),
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


AdminPaging = Annotated[PageParams, Depends(admin_page_params)]
