"""Indexes for scoring: a score's rank is counted when read (how many of the set, or of the parent's
units, scored higher), and the facts are read by year and path.

Revision ID: emulation_0003
Revises: emulation_0002
"""

from alembic import op

revision = "emulation_0003"
down_revision = "emulation_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_em_scores_set_total", "em_scores", ["criteria_set_id", "total"])
    op.create_index("ix_em_scores_set_parent_total", "em_scores", ["criteria_set_id", "parent_path", "total"])
    op.create_index("ix_em_review_counts_year", "em_review_counts", ["year", "unit_path"])
    op.create_index("ix_em_deliveries_year_path", "em_deliveries", ["year", "unit_path"])
    op.create_index("ix_em_fund_entries_year_path", "em_fund_entries", ["year", "unit_path"])


def downgrade() -> None:
    op.drop_index("ix_em_fund_entries_year_path", "em_fund_entries")
    op.drop_index("ix_em_deliveries_year_path", "em_deliveries")
    op.drop_index("ix_em_review_counts_year", "em_review_counts")
    op.drop_index("ix_em_scores_set_parent_total", "em_scores")
    op.drop_index("ix_em_scores_set_total", "em_scores")
