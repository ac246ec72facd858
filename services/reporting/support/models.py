"""The support read models: deliveries and their totals, the fund ledger, sponsorships, body
activities and the catalogue's names, as the support service's events describe them.

Written only by `projection.py` (set-based SQL), so described as tables (the migration
`reporting_0003` creates them). Money is integer VND; quantities are numeric.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, Integer, Numeric, SmallInteger, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

from services.reporting.db import PATH, Base

KEY = Text(collation="C")

deliveries = Table(
    "rp_support_deliveries", Base.metadata,
    Column("delivery_id", KEY, primary_key=True),
    Column("unit_path", PATH, nullable=False),
    Column("year", SmallInteger, nullable=False),
    Column("delivered_on", Date, nullable=False),
    Column("kind", Text, nullable=False),
    Column("status", Text, nullable=False),  # recorded | voided (a voided delivery counts nowhere)
    Column("programme", KEY, nullable=False),
    Column("programme_category", Text, nullable=False),
    Column("body", KEY, nullable=False),
    Column("body_kind", Text, nullable=False),
    Column("body_detail", Text),
    Column("households", Integer, nullable=False),
    Column("persons", Integer),
    Column("turns", Integer),
    Column("amount_vnd", BigInteger, nullable=False),
    Column("funding", JSONB, nullable=False),  # [{source, source_kind, source_level, amount_vnd}]
    Column("quantities", JSONB, nullable=False),  # [{measure, quantity}]
    Column("household_id", Text),
    Column("household_status", Text),
    Column("sponsorship_id", Text),
    Column("import_job_id", Text),
    Column("version", BigInteger, nullable=False),
)


# The totals are kept per unit for its whole subtree: a delivery counts at the unit where it happened and
# at every unit above it (migration reporting_0006).
def _totals_key() -> list[Column[object]]:
    return [Column("unit_path", PATH, primary_key=True), Column("year", SmallInteger, primary_key=True),
            Column("programme", KEY, primary_key=True), Column("body", KEY, primary_key=True)]


totals = Table(
    "rp_support_totals", Base.metadata, *_totals_key(),
    *(Column(name, BigInteger, nullable=False) for name in ("deliveries", "households", "persons", "turns",
                                                            "amount_vnd")),
)
funding = Table("rp_support_funding", Base.metadata, *_totals_key(), Column("source", KEY, primary_key=True),
                Column("amount_vnd", BigInteger, nullable=False))
quantities = Table("rp_support_quantities", Base.metadata, *_totals_key(), Column("measure", KEY, primary_key=True),
                   Column("quantity", Numeric, nullable=False))

catalogue = Table(
    "rp_support_catalogue", Base.metadata,
    Column("catalogue", KEY, primary_key=True),  # programme | funding_source | body | measure | activity_kind
    Column("code", KEY, primary_key=True),
    Column("name", Text, nullable=False),
    Column("fields", JSONB, nullable=False),
    Column("version", BigInteger, nullable=False),
)

fund_entries = Table(
    "rp_fund_entries", Base.metadata,
    Column("entry_id", KEY, primary_key=True),
    Column("fund_id", KEY, nullable=False),
    Column("unit_path", PATH, nullable=False),
    Column("kind", Text, nullable=False),  # donation | refund | spend | transfer_out | transfer_in
    Column("amount_vnd", BigInteger, nullable=False),  # signed: + into the fund, - out of it
    Column("occurred_on", Date, nullable=False),
    Column("year", SmallInteger, nullable=False),
    Column("campaign_year", SmallInteger),
    Column("donor_name", Text),
    Column("donor_kind", Text),
    Column("receipt_number", Text),
    Column("purpose", Text),
    Column("delivery_id", Text),
    Column("programme", Text),
    Column("counterpart_fund_id", Text),
    Column("counterpart_unit_path", PATH),
    Column("note", Text),
)

sponsorships = Table(
    "rp_sponsorships", Base.metadata,
    Column("sponsorship_id", KEY, primary_key=True),
    Column("unit_path", PATH, nullable=False),
    Column("kind", Text, nullable=False),
    Column("helper_kind", Text),
    Column("helper_name", Text),
    Column("helpers", Integer),
    Column("body", Text),
    Column("households", Integer, nullable=False),
    Column("started_on", Date),
    Column("ends_on", Date),
    Column("ended_on", Date),
    Column("commitment", JSONB),
    Column("status", Text, nullable=False),
    Column("version", BigInteger, nullable=False),
)

activities = Table(
    "rp_support_activities", Base.metadata,
    Column("activity_id", KEY, primary_key=True),
    Column("unit_path", PATH, nullable=False),
    Column("body", Text),
    Column("body_kind", Text),
    Column("kind", Text, nullable=False),
    Column("title", Text),
    Column("period_from", Date),
    Column("period_to", Date),
    Column("year", SmallInteger, nullable=False),
    Column("measures", JSONB, nullable=False),
    Column("amount_vnd", BigInteger, nullable=False),
    Column("status", Text, nullable=False),
    Column("version", BigInteger, nullable=False),
)
