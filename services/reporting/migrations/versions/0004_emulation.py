"""Projections of the emulation service's events: movements, documents, activities, targets, scores,
exemplary models, awards and their revocations.

Revision ID: reporting_0004
Revises: reporting_0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "reporting_0004"
down_revision = "reporting_0003"
branch_labels = None
depends_on = None


def path_column(name: str, **kw: object) -> sa.Column:
    return sa.Column(name, sa.String(160, collation="C"), **kw)


def key_column(name: str, **kw: object) -> sa.Column:
    return sa.Column(name, sa.Text(collation="C"), **kw)


def version() -> sa.Column:
    return sa.Column("version", sa.BigInteger, nullable=False)


def upgrade() -> None:
    op.create_table(
        "rp_movements",
        key_column("movement_id", primary_key=True),
        path_column("unit_path", nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("level", sa.Text),
        sa.Column("issuing_body", sa.Text),
        sa.Column("starts_on", sa.Date),
        sa.Column("ends_on", sa.Date),
        sa.Column("objectives", JSONB, nullable=False),
        sa.Column("phases", JSONB, nullable=False),
        version(),
    )
    op.create_table(
        "rp_documents",
        key_column("document_id", primary_key=True),
        path_column("unit_path", nullable=False),
        sa.Column("movement_id", sa.Text),
        sa.Column("doc_type", sa.Text),
        sa.Column("doc_type_name", sa.Text),
        sa.Column("number", sa.Text),
        sa.Column("issued_on", sa.Date),
        sa.Column("issuing_body", sa.Text),
        sa.Column("summary", sa.Text),
        sa.Column("signer", sa.Text),
        version(),
    )
    op.create_index("ix_rp_documents_path_date", "rp_documents", ["unit_path", "issued_on"])
    op.create_table(
        "rp_emulation_activities",
        key_column("activity_id", primary_key=True),
        path_column("unit_path", nullable=False),
        sa.Column("movement_id", sa.Text),
        sa.Column("year", sa.SmallInteger),
        sa.Column("quarter", sa.SmallInteger),
        sa.Column("held_on", sa.Date),
        sa.Column("kind", sa.Text),
        sa.Column("kind_name", sa.Text),
        sa.Column("group_name", sa.Text),
        sa.Column("measure", sa.Text),
        sa.Column("count", sa.BigInteger),
        sa.Column("participants", sa.BigInteger),
        sa.Column("title", sa.Text),
        sa.Column("removed", sa.Boolean, nullable=False, server_default="false"),
        version(),
    )
    op.create_index("ix_rp_emulation_activities_path_year", "rp_emulation_activities", ["unit_path", "year"])
    op.create_table(
        "rp_targets",
        key_column("target_id", primary_key=True),
        path_column("unit_path", nullable=False),
        sa.Column("movement_id", sa.Text),
        sa.Column("year", sa.SmallInteger),
        sa.Column("indicator", sa.Text, nullable=False),
        sa.Column("measure_unit", sa.Text),
        sa.Column("value", sa.Numeric),
        sa.Column("upper", sa.Numeric),
        path_column("parent_path"),
        sa.Column("parent_value", sa.Numeric),
        version(),
    )
    op.create_index("ix_rp_targets_path_year", "rp_targets", ["unit_path", "year"])
    op.create_table(
        "rp_scores",
        key_column("score_id", primary_key=True),
        path_column("unit_path", nullable=False),
        sa.Column("movement_id", sa.Text),
        sa.Column("year", sa.SmallInteger),
        sa.Column("level", sa.Text),
        sa.Column("total", sa.Numeric),
        sa.Column("criteria", JSONB, nullable=False),
        version(),
    )
    op.create_index("ix_rp_scores_path_year", "rp_scores", ["unit_path", "year"])
    op.create_table(
        "rp_exemplars",
        key_column("exemplar_id", primary_key=True),
        path_column("unit_path", nullable=False),
        sa.Column("movement_id", sa.Text),
        sa.Column("kind", sa.Text),
        sa.Column("name", sa.Text),
        sa.Column("summary", sa.Text),
        sa.Column("recognised_by", sa.Text),
        sa.Column("recognised_on", sa.Date),
        sa.Column("document_number", sa.Text),
        sa.Column("withdrawn", sa.Boolean, nullable=False, server_default="false"),
        version(),
    )
    op.create_table(
        "rp_awards",
        key_column("nomination_id", primary_key=True),
        path_column("unit_path", nullable=False),
        sa.Column("movement_id", sa.Text),
        sa.Column("year", sa.SmallInteger),
        sa.Column("form", sa.Text),
        sa.Column("form_name", sa.Text),
        sa.Column("category", sa.Text),
        sa.Column("nominee_kind", sa.Text),
        sa.Column("nominee_name", sa.Text),
        key_column("award_id"),
        sa.Column("decision_number", sa.Text),
        sa.Column("decision_date", sa.Date),
        sa.Column("awarding_level", sa.Text),
        sa.Column("awarding_authority", sa.Text),
        sa.Column("prize_amount", sa.BigInteger),
        version(),
    )
    op.create_index("ix_rp_awards_award_id", "rp_awards", ["award_id"])
    op.create_table(
        "rp_award_revocations",
        key_column("award_id", primary_key=True),
        path_column("unit_path", nullable=False),
        sa.Column("nomination_id", sa.Text),
        sa.Column("reason", sa.Text),
        sa.Column("decision_number", sa.Text),
        sa.Column("decision_date", sa.Date),
        version(),
    )


def downgrade() -> None:
    for table in ("rp_award_revocations", "rp_awards", "rp_exemplars", "rp_scores", "rp_targets",
                  "rp_emulation_activities", "rp_documents", "rp_movements"):
        op.drop_table(table)
