"""Paging: the parameters, the list envelope {"items": [...], "total": N, "limit": L, "offset": O},
and `paginate()`, the one count-then-page every list endpoint uses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")
MAX_OFFSET = 2**31 - 1  # beyond any table here; larger numbers would overflow the database's bigint


class PageParams(BaseModel):
    limit: int
    offset: int


def page_params(
    limit: int = Query(50, ge=1, le=1000, description="Items per page"),
    offset: int = Query(0, ge=0, le=MAX_OFFSET, description="Items to skip"),
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


async def paginate(session: AsyncSession, query: Select[Any], paging: PageParams,
                   to_item: Callable[[Any], T]) -> Page[T]:
    """One page of `query` (which carries its own ORDER BY) and the count of all its rows.

    `to_item` turns each result into an answer item: it gets the entity itself when the query selects
    one thing (`select(Household)`), the whole row otherwise. The count runs on the query without its
    ORDER BY. Queries go through the caller's session, so the scope filter applies to both."""
    total = await count(session, query)
    paged = query.limit(paging.limit).offset(paging.offset)
    if len(query.column_descriptions) == 1:
        results: list[Any] = list((await session.scalars(paged)).all())
    else:
        results = list((await session.execute(paged)).all())
    return Page[T](items=[to_item(r) for r in results], total=total, limit=paging.limit, offset=paging.offset)


async def count(session: AsyncSession, query: Select[Any]) -> int:
    """How many rows `query` answers (without its ORDER BY). The count keeps the query's execution
    options (a query that applies the scope itself says so)."""
    counting = select(func.count()).select_from(query.order_by(None).subquery())
    return await session.scalar(counting.execution_options(**query.get_execution_options())) or 0


async def batches(session: AsyncSession, query: Select[Any], size: int) -> AsyncIterator[list[Any]]:
    """Every row of `query`, `size` at a time, through a server-side cursor of `session` (its scope
    filter applies): the entity itself when the query selects one thing, the whole row otherwise (as
    `paginate`)."""
    result = await session.stream(query.execution_options(yield_per=size))
    rows = result.scalars() if len(query.column_descriptions) == 1 else result
    async for part in rows.partitions(size):
        yield list(part)
