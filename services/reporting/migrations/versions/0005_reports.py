"""Periodic reports: one row per unit, type and period; its versions (what officers wrote, and the
figures frozen at submission); the actions taken on it (submitted, returned, accepted).

Revision ID: reporting_0005
Revises: reporting_0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "reporting_0005"
down_revision = "reporting_0004"
branch_labels = None
depends_on = None


def path_column(name: str, **kw: object) -> sa.Column:
    return sa.Column(name, sa.String(160, collation="C"), **kw)


def upgrade() -> None:
    op.create_table(
        "rp_reports",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        path_column("unit_path", nullable=False),
        sa.Column("unit_name", sa.Text, nullable=False, server_default=""),
        sa.Column("report_type", sa.String(16), nullable=False),
        sa.Column("period", sa.String(64), nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("row_version", sa.Integer, nullable=False),
        sa.Column("first_submitted_at", sa.DateTime(timezone=True)),
        sa.Column("submitted_at", sa.DateTime(timezone=True)),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("unit_path", "report_type", "period", name="uq_rp_reports_unit_type_period"),
    )
    # Completeness reads every report of one type and period under a unit.
    op.create_index("ix_rp_reports_type_period_path", "rp_reports", ["report_type", "period", "unit_path"])
    op.create_table(
        "rp_report_versions",
        sa.Column("report_id", UUID(as_uuid=True), sa.ForeignKey("rp_reports.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("number", sa.Integer, primary_key=True),
        path_column("unit_path", nullable=False),
        sa.Column("content", JSONB, nullable=False),
        sa.Column("figures", JSONB),  # frozen at submission; null while a draft
        sa.Column("consolidated_from", JSONB),  # the children's reports a frozen consolidation summed
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_by_name", sa.Text, nullable=False, server_default=""),
        sa.Column("submitted_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "rp_report_actions",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("report_id", UUID(as_uuid=True), sa.ForeignKey("rp_reports.id", ondelete="CASCADE"),
                  nullable=False),
        path_column("unit_path", nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.Text, nullable=False),
        sa.Column("actor_name", sa.Text, nullable=False, server_default=""),
        path_column("actor_unit", nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_rp_report_actions_report", "rp_report_actions", ["report_id", "at"])


def downgrade() -> None:
    for table in ("rp_report_actions", "rp_report_versions", "rp_reports"):
        op.drop_table(table)
