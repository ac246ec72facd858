"""Body activities as the API reads and answers them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.text import TEXT, NoteText, PlainText

Code = Annotated[str, Field(pattern=r"^[a-z0-9_]{2,60}$")]


class Measure(BaseModel):
    model_config = ConfigDict(extra="forbid")
    measure: Code
    quantity: Decimal = Field(ge=0, max_digits=16, decimal_places=3)


class ActivityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit: str = Field(pattern=r"^[0-9]{2,5}$", description="the unit where the body worked")
    hierarchy: str | None = Field(None, pattern="^v(2008|2025)$")
    body: Code
    body_detail: PlainText | None = None
    kind: Code = Field(description="an activity kind of the catalogue (training, scrap_collection, model_10_1, ...)")
    title: Annotated[str, Field(min_length=1, max_length=300), TEXT]
    period_from: date = Field(ge=date(2000, 1, 1))
    period_to: date
    measures: list[Measure] = Field(min_length=1, max_length=20, description="the counted measures, in the "
                                                                              "kind's measures")
    amount_vnd: int = Field(0, ge=0, le=10**14, description="money raised or spent, integer VND")
    note: NoteText | None = None

    @model_validator(mode="after")
    def _period(self) -> ActivityIn:
        if self.period_to < self.period_from:
            raise ValueError("period_to is before period_from")
        return self


class VoidIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(min_length=3, max_length=1000), TEXT]


class ActivityOut(BaseModel):
    id: UUID
    unit_code: str
    unit_path: str
    body: str
    body_detail: str | None
    kind: str
    title: str
    period_from: date
    period_to: date
    year: int
    measures: list[dict[str, Any]]
    amount_vnd: int
    status: str
    note: str | None
    void_reason: str | None
    version: int
    recorded_at: datetime
