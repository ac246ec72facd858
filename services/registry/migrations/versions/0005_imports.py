"""Bulk import jobs and their rejected rows.

Revision ID: registry_0005
Revises: registry_0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "registry_0005"
down_revision = "registry_0004"
branch_labels = None
depends_on = None

C = "C"


def upgrade() -> None:
    op.create_table(
        "import_jobs",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("unit_path", sa.String(160, collation=C), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("format", sa.String(8), nullable=True),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("keep_valid", sa.Boolean, nullable=False),
        sa.Column("hierarchy", sa.String(8), nullable=True),
        sa.Column("rows_total", sa.Integer, nullable=True),
        sa.Column("rows_done", sa.Integer, nullable=False),
        sa.Column("rows_stored", sa.Integer, nullable=False),
        sa.Column("rows_rejected", sa.Integer, nullable=False),
        sa.Column("errors_total", sa.Integer, nullable=False),
        sa.Column("counts", pg.JSONB, nullable=True),
        sa.Column("failure", sa.Text, nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_import_jobs_unit_path", "import_jobs", ["unit_path"])
    op.create_index("ix_import_jobs_created_at", "import_jobs", ["created_at"])
    op.create_table(
        "import_errors",
        sa.Column("job_id", pg.UUID(as_uuid=True), sa.ForeignKey("import_jobs.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("row", sa.Integer, nullable=True),
        sa.Column("column", sa.String(40), nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("import_errors")
    op.drop_table("import_jobs")
