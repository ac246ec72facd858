"""Requests and answers of targets and registrations."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.emulation.movements.schemas import Hierarchy, UnitCode
from shared.text import NoteText, PlainText

IndicatorCode = Literal["poor_rate_reduction", "near_poor_rate_reduction", "households_escaping_poverty",
                        "temporary_houses_removed", "fund_raised", "support_delivered", "propaganda_sessions"]
RegistrantKind = Literal["unit", "body", "enterprise", "household", "individual"]
TargetValue = Annotated[Decimal, Field(ge=0, le=Decimal("1e15"), max_digits=20, decimal_places=4)]
YearField = Annotated[int, Field(ge=2000, le=2100)]


class ChildTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit: UnitCode
    value: TargetValue


class TargetsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit: UnitCode = Field(description="The unit setting or handing down the targets")
    hierarchy: Hierarchy | None = None
    year: YearField
    indicator: IndicatorCode
    value: TargetValue | None = Field(None, description="The unit's own target (the movement's own unit only)")
    children: list[ChildTarget] = Field(default=[], max_length=1000,
                                        description="Targets handed to the units directly below")


class TargetOut(BaseModel):
    id: UUID
    movement_id: UUID
    unit_path: str
    year: int
    indicator: str
    measure_unit: str
    value: Decimal
    parent_path: str | None
    parent_value: Decimal | None
    version: int


class TargetsAnswer(BaseModel):
    unit_path: str
    value: Decimal | None
    covered: Decimal | None
    targets: list[TargetOut]


class RegistrationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit: UnitCode = Field(description="The unit the registrant belongs to")
    hierarchy: Hierarchy | None = None
    year: YearField
    registrant_kind: RegistrantKind
    registrant_name: PlainText
    household_id: UUID | None = Field(None, description="A registry household (registrant_kind household)")
    title_sought: Annotated[str, Field(min_length=2, max_length=40, pattern=r"^[a-z_]+$")]
    commitment: Annotated[NoteText, Field(min_length=1, description="What they commit to")]


class RegistrationStatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["achieved", "not_achieved", "withdrawn"]
    note: NoteText | None = None


class RegistrationOut(BaseModel):
    id: UUID
    movement_id: UUID
    unit_path: str
    year: int
    registrant_kind: str
    registrant_name: str
    household_id: str | None
    title_sought: str
    commitment: str
    status: str
    version: int
    created_at: datetime
