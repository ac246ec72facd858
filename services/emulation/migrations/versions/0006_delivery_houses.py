"""Houses a housing delivery built or repaired (support's `quantities` in the measure `house`): the
automatic criterion "temporary houses removed".

Revision ID: emulation_0006
Revises: emulation_0005
"""

import sqlalchemy as sa
from alembic import op

revision = "emulation_0006"
down_revision = "emulation_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("em_deliveries", sa.Column("houses", sa.Numeric, nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_column("em_deliveries", "houses")
