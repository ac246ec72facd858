"""Requests and answers of nominations, quotas, the award book and certificates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.emulation.movements.schemas import Day, DocNumber, Hierarchy, UnitCode
from shared.text import NoteText, PlainText

FormCode = Annotated[str, Field(min_length=2, max_length=40, pattern=r"^[a-z_]+$")]
DossierKind = Literal["submission", "achievement_report", "meeting_minutes"]
YearField = Annotated[int, Field(ge=2000, le=2100)]


class Nominee(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["collective", "individual", "household"]
    name: PlainText = Field(description="The collective's, person's or household's name")
    role: PlainText | None = Field(None, description="An individual's position")
    unit_code: UnitCode | None = Field(None, description="A collective that is a unit: its code")
    household_id: UUID | None = Field(None, description="A household: its registry id")


class DossierItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: DossierKind
    number: DocNumber | None = None
    issued_on: Day | None = None
    title: PlainText


class NominationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit: UnitCode = Field(description="The nominating unit")
    hierarchy: Hierarchy | None = None
    movement_id: UUID | None = None
    year: YearField
    form: FormCode
    nominee: Nominee
    achievements: Annotated[NoteText, Field(min_length=1)]
    dossier: list[DossierItem] = Field(default=[], max_length=20)


class NominationEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    achievements: Annotated[NoteText, Field(min_length=1)] | None = None
    dossier: list[DossierItem] | None = Field(None, max_length=20)


class Comment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: Annotated[NoteText, Field(min_length=1)]


class Vote(BaseModel):
    model_config = ConfigDict(extra="forbid")
    votes_for: int = Field(ge=0, le=1000)
    votes_against: int = Field(ge=0, le=1000)
    voted_on: Day


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision_number: DocNumber
    decision_date: Day
    signer: PlainText


class Revocation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[NoteText, Field(min_length=1)]
    decision_number: DocNumber
    decision_date: Day
    recovered_amount: int | None = Field(None, ge=0, le=10**12)


class NominationOut(BaseModel):
    id: UUID
    unit_path: str
    movement_id: UUID | None
    year: int
    form: str
    form_name: str
    nominee_kind: str
    nominee_name: str
    nominee_role: str | None
    nominee_unit_path: str | None
    household_id: str | None
    achievements: str
    dossier: list[Any]
    state: str
    handler_path: str
    awarding_path: str
    comment: str | None
    votes_for: int | None
    votes_against: int | None
    voted_on: date | None
    submitted_on: date | None
    history: list[Any]
    version: int
    award_id: UUID | None = None


class QuotaIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit: UnitCode = Field(description="The unit the quota is given to (a unit directly below yours)")
    hierarchy: Hierarchy | None = None
    form: FormCode
    year: YearField
    quota: int = Field(ge=0, le=100_000)


class QuotaOut(BaseModel):
    id: UUID
    unit_path: str
    form: str
    year: int
    quota: int
    used: int
    set_by_path: str


class AwardOut(BaseModel):
    id: UUID
    nomination_id: UUID
    unit_path: str
    movement_id: UUID | None
    year: int
    form: str
    form_name: str
    category: str
    nominee_kind: str
    nominee_name: str
    decision_number: str
    decision_date: date
    signer: str
    awarding_path: str
    awarding_level: str
    awarding_authority: str
    prize_multiplier: Decimal | None
    base_salary: int | None
    prize_amount: int | None
    certificate_number: str
    revoked_on: date | None
    revocation: dict[str, Any] | None


class CertificateOut(BaseModel):
    certificate_number: str
    form_name: str
    nominee_name: str
    nominee_kind: str
    year: int
    decision_number: str
    decision_date: date
    awarding_authority: str
    signer: str
    valid: bool
