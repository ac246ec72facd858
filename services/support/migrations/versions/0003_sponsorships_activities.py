"""Sponsorships (helper, households helped, commitment, period) and body activities (a kind from the
catalogue and its named measures).

Revision ID: support_0003
Revises: support_0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "support_0003"
down_revision = "support_0002"
branch_labels = None
depends_on = None

C = "C"


def _common() -> list[sa.Column]:
    return [sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
            sa.Column("unit_path", sa.String(160, collation=C), nullable=False),
            sa.Column("unit_code", sa.String(12), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "sponsorships", *_common(),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("helper_kind", sa.String(16), nullable=False),
        sa.Column("helper_name", sa.String(200), nullable=False),
        sa.Column("helpers", sa.Integer, nullable=False, server_default="1"),
        sa.Column("body", sa.String(60, collation=C)),
        sa.Column("household_ids", pg.ARRAY(pg.UUID(as_uuid=True)), nullable=False, server_default="{}"),
        sa.Column("started_on", sa.Date, nullable=False),
        sa.Column("ends_on", sa.Date),
        sa.Column("ended_on", sa.Date),
        sa.Column("commitment", pg.JSONB, nullable=False, server_default="[]"),
        sa.Column("status", sa.String(8), nullable=False, server_default="active"),
        sa.Column("note", sa.Text),
        sa.Column("end_reason", sa.Text),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_by", sa.String(100)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
    )
    op.create_index("ix_sponsorships_unit_path", "sponsorships", ["unit_path"])
    op.create_index("ix_deliveries_sponsorship_id", "deliveries", ["sponsorship_id"])
    op.create_table(
        "activities", *_common(),
        sa.Column("body", sa.String(60, collation=C), nullable=False),
        sa.Column("body_detail", sa.String(200)),
        sa.Column("kind", sa.String(60, collation=C), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("period_from", sa.Date, nullable=False),
        sa.Column("period_to", sa.Date, nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("measures", pg.JSONB, nullable=False, server_default="[]"),
        sa.Column("amount_vnd", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("status", sa.String(12), nullable=False, server_default="recorded"),
        sa.Column("note", sa.Text),
        sa.Column("void_reason", sa.Text),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("recorded_by", sa.String(100)),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
    )
    op.create_index("ix_activities_unit_path", "activities", ["unit_path"])


def downgrade() -> None:
    op.drop_table("activities")
    op.drop_index("ix_deliveries_sponsorship_id", "deliveries")
    op.drop_table("sponsorships")
