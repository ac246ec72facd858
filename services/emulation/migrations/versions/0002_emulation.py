"""The emulation tables: units read model, movements, documents, activities, targets, registrations,
quotas, nominations, awards, exemplary models, criteria sets, scores, and the facts scored from events.

Revision ID: emulation_0002
Revises: emulation_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "emulation_0002"
down_revision = "emulation_0001"
branch_labels = None
depends_on = None


def path(name: str, **kw: object) -> sa.Column:
    return sa.Column(name, sa.String(160, collation="C"), **kw)


def unit_path() -> sa.Column:
    return path("unit_path", nullable=False)


def uuid_pk() -> sa.Column:
    return sa.Column("id", UUID(as_uuid=True), primary_key=True)


def movement_fk(nullable: bool = False) -> sa.Column:
    return sa.Column("movement_id", UUID(as_uuid=True), sa.ForeignKey("em_movements.id"), nullable=nullable)


def stamp(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "em_units",
        path("path", primary_key=True),
        sa.Column("hierarchy", sa.String(8), nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("level", sa.String(12), nullable=False),
        path("parent_path"),
        sa.Column("valid_to", sa.Date),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_em_units_code", "em_units", ["code"])
    op.create_index("ix_em_units_parent_path", "em_units", ["parent_path"])
    op.create_index("ix_em_units_level_path", "em_units", ["level", "path"])

    op.create_table(
        "em_movements",
        uuid_pk(), unit_path(),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("level", sa.String(12), nullable=False),
        sa.Column("issuing_body", sa.Text, nullable=False),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("ends_on", sa.Date, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("objectives", JSONB, nullable=False),
        sa.Column("phases", JSONB, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        stamp("created_at"),
    )
    op.create_index("ix_em_movements_unit_path", "em_movements", ["unit_path"])

    op.create_table(
        "em_documents",
        uuid_pk(), unit_path(), movement_fk(),
        sa.Column("doc_type", sa.String(16), nullable=False),
        sa.Column("number", sa.Text, nullable=False),
        sa.Column("issued_on", sa.Date, nullable=False),
        sa.Column("issuing_body", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("signer", sa.Text),
        sa.Column("launches_movement", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        stamp("created_at"),
    )
    op.create_index("ix_em_documents_unit_path", "em_documents", ["unit_path"])
    op.create_index("ix_em_documents_movement_id", "em_documents", ["movement_id"])

    op.create_table(
        "em_activities",
        uuid_pk(), unit_path(), movement_fk(),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("held_on", sa.Date, nullable=False),
        sa.Column("year", sa.SmallInteger, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("participants", sa.Integer),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("removed", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        stamp("created_at"),
    )
    op.create_index("ix_em_activities_unit_path", "em_activities", ["unit_path"])
    op.create_index("ix_em_activities_movement_id", "em_activities", ["movement_id"])

    op.create_table(
        "em_targets",
        uuid_pk(), unit_path(), movement_fk(),
        sa.Column("year", sa.SmallInteger, nullable=False),
        sa.Column("indicator", sa.String(32), nullable=False),
        sa.Column("value", sa.Numeric, nullable=False),
        path("parent_path"),
        sa.Column("parent_value", sa.Numeric),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("set_by", sa.Text, nullable=False),
        stamp("set_at"),
        sa.UniqueConstraint("movement_id", "unit_path", "year", "indicator", name="uq_em_targets"),
    )
    op.create_index("ix_em_targets_unit_path", "em_targets", ["unit_path"])
    op.create_index("ix_em_targets_movement_id", "em_targets", ["movement_id"])

    op.create_table(
        "em_registrations",
        uuid_pk(), unit_path(), movement_fk(),
        sa.Column("year", sa.SmallInteger, nullable=False),
        sa.Column("registrant_kind", sa.String(16), nullable=False),
        sa.Column("registrant_name", sa.Text, nullable=False),
        sa.Column("household_id", sa.Text),
        sa.Column("title_sought", sa.String(40), nullable=False),
        sa.Column("commitment", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        stamp("created_at"),
    )
    op.create_index("ix_em_registrations_unit_path", "em_registrations", ["unit_path"])
    op.create_index("ix_em_registrations_movement_id", "em_registrations", ["movement_id"])

    op.create_table(
        "em_quotas",
        uuid_pk(), unit_path(),
        sa.Column("form", sa.String(40), nullable=False),
        sa.Column("year", sa.SmallInteger, nullable=False),
        sa.Column("quota", sa.Integer, nullable=False),
        path("set_by_path", nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("unit_path", "form", "year", name="uq_em_quotas"),
    )
    op.create_index("ix_em_quotas_unit_path", "em_quotas", ["unit_path"])

    op.create_table(
        "em_nominations",
        uuid_pk(), unit_path(), movement_fk(nullable=True),
        sa.Column("year", sa.SmallInteger, nullable=False),
        sa.Column("form", sa.String(40), nullable=False),
        sa.Column("nominee_kind", sa.String(12), nullable=False),
        sa.Column("nominee_name", sa.Text, nullable=False),
        sa.Column("nominee_role", sa.Text),
        path("nominee_unit_path"),
        sa.Column("household_id", sa.Text),
        sa.Column("achievements", sa.Text, nullable=False),
        sa.Column("dossier", JSONB, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        path("handler_path", nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("votes_for", sa.Integer),
        sa.Column("votes_against", sa.Integer),
        sa.Column("voted_on", sa.Date),
        sa.Column("submitted_on", sa.Date),
        sa.Column("history", JSONB, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        stamp("created_at"),
    )
    op.create_index("ix_em_nominations_unit_path", "em_nominations", ["unit_path"])
    op.create_index("ix_em_nominations_movement_id", "em_nominations", ["movement_id"])
    op.create_index("ix_em_nominations_state", "em_nominations", ["state"])
    op.create_index("ix_em_nominations_quota", "em_nominations", ["unit_path", "form", "year"])

    op.create_table(
        "em_awards",
        uuid_pk(), unit_path(), movement_fk(nullable=True),
        sa.Column("nomination_id", UUID(as_uuid=True), sa.ForeignKey("em_nominations.id"), nullable=False,
                  unique=True),
        sa.Column("year", sa.SmallInteger, nullable=False),
        sa.Column("form", sa.String(40), nullable=False),
        sa.Column("nominee_kind", sa.String(12), nullable=False),
        sa.Column("nominee_name", sa.Text, nullable=False),
        sa.Column("decision_number", sa.Text, nullable=False),
        sa.Column("decision_date", sa.Date, nullable=False),
        sa.Column("signer", sa.Text, nullable=False),
        path("awarding_path", nullable=False),
        sa.Column("awarding_level", sa.String(12), nullable=False),
        sa.Column("awarding_authority", sa.Text, nullable=False),
        sa.Column("prize_multiplier", sa.Numeric),
        sa.Column("base_salary", sa.BigInteger),
        sa.Column("prize_amount", sa.BigInteger),
        sa.Column("certificate_number", sa.Text, nullable=False, unique=True),
        sa.Column("revoked_on", sa.Date),
        sa.Column("revocation", JSONB),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_em_awards_unit_path", "em_awards", ["unit_path"])

    op.create_table(
        "em_exemplars",
        uuid_pk(), unit_path(), movement_fk(nullable=True),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("evidence", JSONB, nullable=False),
        sa.Column("recognised_by", sa.Text, nullable=False),
        sa.Column("recognised_on", sa.Date, nullable=False),
        sa.Column("document_number", sa.Text),
        sa.Column("withdrawn", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_em_exemplars_unit_path", "em_exemplars", ["unit_path"])

    op.create_table(
        "em_criteria_sets",
        uuid_pk(), unit_path(), movement_fk(),
        sa.Column("year", sa.SmallInteger, nullable=False),
        sa.Column("level", sa.String(12), nullable=False),
        sa.Column("criteria", JSONB, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("movement_id", "unit_path", "year", "level", name="uq_em_criteria_sets"),
    )
    op.create_index("ix_em_criteria_sets_unit_path", "em_criteria_sets", ["unit_path"])
    op.create_index("ix_em_criteria_sets_movement_id", "em_criteria_sets", ["movement_id"])

    op.create_table(
        "em_manual_scores",
        uuid_pk(), unit_path(),
        sa.Column("criteria_set_id", UUID(as_uuid=True), sa.ForeignKey("em_criteria_sets.id"), nullable=False),
        sa.Column("criterion", sa.String(40), nullable=False),
        sa.Column("points", sa.Numeric, nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("given_by", sa.Text, nullable=False),
        stamp("given_at"),
        sa.UniqueConstraint("criteria_set_id", "unit_path", "criterion", name="uq_em_manual_scores"),
    )
    op.create_index("ix_em_manual_scores_unit_path", "em_manual_scores", ["unit_path"])
    op.create_index("ix_em_manual_scores_criteria_set_id", "em_manual_scores", ["criteria_set_id"])

    op.create_table(
        "em_scores",
        uuid_pk(), unit_path(), movement_fk(),
        sa.Column("criteria_set_id", UUID(as_uuid=True), sa.ForeignKey("em_criteria_sets.id"), nullable=False),
        sa.Column("year", sa.SmallInteger, nullable=False),
        sa.Column("level", sa.String(12), nullable=False),
        path("parent_path"),
        sa.Column("total", sa.Numeric, nullable=False),
        sa.Column("criteria", JSONB, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        stamp("computed_at"),
        sa.UniqueConstraint("criteria_set_id", "unit_path", name="uq_em_scores"),
    )
    op.create_index("ix_em_scores_unit_path", "em_scores", ["unit_path"])

    op.create_table(
        "em_review_counts",
        path("unit_path", primary_key=True),
        sa.Column("year", sa.SmallInteger, primary_key=True),
        sa.Column("households", sa.Integer, nullable=False),
        sa.Column("poor", sa.Integer, nullable=False),
        sa.Column("near_poor", sa.Integer, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "em_deliveries",
        sa.Column("delivery_id", sa.Text, primary_key=True),
        unit_path(),
        sa.Column("year", sa.SmallInteger, nullable=False),
        sa.Column("amount_vnd", sa.BigInteger, nullable=False),
        sa.Column("households", sa.Integer, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_em_deliveries_unit_path", "em_deliveries", ["unit_path"])
    op.create_table(
        "em_fund_entries",
        sa.Column("entry_id", sa.Text, primary_key=True),
        unit_path(),
        sa.Column("year", sa.SmallInteger, nullable=False),
        sa.Column("amount_vnd", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_em_fund_entries_unit_path", "em_fund_entries", ["unit_path"])


def downgrade() -> None:
    for table in ("em_fund_entries", "em_deliveries", "em_review_counts", "em_scores", "em_manual_scores",
                  "em_criteria_sets", "em_exemplars", "em_awards", "em_nominations", "em_quotas", "em_registrations",
                  "em_targets", "em_activities", "em_documents", "em_movements", "em_units"):
        op.drop_table(table)
