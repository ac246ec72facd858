"""Requests and answers of movements, documents and activities."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.text import TEXT, NoteText, PlainText

UnitCode = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[0-9A-Za-z]+$")]
Hierarchy = Literal["v2008", "v2025"]
DocType = Literal["directive", "plan", "decision", "official_letter", "conclusion", "guidance"]
ActivityKindCode = Literal["broadcast", "news", "portal", "tv_report", "leaflet", "propaganda_session",
                           "conference", "training", "inspection"]
PhaseKind = Literal["launch", "midterm_review", "final_review", "other"]
DocNumber = Annotated[str, Field(min_length=3, max_length=60), TEXT]
Day = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))]


class Phase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: PhaseKind
    name: PlainText | None = None
    starts_on: Day | None = None
    ends_on: Day | None = None
    held_on: Day | None = None


class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit: UnitCode = Field(description="The issuing unit's code")
    hierarchy: Hierarchy | None = None
    doc_type: DocType
    number: DocNumber = Field(description="Number and symbol, e.g. 108/KH-UBND")
    issued_on: Day
    issuing_body: PlainText
    summary: Annotated[str, Field(min_length=1, max_length=2000), TEXT]
    signer: PlainText | None = None


class LaunchingDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")
    doc_type: DocType
    number: DocNumber
    issued_on: Day
    summary: Annotated[str, Field(min_length=1, max_length=2000), TEXT]
    signer: PlainText | None = None


class MovementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit: UnitCode = Field(description="The launching unit's code")
    hierarchy: Hierarchy | None = None
    name: Annotated[str, Field(min_length=1, max_length=400), TEXT]
    issuing_body: PlainText
    starts_on: Day
    ends_on: Day
    description: NoteText = ""
    objectives: list[Annotated[str, Field(min_length=1, max_length=1000), TEXT]] = Field(default=[], max_length=50)
    phases: list[Phase] = Field(default=[], max_length=20)
    document: LaunchingDocument | None = Field(None, description="The document that launched it")


class MovementEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=400), TEXT] | None = None
    description: NoteText | None = None
    ends_on: Day | None = None
    objectives: list[Annotated[str, Field(min_length=1, max_length=1000), TEXT]] | None = Field(None, max_length=50)
    phases: list[Phase] | None = Field(None, max_length=20)


class MovementOut(BaseModel):
    id: UUID
    unit_path: str
    name: str
    level: str
    issuing_body: str
    starts_on: date
    ends_on: date
    description: str
    objectives: list[Any]
    phases: list[Any]
    version: int
    created_at: datetime


class DocumentOut(BaseModel):
    id: UUID
    movement_id: UUID
    unit_path: str
    doc_type: str
    doc_type_name: str
    number: str
    issued_on: date
    issuing_body: str
    summary: str
    signer: str | None
    launches_movement: bool


class ActivityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit: UnitCode
    hierarchy: Hierarchy | None = None
    kind: ActivityKindCode
    held_on: Day
    count: int = Field(ge=1, le=1_000_000, description="How many (broadcasts, news items, sessions, ...)")
    participants: int | None = Field(None, ge=1, le=10_000_000)
    title: PlainText | None = None


class ActivityOut(BaseModel):
    id: UUID
    movement_id: UUID
    unit_path: str
    kind: str
    kind_name: str
    measure: str
    held_on: date
    year: int
    count: int
    participants: int | None
    title: str
    removed: bool
