"""The recognised transitions keep when the registry recognised them (`recognised_at`, the assessment
event's time): the "escaped but still supported" gap counts only support delivered from then on.
Catalogue entries keep the unit that owns them (`owner_path`, NULL = national: the data file's
entries): only that unit's officers (or the national level) may change them.

Revision ID: support_0007
Revises: support_0006
"""

import sqlalchemy as sa
from alembic import op

revision = "support_0007"
down_revision = "support_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sp_household_transitions", sa.Column("recognised_at", sa.DateTime(timezone=True)))
    # Transitions held before: the household row's event time when that row is the same assessment;
    # otherwise NULL (a rebuild from the stream tells it; the gap reads NULL as the review's last day).
    op.execute("UPDATE sp_household_transitions t SET recognised_at = h.changed_at FROM sp_households h "
               "WHERE h.id = t.household_id AND h.version = t.version")
    op.add_column("catalogue", sa.Column("owner_path", sa.String(160, collation="C")))


def downgrade() -> None:
    op.drop_column("catalogue", "owner_path")
    op.drop_column("sp_household_transitions", "recognised_at")
