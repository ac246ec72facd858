"""Projections of the registry's events: units, crosswalk, household years, commune aggregates.

Revision ID: reporting_0002
Revises: reporting_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "reporting_0002"
down_revision = "reporting_0001"
branch_labels = None
depends_on = None

# The counters of rp_commune_year, frozen here as they were when this revision was written.
_STATUSES = ("poor", "near_poor", "middle_income", "not_poor")
_PREFIXES = ("h", "m", "em", "pf", "sp", "urban", "rural")
_TRANSITIONS = ("newly_poor", "re_poor", "escaped_poverty", "escaped_near_poverty", "became_near_poor", "stayed")
COUNTER_COLUMNS = [f"{p}_{s}" for s in _STATUSES for p in _PREFIXES] + [f"t_{t}" for t in _TRANSITIONS]


def path_column(name: str, **kw: object) -> sa.Column:
    # "C" collation: the scope range (path > 'p.' AND path < 'p/') uses the plain btree index.
    return sa.Column(name, sa.String(160, collation="C"), **kw)


def upgrade() -> None:
    op.create_table(
        "rp_units",
        path_column("path", primary_key=True),
        sa.Column("hierarchy", sa.String(8), nullable=False),
        sa.Column("code", sa.String(8), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("type", sa.String(40), nullable=False, server_default=""),
        sa.Column("level", sa.String(16), nullable=False),
        path_column("parent_path"),
        sa.Column("urban", sa.Boolean),
        sa.Column("valid_from", sa.Date),
        sa.Column("valid_to", sa.Date),
        sa.Column("poor_district", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("difficult_commune", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("ethnic_minority_area", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("mountainous", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_rp_units_hierarchy_code", "rp_units", ["hierarchy", "code"], unique=True)
    op.create_index("ix_rp_units_parent_path", "rp_units", ["parent_path"])
    op.create_table(
        "rp_unit_successors",
        path_column("old_path", primary_key=True),
        path_column("new_path", primary_key=True),
        sa.Column("partial", sa.Boolean, nullable=False, server_default="false"),
    )
    # The one v2025 commune each old commune's figures are rolled into (derived from the successors).
    op.create_table(
        "rp_crosswalk",
        path_column("old_path", primary_key=True),
        path_column("new_path", nullable=False),
    )
    op.create_index("ix_rp_crosswalk_new_path", "rp_crosswalk", ["new_path"])
    op.create_table(
        "rp_households",
        sa.Column("household_id", sa.Text(collation="C"), primary_key=True),
        path_column("unit_path", nullable=False),
        sa.Column("household_code", sa.Text),
        sa.Column("status", sa.String(16)),
        sa.Column("members", sa.Integer, nullable=False, server_default="0"),
        sa.Column("removed", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("removed_version", sa.BigInteger),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "rp_household_years",
        sa.Column("household_id", sa.Text(collation="C"), primary_key=True),
        sa.Column("year", sa.SmallInteger, primary_key=True),
        path_column("unit_path", nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("transition", sa.String(24), nullable=False, server_default=""),
        sa.Column("members", sa.Integer, nullable=False),
        sa.Column("ethnic_minority", sa.Boolean, nullable=False),
        sa.Column("policy_family", sa.Boolean, nullable=False),
        sa.Column("social_protection", sa.Boolean, nullable=False),
        sa.Column("urban", sa.Boolean),
        sa.Column("removed", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    # One wide row of counters per commune and year (projections/counters.py names the columns).
    op.create_table(
        "rp_commune_year",
        path_column("unit_path", primary_key=True),
        sa.Column("year", sa.SmallInteger, primary_key=True),
        *(sa.Column(name, sa.BigInteger, nullable=False, server_default="0") for name in COUNTER_COLUMNS),
    )
    op.create_table(
        "rp_reviews",
        sa.Column("review_id", sa.Text, primary_key=True),
        path_column("unit_path", nullable=False),
        sa.Column("year", sa.SmallInteger, nullable=False),
        sa.Column("counts", JSONB, nullable=False),
        sa.Column("members", JSONB, nullable=False),
        sa.Column("transitions", JSONB, nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_rp_reviews_unit_year", "rp_reviews", ["unit_path", "year"])
    op.create_table(
        "rp_progress",
        sa.Column("consumer", sa.Text, primary_key=True),
        sa.Column("last_event_id", UUID(as_uuid=True)),
        sa.Column("last_event_type", sa.Text),
        sa.Column("last_occurred_at", sa.DateTime(timezone=True)),
        sa.Column("last_stream_seq", sa.BigInteger),
        sa.Column("applied_at", sa.DateTime(timezone=True)),
        sa.Column("events_applied", sa.BigInteger, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    for table in ("rp_progress", "rp_reviews", "rp_commune_year", "rp_household_years", "rp_households",
                  "rp_crosswalk", "rp_unit_successors", "rp_units"):
        op.drop_table(table)
