"""Sponsorships as the API reads and answers them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.support.sponsorships.rules import HELPER_KINDS, KINDS, PER
from shared.text import TEXT, NoteText, PlainText

Code = Annotated[str, Field(pattern=r"^[a-z0-9_]{2,60}$")]


class CommitmentLine(BaseModel):
    model_config = ConfigDict(extra="forbid")
    measure: Code = Field(description="a catalogue measure (kg, vnd, portion, ...)")
    quantity: Decimal = Field(gt=0, max_digits=16, decimal_places=3)
    per: Literal[PER] = "month"  # type: ignore[valid-type]
    per_household: bool = Field(True, description="true (default): the quantity goes to each household helped "
                                                  "(10 kg a month to each of 2 households: 60 kg over 3 months); "
                                                  "false: once for the whole pairing (30 kg)")


class SponsorshipIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit: str = Field(pattern=r"^[0-9]{2,5}$", description="the unit whose households are helped")
    hierarchy: str | None = Field(None, pattern="^v(2008|2025)$")
    kind: Literal[KINDS]  # type: ignore[valid-type]
    helper_kind: Literal[HELPER_KINDS]  # type: ignore[valid-type]
    helper_name: PlainText
    helpers: int = Field(1, ge=1, le=100_000, description="how many helpers (10 in a '10+1' model)")
    body: Code | None = Field(None, description="the body that organised it, if any")
    household_ids: list[UUID] = Field(min_length=1, max_length=500)
    started_on: date = Field(ge=date(2000, 1, 1))
    ends_on: date | None = None
    commitment: list[CommitmentLine] = Field([], max_length=10)
    note: NoteText | None = None

    @model_validator(mode="after")
    def _period(self) -> SponsorshipIn:
        if self.ends_on is not None and self.ends_on < self.started_on:
            raise ValueError("ends_on is before started_on")
        if len(set(self.household_ids)) != len(self.household_ids):
            raise ValueError("household_ids names a household twice")
        return self


class EndIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ended_on: date
    reason: Annotated[str, Field(min_length=3, max_length=1000), TEXT]


class SponsorshipOut(BaseModel):
    id: UUID
    unit_code: str
    unit_path: str
    kind: str
    helper_kind: str
    helper_name: str
    helpers: int
    body: str | None
    household_ids: list[UUID]
    started_on: date
    ends_on: date | None
    ended_on: date | None
    commitment: list[dict[str, Any]]
    status: str
    note: str | None
    end_reason: str | None
    version: int
    created_at: datetime


class Progress(BaseModel):
    until: date = Field(description="due is counted until this day: today, or its end")
    deliveries: int = Field(description="the recorded deliveries linked to it")
    amount_vnd: int
    lines: list[dict[str, Any]] = Field(description="per committed measure: quantity, per, per_household, "
                                                    "households, due, delivered, met")


class ProgressOut(Progress):
    sponsorship: SponsorshipOut


class SponsorshipWithProgress(SponsorshipOut):
    """A pairing in a list, with what it delivered against its commitment."""

    progress: Progress
