"""Delivery imports: one row per accepted file.

Revision ID: support_0004
Revises: support_0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "support_0004"
down_revision = "support_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_jobs",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("unit_path", sa.String(160, collation="C"), nullable=False),
        sa.Column("file_name", sa.String(200)),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("amount_vnd", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_import_jobs_unit_path", "import_jobs", ["unit_path"])
    op.create_index("ix_deliveries_import_job_id", "deliveries", ["import_job_id"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_import_job_id", "deliveries")
    op.drop_table("import_jobs")
