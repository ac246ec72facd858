"""Administrative units and the 2025 crosswalk.

Revision ID: registry_0002
Revises: registry_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "registry_0002"
down_revision = "registry_0001"
branch_labels = None
depends_on = None

C = "C"


def upgrade() -> None:
    op.create_table(
        "units",
        sa.Column("path", sa.String(160, collation=C), primary_key=True),
        sa.Column("hierarchy", sa.String(8), nullable=False),
        sa.Column("code", sa.String(8), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_search", sa.String(200, collation=C), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("parent_path", sa.String(160, collation=C), nullable=True),
        sa.Column("urban", sa.Boolean, nullable=True),
        sa.Column("valid_from", sa.Date, nullable=True),
        sa.Column("valid_to", sa.Date, nullable=True),
        sa.Column("poor_district", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("difficult_commune", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("ethnic_minority_area", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("mountainous", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.UniqueConstraint("hierarchy", "code", name="units_hierarchy_code"),
    )
    op.create_index("ix_units_code", "units", ["code"])
    op.create_index("ix_units_name_search", "units", ["name_search"])
    op.create_index("ix_units_parent_path", "units", ["parent_path"])
    op.create_table(
        "unit_successions",
        sa.Column("old_path", sa.String(160, collation=C), sa.ForeignKey("units.path"), primary_key=True),
        sa.Column("new_path", sa.String(160, collation=C), sa.ForeignKey("units.path"), primary_key=True),
        sa.Column("partial", sa.Boolean, nullable=False, server_default="false"),
    )
    op.create_index("ix_unit_successions_new_path", "unit_successions", ["new_path"])


def downgrade() -> None:
    op.drop_table("unit_successions")
    op.drop_table("units")
