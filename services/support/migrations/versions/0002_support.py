"""The catalogue, the eligibility read model (units, households, transitions), deliveries with their
history, and the "Vì người nghèo" funds with their ledger.

Plain columns, client-generated UUIDv7 ids and no triggers, so the bulk import can COPY into them.

Revision ID: support_0002
Revises: support_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "support_0002"
down_revision = "support_0001"
branch_labels = None
depends_on = None

C = "C"


def _path() -> sa.Column:
    return sa.Column("unit_path", sa.String(160, collation=C), nullable=False)


def _code(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(60, collation=C), nullable=nullable)


def _now(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()"))


def _uuid(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, pg.UUID(as_uuid=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "catalogue",
        sa.Column("catalogue", sa.String(20, collation=C), primary_key=True),
        sa.Column("code", sa.String(60, collation=C), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("fields", pg.JSONB, nullable=False, server_default="{}"),
        sa.Column("active", sa.Boolean, nullable=False, server_default="true"),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        _now("updated_at"),
        sa.Column("updated_by", sa.String(100)),
    )
    op.create_table(
        "sp_units",
        sa.Column("path", sa.String(160, collation=C), primary_key=True),
        sa.Column("hierarchy", sa.String(8), nullable=False),
        sa.Column("code", sa.String(12, collation=C), nullable=False),
        sa.Column("level", sa.String(12), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("parent_path", sa.String(160, collation=C)),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_sp_units_code", "sp_units", ["code"])
    op.create_table(
        "sp_households",
        _uuid("id", False),
        _path(),
        sa.Column("household_code", sa.String(40)),
        sa.Column("commune_code", sa.String(12), nullable=False),
        sa.Column("status", sa.String(16)),
        sa.Column("status_year", sa.Integer),
        sa.Column("member_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("removed", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sp_households_unit_path", "sp_households", ["unit_path"])
    op.create_table(
        "sp_household_transitions",
        _uuid("household_id", False),
        sa.Column("review_year", sa.Integer, nullable=False),
        _path(),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("previous_status", sa.String(16)),
        sa.Column("transition", sa.String(24)),
        sa.Column("version", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("household_id", "review_year"),
    )
    op.create_index("ix_sp_household_transitions_unit_path", "sp_household_transitions", ["unit_path"])
    op.create_table(
        "deliveries",
        _uuid("id", False),
        _path(),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("status", sa.String(12), nullable=False, server_default="recorded"),
        sa.Column("unit_code", sa.String(12), nullable=False),
        _code("programme"),
        sa.Column("delivered_on", sa.Date, nullable=False),
        sa.Column("period_from", sa.Date),
        sa.Column("year", sa.Integer, nullable=False),
        _uuid("household_id"),
        sa.Column("member_ids", pg.ARRAY(sa.String(40)), nullable=False, server_default="{}"),
        sa.Column("households", sa.Integer, nullable=False, server_default="1"),
        sa.Column("persons", sa.Integer),
        sa.Column("turns", sa.Integer),
        sa.Column("quantities", pg.JSONB, nullable=False, server_default="[]"),
        sa.Column("amount_vnd", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("funding", pg.JSONB, nullable=False, server_default="[]"),
        _code("body"),
        sa.Column("body_detail", sa.String(200)),
        sa.Column("note", sa.Text),
        sa.Column("document_ref", sa.String(100)),
        sa.Column("household_status", sa.String(16)),
        sa.Column("eligibility_exception", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("eligibility_rule", sa.Text),
        sa.Column("override_reason", sa.Text),
        _uuid("sponsorship_id"),
        _uuid("import_job_id"),
        sa.Column("void_reason", sa.Text),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        _now("recorded_at"),
        sa.Column("recorded_by", sa.String(100)),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.CheckConstraint("amount_vnd >= 0", name="ck_deliveries_amount"),
    )
    op.create_index("ix_deliveries_unit_path", "deliveries", ["unit_path"])
    op.create_index("ix_deliveries_programme", "deliveries", ["programme"])
    op.create_index("ix_deliveries_household_id", "deliveries", ["household_id"])
    op.create_table(
        "delivery_history",
        _uuid("id", False),
        _path(),
        _uuid("delivery_id", False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.String(100), nullable=False),
        sa.Column("actor_role", sa.String(40)),
        _now("at"),
        sa.Column("reason", sa.Text),
        sa.Column("before", pg.JSONB),
        sa.Column("after", pg.JSONB),
        sa.Column("correlation_id", sa.String(128)),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_delivery_history_unit_path", "delivery_history", ["unit_path"])
    op.create_index("ix_delivery_history_delivery_id", "delivery_history", ["delivery_id"])
    op.create_table(
        "funds",
        _uuid("id", False),
        _path(),
        sa.Column("unit_code", sa.String(12), nullable=False),
        sa.Column("level", sa.String(12), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("balance_vnd", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        _now("created_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("unit_path", name="uq_funds_unit_path"),  # one fund per unit
        sa.CheckConstraint("balance_vnd >= 0", name="ck_funds_balance_never_negative"),
    )
    op.create_table(
        "fund_entries",
        _uuid("id", False),
        _path(),
        _uuid("fund_id", False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount_vnd", sa.BigInteger, nullable=False),
        sa.Column("balance_after", sa.BigInteger, nullable=False),
        sa.Column("occurred_on", sa.Date, nullable=False),
        sa.Column("campaign_year", sa.Integer),
        sa.Column("donor_name", sa.String(200)),
        sa.Column("donor_kind", sa.String(20)),
        sa.Column("receipt_number", sa.String(60)),
        sa.Column("purpose", sa.Text),
        _uuid("delivery_id"),
        _code("programme", nullable=True),
        _uuid("counterpart_fund_id"),
        _uuid("counterpart_entry_id"),
        sa.Column("note", sa.Text),
        sa.Column("recorded_by", sa.String(100)),
        _now("recorded_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_fund_entries_unit_path", "fund_entries", ["unit_path"])
    op.create_index("ix_fund_entries_fund_id", "fund_entries", ["fund_id", "occurred_on"])


def downgrade() -> None:
    for table in ("fund_entries", "funds", "delivery_history", "deliveries", "sp_household_transitions",
                  "sp_households", "sp_units", "catalogue"):
        op.drop_table(table)
