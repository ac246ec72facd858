"""The fund ledger as the API reads and answers it. Amounts are integer VND, strictly positive in
requests (a spend is a positive amount going out); entries answer them signed."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.support.funds.rules import DONOR_KINDS
from shared.text import TEXT, NoteText, PlainText

Amount = Annotated[int, Field(gt=0, le=10**14, description="integer VND, more than 0")]
Day = Annotated[date, Field(ge=date(2000, 1, 1))]
Receipt = Annotated[str, Field(min_length=1, max_length=60), TEXT]


class FundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit: str = Field(pattern=r"^[0-9]{2,5}$", description="code of the province, district or commune")
    hierarchy: str | None = Field(None, pattern="^v(2008|2025)$")
    name: PlainText | None = Field(None, description='default: Quỹ "Vì người nghèo" + the unit')


class DonationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount_vnd: Amount
    occurred_on: Day
    donor_name: PlainText
    donor_kind: Literal[DONOR_KINDS] = "other"  # type: ignore[valid-type]
    campaign_year: int | None = Field(None, ge=2000, le=2100)
    receipt_number: Receipt | None = None
    note: NoteText | None = None


class SpendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount_vnd: Amount
    occurred_on: Day
    purpose: Annotated[str, Field(min_length=3, max_length=500), TEXT]
    delivery_id: UUID | None = Field(None, description="the delivery this money paid (in the fund's unit or below)")
    programme: Annotated[str, Field(pattern=r"^[a-z0-9_]{2,60}$")] | None = None
    note: NoteText | None = None


class RefundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    spend_entry_id: UUID = Field(description="the spend of this fund whose money comes back")
    amount_vnd: Amount = Field(description="integer VND, at most what of the spend has not come back yet")
    occurred_on: Day
    reason: Annotated[str, Field(min_length=3, max_length=500), TEXT]
    receipt_number: Receipt | None = None
    note: NoteText | None = None


class ReversalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(min_length=3, max_length=500), TEXT] = Field(
        description="why the entry is cancelled (a mistyped amount, a donation recorded twice...)")
    occurred_on: Day | None = Field(None, description="the reversal's date: not before the entry's, not in the "
                                                      "future; default the entry's own date (the mistake never "
                                                      "happened)")
    note: NoteText | None = None


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount_vnd: Amount
    occurred_on: Day
    to_fund_id: UUID = Field(description="the fund of a unit below this fund's unit")
    note: NoteText | None = None


class FundOut(BaseModel):
    id: UUID
    unit_code: str
    unit_path: str
    level: str
    name: str
    balance_vnd: int
    version: int


class EntryOut(BaseModel):
    id: UUID
    fund_id: UUID
    kind: str
    amount_vnd: int
    balance_after: int
    occurred_on: date
    campaign_year: int | None
    donor_name: str | None
    donor_kind: str | None
    receipt_number: str | None
    purpose: str | None
    delivery_id: UUID | None
    programme: str | None
    counterpart_fund_id: UUID | None
    counterpart_entry_id: UUID | None = Field(description="a transfer's other ledger line; the spend a refund "
                                                           "gives back; the entry a reversal cancels")
    reversed_by: UUID | None = Field(None, description="the reversal entry that cancelled this entry (null: stands)")
    note: str | None
    recorded_by: str | None
    recorded_at: datetime


class StatementOut(BaseModel):
    fund: FundOut
    date_from: date = Field(serialization_alias="from")
    date_to: date = Field(serialization_alias="to")
    opening_vnd: int
    in_vnd: int
    out_vnd: int
    closing_vnd: int
    opening_million_vnd: str
    in_million_vnd: str
    out_million_vnd: str
    closing_million_vnd: str
    entries: list[EntryOut]
