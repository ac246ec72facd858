"""Which criteria set scored a unit, and which unit set those criteria (`emulation.score.computed` carries
them): a province and a district may both score the same communes in one movement, and a ranking is one
set's. Rows projected before this revision have neither until the emulation consumer's projections are
rebuilt (`python -m services.reporting.operations.rebuild --only emulation`).

Revision ID: reporting_0007
Revises: reporting_0006
"""

import sqlalchemy as sa
from alembic import op

revision = "reporting_0007"
down_revision = "reporting_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("rp_scores", sa.Column("criteria_set_id", sa.Text))
    op.add_column("rp_scores", sa.Column("scored_by", sa.String(160, collation="C")))


def downgrade() -> None:
    op.drop_column("rp_scores", "scored_by")
    op.drop_column("rp_scores", "criteria_set_id")
