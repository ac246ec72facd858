"""Households, members, assessments, change history and the personal-data access log.

Plain columns, client-generated UUIDv7 ids and no triggers, so bulk imports can COPY into them.

Revision ID: registry_0003
Revises: registry_0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "registry_0003"
down_revision = "registry_0002"
branch_labels = None
depends_on = None

C = "C"


def _path() -> sa.Column:
    return sa.Column("unit_path", sa.String(160, collation=C), nullable=False)


def _now(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()"))


def _flag(name: str) -> sa.Column:
    return sa.Column(name, sa.Boolean, nullable=False, server_default="false")


def upgrade() -> None:
    op.create_table(
        "households",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        _path(),
        sa.Column("commune_code", sa.String(8), nullable=False),
        sa.Column("household_code", sa.String(40), nullable=False),
        sa.Column("village", sa.String(200), nullable=True),
        sa.Column("address", sa.String(300), nullable=True),
        sa.Column("head_name", sa.String(200), nullable=False),
        sa.Column("head_name_search", sa.String(200, collation=C), nullable=False),
        sa.Column("area", sa.String(8), nullable=False),
        sa.Column("member_count", sa.Integer, nullable=False, server_default="0"),
        _flag("ethnic_minority"),
        _flag("policy_family"),
        _flag("social_protection"),
        _flag("no_labour_capacity"),
        sa.Column("status", sa.String(16), nullable=True),
        sa.Column("status_year", sa.Integer, nullable=True),
        _flag("ever_poor"),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        _now("created_at"),
        _now("updated_at"),
        sa.Column("created_by", sa.String(100), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_reason", sa.Text, nullable=True),
        sa.Column("removed_by", sa.String(100), nullable=True),
    )
    # No index on unit_path alone: (unit_path, status) serves every scope filter, and each index costs
    # every bulk-imported row (docs/registry-imports.md).
    op.create_index("ix_households_unit_status", "households", ["unit_path", "status"])
    op.create_index("ux_households_commune_code", "households", ["unit_path", "household_code"], unique=True,
                    postgresql_where=sa.text("removed_at IS NULL"))

    op.create_table(
        "household_members",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("household_id", pg.UUID(as_uuid=True), sa.ForeignKey("households.id"), nullable=False),
        _path(),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("name_search", sa.String(200, collation=C), nullable=False),
        sa.Column("citizen_id_enc", sa.LargeBinary, nullable=True),  # AES-GCM: nonce || ciphertext+tag
        sa.Column("citizen_id_hash", sa.LargeBinary, nullable=True),  # HMAC-SHA256 keyed hash
        sa.Column("birth_date", sa.Date, nullable=True),
        sa.Column("sex", sa.String(8), nullable=True),
        sa.Column("ethnicity", sa.String(60), nullable=True),
        sa.Column("relation", sa.String(24), nullable=False),
        _flag("is_head"),
        _flag("no_labour_capacity"),
        _flag("social_protection"),
        _flag("policy_person"),
        _now("created_at"),
        _now("updated_at"),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_reason", sa.Text, nullable=True),
    )
    op.create_index("ix_household_members_household_id", "household_members", ["household_id"])
    # Members and history are read by household_id (the scope filter rides along): no unit_path index.
    # A citizen is a member of one living household at a time; one head per household.
    op.create_index("ux_household_members_citizen", "household_members", ["citizen_id_hash"], unique=True,
                    postgresql_where=sa.text("removed_at IS NULL AND citizen_id_hash IS NOT NULL"))
    op.create_index("ux_household_members_head", "household_members", ["household_id"], unique=True,
                    postgresql_where=sa.text("is_head AND removed_at IS NULL"))

    op.create_table(
        "household_assessments",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("household_id", pg.UUID(as_uuid=True), sa.ForeignKey("households.id"), nullable=False),
        _path(),
        sa.Column("review_year", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False, server_default="annual"),  # annual | regular
        sa.Column("area", sa.String(8), nullable=False),
        sa.Column("income_per_capita", sa.BigInteger, nullable=False),
        sa.Column("deprived_indicators", pg.ARRAY(sa.String(40)), nullable=False, server_default="{}"),
        sa.Column("deprived_count", sa.Integer, nullable=False),
        sa.Column("standard", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("poverty_line", sa.BigInteger, nullable=False),
        sa.Column("near_poverty_line", sa.BigInteger, nullable=True),
        sa.Column("middle_income_line", sa.BigInteger, nullable=True),
        sa.Column("explanation", sa.Text, nullable=False, server_default=""),
        sa.Column("member_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("state", sa.String(12), nullable=False, server_default="recorded"),  # recorded | recognised
        sa.Column("previous_status", sa.String(16), nullable=True),
        sa.Column("transition", sa.String(24), nullable=True),
        sa.Column("recognised_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_id", pg.UUID(as_uuid=True), nullable=True),
        sa.Column("regular_review_id", pg.UUID(as_uuid=True), nullable=True),
        sa.Column("certificate_number", sa.String(40), nullable=True),
        sa.Column("source", sa.String(12), nullable=False, server_default="api"),  # api | import
        _now("created_at"),
        _now("updated_at"),
        sa.Column("created_by", sa.String(100), nullable=True),
    )
    op.create_index("ix_household_assessments_household", "household_assessments", ["household_id"])
    op.create_index("ix_household_assessments_unit_year", "household_assessments", ["unit_path", "review_year"])
    op.create_index("ux_household_assessments_annual", "household_assessments", ["household_id", "review_year"],
                    unique=True, postgresql_where=sa.text("kind = 'annual'"))

    op.create_table(
        "household_history",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("household_id", pg.UUID(as_uuid=True), sa.ForeignKey("households.id"), nullable=False),
        _path(),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor_id", sa.String(100), nullable=False),
        sa.Column("actor_role", sa.String(40), nullable=True),
        _now("at"),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("before", pg.JSONB, nullable=True),
        sa.Column("after", pg.JSONB, nullable=True),
        sa.Column("correlation_id", sa.String(128), nullable=True),
    )
    op.create_index("ix_household_history_household", "household_history", ["household_id", "at"])

    op.create_table(
        "personal_data_access_log",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("household_id", pg.UUID(as_uuid=True), nullable=False),
        _path(),
        sa.Column("principal_id", sa.String(100), nullable=False),
        sa.Column("principal_role", sa.String(40), nullable=True),
        sa.Column("action", sa.String(24), nullable=False, server_default="read"),  # read | lookup
        sa.Column("unmasked", sa.Boolean, nullable=False),
        sa.Column("purpose", sa.String(300), nullable=True),
        sa.Column("request_id", sa.String(128), nullable=True),
        _now("at"),
    )
    op.create_index("ix_personal_data_access_log_unit_at", "personal_data_access_log", ["unit_path", "at"])
    op.create_index("ix_personal_data_access_log_household", "personal_data_access_log", ["household_id"])


def downgrade() -> None:
    op.drop_table("personal_data_access_log")
    op.drop_table("household_history")
    op.drop_table("household_assessments")
    op.drop_table("household_members")
    op.drop_table("households")
