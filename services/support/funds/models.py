"""The "Vì người nghèo" fund ledger: one fund per unit, its balance, and its entries.

`funds.balance_vnd` is the running balance (CHECK >= 0 in the database too); every entry is a
signed line (+ in, - out) with the balance after it, so a statement is a sum and the balance always
equals the sum of the entries. `balance_after` is the fund's balance right after the entry was
RECORDED (recording order): an entry dated before others already recorded (a backdated spend) shows
the balance then, not a day's balance — the statement's opening and closing are the dated figures.
`funds.latest_on` is the date of the fund's latest entry: money going out dated before it is checked
against the balance of every day from its date on (services/support/funds/rules.py `lowest_from`).

Entries never change, except `reversed_by`, set once when a reversal entry cancels the entry.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import BigInteger, Date, DateTime, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from services.support.db import CODE, Base
from shared.db import Scoped
from shared.events import uuid7


class Fund(Scoped, Base):
    __tablename__ = "funds"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    unit_code: Mapped[str] = mapped_column(String(12))
    level: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(200))
    balance_vnd: Mapped[int] = mapped_column(BigInteger, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)
    latest_on: Mapped[date | None] = mapped_column(Date)  # the latest entry's date (migration support_0009)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class FundEntry(Scoped, Base):
    __tablename__ = "fund_entries"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    fund_id: Mapped[UUID] = mapped_column()  # indexed with occurred_on (migration support_0002)
    kind: Mapped[str] = mapped_column(String(16))  # donation | spend | transfer_out | transfer_in | refund | reversal
    amount_vnd: Mapped[int] = mapped_column(BigInteger)  # signed: + into the fund, - out of it
    balance_after: Mapped[int] = mapped_column(BigInteger)
    occurred_on: Mapped[date] = mapped_column(Date)
    campaign_year: Mapped[int | None] = mapped_column(Integer)
    donor_name: Mapped[str | None] = mapped_column(String(200))
    donor_kind: Mapped[str | None] = mapped_column(String(20))
    receipt_number: Mapped[str | None] = mapped_column(String(60))
    purpose: Mapped[str | None] = mapped_column(Text)
    delivery_id: Mapped[UUID | None] = mapped_column()
    programme: Mapped[str | None] = mapped_column(CODE)
    counterpart_fund_id: Mapped[UUID | None] = mapped_column()
    counterpart_entry_id: Mapped[UUID | None] = mapped_column()  # a transfer's other line; a refund's spend;
    # the entry a reversal cancels
    reversed_by: Mapped[UUID | None] = mapped_column(default=None)  # the reversal entry that cancelled this one
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str | None] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
