"""Scores are rewritten in place (HOT updates): the two indexes on `total` go — ranks are window
functions over a set's scores when read (scoring.repository.scores), whose plans at 10,000 communes
scan and sort without them —, and pages keep half their room free for the new version of a row.
With an index on `total`, or a full page, every changed score also wrote a new entry into each of
the table's indexes.

The fill factor applies to pages written from now on; `VACUUM FULL em_scores` applies it to the
existing ones (not run here: it locks the table).

Revision ID: emulation_0007
Revises: emulation_0006
"""

import sqlalchemy as sa
from alembic import op

revision = "emulation_0007"
down_revision = "emulation_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_em_scores_set_parent_total", "em_scores")
    op.drop_index("ix_em_scores_set_total", "em_scores")
    op.execute(sa.text("ALTER TABLE em_scores SET (fillfactor = 50)"))


def downgrade() -> None:
    op.execute(sa.text("ALTER TABLE em_scores RESET (fillfactor)"))
    op.create_index("ix_em_scores_set_total", "em_scores", ["criteria_set_id", "total"])
    op.create_index("ix_em_scores_set_parent_total", "em_scores", ["criteria_set_id", "parent_path", "total"])
