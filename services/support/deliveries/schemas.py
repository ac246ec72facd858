"""Deliveries as the API reads and answers them. Money is integer VND; quantities are exact decimals
(sent as numbers or strings, answered as strings); text people type goes through shared.text."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.text import TEXT, NoteText, PlainText

Code = Annotated[str, Field(pattern=r"^[a-z0-9_]{2,60}$")]
Vnd = Annotated[int, Field(ge=0, le=10**14, description="integer VND")]
Count = Annotated[int, Field(ge=0, le=10_000_000)]
DocumentRef = Annotated[str, Field(min_length=1, max_length=100), TEXT]
Day = Annotated[date, Field(ge=date(2000, 1, 1))]


class Quantity(BaseModel):
    model_config = ConfigDict(extra="forbid")
    measure: Code = Field(description="a measure the programme uses (kg, card, house, ...)")
    quantity: Decimal = Field(gt=0, max_digits=16, decimal_places=3)


class FundingPart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: Code
    amount_vnd: Vnd


class _Common(BaseModel):
    model_config = ConfigDict(extra="forbid")
    programme: Code
    delivered_on: Day
    quantities: list[Quantity] = Field([], max_length=20)
    amount_vnd: Vnd = 0
    funding: list[FundingPart] = Field([], max_length=20, description="the sources that paid; the parts add up "
                                                                       "to amount_vnd")
    body: Code = Field(description="the delivering body (catalogue `body`)")
    body_detail: PlainText | None = Field(None, description="e.g. the enterprise's name")
    note: NoteText | None = None
    document_ref: DocumentRef | None = None


class HouseholdDeliveryIn(_Common):
    household_id: UUID
    member_ids: list[UUID] = Field([], max_length=50, description="the members it was for, when it names them")
    persons: Count | None = None
    turns: Count | None = None
    sponsorship_id: UUID | None = Field(None, description="the sponsorship it was delivered under")
    override_reason: Annotated[str, Field(min_length=3, max_length=1000), TEXT] | None = Field(
        None, description="records a delivery the programme's eligibility rule refuses (needs "
                          "support.eligibility.override); the delivery is flagged as an exception")


class AggregateDeliveryIn(_Common):
    unit: str = Field(pattern=r"^[0-9]{2,5}$", description="code of the unit where it was delivered")
    hierarchy: str | None = Field(None, pattern="^v(2008|2025)$")
    period_from: Day | None = None
    households: Count = 0
    persons: Count | None = None
    turns: Count | None = None


class DeliveryPatch(BaseModel):
    """The fields to change (the others stay); the whole delivery is checked again."""

    model_config = ConfigDict(extra="forbid")
    programme: Code | None = None
    delivered_on: Day | None = None
    period_from: Day | None = None
    quantities: list[Quantity] | None = Field(None, max_length=20)
    amount_vnd: Vnd | None = None
    funding: list[FundingPart] | None = Field(None, max_length=20)
    body: Code | None = None
    body_detail: PlainText | None = None
    note: NoteText | None = None
    document_ref: DocumentRef | None = None
    households: Count | None = None
    persons: Count | None = None
    turns: Count | None = None
    member_ids: list[UUID] | None = Field(None, max_length=50)
    reason: Annotated[str, Field(max_length=1000), TEXT] | None = Field(None, description="why (kept in the history)")
    override_reason: Annotated[str, Field(min_length=3, max_length=1000), TEXT] | None = Field(
        None, description="keeps a correction the programme's eligibility rule refuses (a new programme or day; "
                          "needs support.eligibility.override): the delivery is flagged as an exception")


class VoidIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(min_length=3, max_length=1000), TEXT]


class QuantityOut(BaseModel):
    measure: str
    quantity: str


class FundingOut(BaseModel):
    source: str
    amount_vnd: int


class DeliveryOut(BaseModel):
    id: UUID
    kind: str
    status: str
    unit_code: str
    unit_path: str
    programme: str
    delivered_on: date
    period_from: date | None
    year: int
    household_id: UUID | None
    member_ids: list[str]
    households: int
    persons: int | None
    turns: int | None
    quantities: list[QuantityOut]
    amount_vnd: int
    amount_million_vnd: str
    funding: list[FundingOut]
    body: str
    body_detail: str | None
    note: str | None
    document_ref: str | None
    household_status: str | None
    eligibility_exception: bool
    eligibility_rule: str | None
    override_reason: str | None
    sponsorship_id: UUID | None
    import_job_id: UUID | None
    void_reason: str | None
    version: int
    recorded_at: datetime
    recorded_by: str | None
    updated_at: datetime
