"""The eligibility read model keeps each household's deprivation indicators (from the registry's
`registry.household.assessed` events): the housing coverage gap reads them.

Revision ID: support_0005
Revises: support_0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "support_0005"
down_revision = "support_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL: no assessment event has told it yet (events written before the registry carried them).
    op.add_column("sp_households", sa.Column("deprived_indicators", pg.ARRAY(sa.String(40))))


def downgrade() -> None:
    op.drop_column("sp_households", "deprived_indicators")
