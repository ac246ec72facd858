"""The units whose facts changed and wait to be re-scored (the consumers fill it, the re-scorer empties it).

Revision ID: emulation_0004
Revises: emulation_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "emulation_0004"
down_revision = "emulation_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "em_rescore_queue",
        sa.Column("unit_path", sa.String(160, collation="C"), primary_key=True),
        sa.Column("year", sa.SmallInteger, primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("em_rescore_queue")
