"""Queries of import jobs and their rejected rows (through the caller's scoped session)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.imports.models import ImportJob, ImportProblem
from shared.errors import not_found


def jobs_query(status: str | None) -> Select[Any]:
    """The jobs in the caller's scope, newest first."""
    query = select(ImportJob)
    if status:
        query = query.where(ImportJob.status == status)
    return query.order_by(ImportJob.created_at.desc(), ImportJob.id.desc())


async def load_job(session: AsyncSession, job_id: UUID) -> ImportJob:
    job = await session.scalar(select(ImportJob).where(ImportJob.id == job_id))
    if job is None:
        raise not_found("import job", job_id)
    return job


async def problems_of(session: AsyncSession, job_id: UUID, limit: int, offset: int) -> Sequence[ImportProblem]:
    return (await session.scalars(select(ImportProblem).where(ImportProblem.job_id == job_id)
                                  .order_by(ImportProblem.seq).limit(limit).offset(offset))).all()
