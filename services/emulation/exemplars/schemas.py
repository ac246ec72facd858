"""Requests and answers of exemplary models."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.emulation.movements.schemas import Day, DocNumber, Hierarchy, UnitCode
from shared.text import TEXT, NoteText, PlainText

ExemplarKind = Literal["model", "initiative", "person", "household", "collective"]


class ExemplarIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit: UnitCode = Field(description="The unit the model belongs to")
    hierarchy: Hierarchy | None = None
    movement_id: UUID | None = None
    kind: ExemplarKind
    name: PlainText
    summary: Annotated[NoteText, Field(min_length=1)]
    evidence: list[Annotated[str, Field(min_length=1, max_length=500), TEXT]] = Field(default=[], max_length=20)
    recognised_by: PlainText = Field(description="Who recognised it (e.g. UBND phường Ngô Quyền)")
    recognised_on: Day
    document_number: DocNumber | None = None


class Withdrawal(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[NoteText, Field(min_length=1)]


class ExemplarOut(BaseModel):
    id: UUID
    unit_path: str
    movement_id: UUID | None
    kind: str
    kind_name: str
    name: str
    summary: str
    evidence: list[Any]
    recognised_by: str
    recognised_on: date
    document_number: str | None
    withdrawn: bool
