"""Projections of the support service's events: deliveries and their totals, the fund ledger,
sponsorships, body activities, the catalogue names.

Revision ID: reporting_0003
Revises: reporting_0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "reporting_0003"
down_revision = "reporting_0002"
branch_labels = None
depends_on = None


def path_column(name: str, **kw: object) -> sa.Column:
    # "C" collation: the subtree range (path > 'p.' AND path < 'p/') uses the plain btree index.
    return sa.Column(name, sa.String(160, collation="C"), **kw)


def key_column(name: str, **kw: object) -> sa.Column:
    return sa.Column(name, sa.Text(collation="C"), **kw)


def upgrade() -> None:
    op.create_table(
        "rp_support_deliveries",
        key_column("delivery_id", primary_key=True),
        path_column("unit_path", nullable=False),
        sa.Column("year", sa.SmallInteger, nullable=False),
        sa.Column("delivered_on", sa.Date, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        key_column("programme", nullable=False),
        sa.Column("programme_category", sa.Text, nullable=False, server_default=""),
        key_column("body", nullable=False),
        sa.Column("body_kind", sa.Text, nullable=False, server_default=""),
        sa.Column("body_detail", sa.Text),
        sa.Column("households", sa.Integer, nullable=False, server_default="0"),
        sa.Column("persons", sa.Integer),
        sa.Column("turns", sa.Integer),
        sa.Column("amount_vnd", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("funding", JSONB, nullable=False),
        sa.Column("quantities", JSONB, nullable=False),
        sa.Column("household_id", sa.Text),
        sa.Column("household_status", sa.Text),
        sa.Column("sponsorship_id", sa.Text),
        sa.Column("import_job_id", sa.Text),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_rp_support_deliveries_path_date", "rp_support_deliveries", ["unit_path", "delivered_on"])
    # Totals per unit (where the delivery happened), year, programme and body; counts belong to the
    # delivery, money to its funding sources, quantities to their measures.
    def totals_key() -> list[sa.Column]:
        return [path_column("unit_path", primary_key=True), sa.Column("year", sa.SmallInteger, primary_key=True),
                key_column("programme", primary_key=True), key_column("body", primary_key=True)]

    op.create_table(
        "rp_support_totals",
        *totals_key(),
        *(sa.Column(c, sa.BigInteger, nullable=False, server_default="0")
          for c in ("deliveries", "households", "persons", "turns", "amount_vnd")),
    )
    op.create_table(
        "rp_support_funding",
        *totals_key(),
        key_column("source", primary_key=True),
        sa.Column("amount_vnd", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_table(
        "rp_support_quantities",
        *totals_key(),
        key_column("measure", primary_key=True),
        sa.Column("quantity", sa.Numeric, nullable=False, server_default="0"),
    )
    op.create_table(
        "rp_support_catalogue",
        key_column("catalogue", primary_key=True),
        key_column("code", primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("fields", JSONB, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "rp_fund_entries",
        key_column("entry_id", primary_key=True),
        key_column("fund_id", nullable=False),
        path_column("unit_path", nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("amount_vnd", sa.BigInteger, nullable=False),  # signed: + into the fund, - out of it
        sa.Column("occurred_on", sa.Date, nullable=False),
        sa.Column("year", sa.SmallInteger, nullable=False),
        sa.Column("campaign_year", sa.SmallInteger),
        sa.Column("donor_name", sa.Text),
        sa.Column("donor_kind", sa.Text),
        sa.Column("receipt_number", sa.Text),
        sa.Column("purpose", sa.Text),
        sa.Column("delivery_id", sa.Text),
        sa.Column("programme", sa.Text),
        sa.Column("counterpart_fund_id", sa.Text),
        path_column("counterpart_unit_path"),
        sa.Column("note", sa.Text),
    )
    op.create_index("ix_rp_fund_entries_path_date", "rp_fund_entries", ["unit_path", "occurred_on"])
    op.create_table(
        "rp_sponsorships",
        key_column("sponsorship_id", primary_key=True),
        path_column("unit_path", nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("helper_kind", sa.Text),
        sa.Column("helper_name", sa.Text),
        sa.Column("helpers", sa.Integer),
        sa.Column("body", sa.Text),
        sa.Column("households", sa.Integer, nullable=False, server_default="0"),
        sa.Column("started_on", sa.Date),
        sa.Column("ends_on", sa.Date),
        sa.Column("ended_on", sa.Date),
        sa.Column("commitment", JSONB),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_rp_sponsorships_path", "rp_sponsorships", ["unit_path"])
    op.create_table(
        "rp_support_activities",
        key_column("activity_id", primary_key=True),
        path_column("unit_path", nullable=False),
        sa.Column("body", sa.Text),
        sa.Column("body_kind", sa.Text),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("period_from", sa.Date),
        sa.Column("period_to", sa.Date),
        sa.Column("year", sa.SmallInteger, nullable=False),
        sa.Column("measures", JSONB, nullable=False),
        sa.Column("amount_vnd", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_rp_support_activities_path_year", "rp_support_activities", ["unit_path", "year"])


def downgrade() -> None:
    for table in ("rp_support_activities", "rp_sponsorships", "rp_fund_entries", "rp_support_catalogue",
                  "rp_support_quantities", "rp_support_funding", "rp_support_totals", "rp_support_deliveries"):
        op.drop_table(table)
