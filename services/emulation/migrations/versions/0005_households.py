"""The households read model (the registry's household events): a household nominee or registrant
must be a known, current household of the unit.

Revision ID: emulation_0005
Revises: emulation_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "emulation_0005"
down_revision = "emulation_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "em_households",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("unit_path", sa.String(160, collation="C"), nullable=False),
        sa.Column("removed", sa.Boolean, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("em_households")
