"""A donation cancelled by its reversal (`support.fund.reversed`, `reversed_kind` `donation`) no longer
counts as fund raised: the reversal entry's id is kept on the donation's row.

Revision ID: emulation_0008
Revises: emulation_0007
"""

import sqlalchemy as sa
from alembic import op

revision = "emulation_0008"
down_revision = "emulation_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("em_fund_entries", sa.Column("reversed_by", sa.Text, nullable=True))


def downgrade() -> None:
    op.drop_column("em_fund_entries", "reversed_by")
