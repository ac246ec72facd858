"""The eligibility read model keeps the ids of each household's current members (from the registry's
`registered` / `updated` events and an import's `assessed_batch` items): a delivery's `member_ids` are
checked against them.

Revision ID: support_0006
Revises: support_0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "support_0006"
down_revision = "support_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL: no event has told the members yet (events written before the registry carried them).
    op.add_column("sp_households", sa.Column("member_ids", pg.ARRAY(sa.String(40))))


def downgrade() -> None:
    op.drop_column("sp_households", "member_ids")
