"""Annual reviews, village meetings, monthly regular reviews and certificates.

Revision ID: registry_0004
Revises: registry_0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "registry_0004"
down_revision = "registry_0003"
branch_labels = None
depends_on = None

C = "C"


def _path() -> sa.Column:
    return sa.Column("unit_path", sa.String(160, collation=C), nullable=False)


def _at(name: str, nullable: bool = True) -> sa.Column:
    if nullable:
        return sa.Column(name, sa.DateTime(timezone=True), nullable=True)
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()"))


def upgrade() -> None:
    op.create_table(
        "reviews",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        _path(),
        sa.Column("commune_code", sa.String(8), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        # opened → assessments_recorded → meetings_held → posted → decided → approved
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        _at("opened_at", nullable=False),
        sa.Column("opened_by", sa.String(100), nullable=False),
        _at("assessments_recorded_at"),
        sa.Column("posted_from", sa.Date, nullable=True),
        sa.Column("posted_to", sa.Date, nullable=True),
        sa.Column("posting_places", sa.String(300), nullable=True),
        _at("posted_at"),
        sa.Column("decision_number", sa.String(60), nullable=True),
        sa.Column("decision_date", sa.Date, nullable=True),
        sa.Column("decision_signer", sa.String(200), nullable=True),
        _at("decided_at"),
        sa.Column("decided_by", sa.String(100), nullable=True),
        _at("approved_at"),
        sa.Column("approved_by", sa.String(100), nullable=True),
        sa.Column("counts", pg.JSONB, nullable=True),
        sa.Column("members", pg.JSONB, nullable=True),
        sa.Column("transitions", pg.JSONB, nullable=True),
        sa.UniqueConstraint("unit_path", "year", name="reviews_commune_year"),
    )
    op.create_index("ix_reviews_unit_path", "reviews", ["unit_path"])

    op.create_table(
        "review_meetings",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("review_id", pg.UUID(as_uuid=True), sa.ForeignKey("reviews.id"), nullable=False),
        _path(),
        sa.Column("village", sa.String(200), nullable=False),
        sa.Column("held_on", sa.Date, nullable=False),
        sa.Column("attendees", sa.Integer, nullable=False),
        sa.Column("agreeing", sa.Integer, nullable=False),
        sa.Column("minutes_ref", sa.String(200), nullable=True),
        _at("recorded_at", nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
    )
    op.create_index("ix_review_meetings_review", "review_meetings", ["review_id"])

    op.create_table(
        "regular_reviews",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("household_id", pg.UUID(as_uuid=True), sa.ForeignKey("households.id"), nullable=False),
        _path(),
        sa.Column("commune_code", sa.String(8), nullable=False),
        sa.Column("request", sa.String(16), nullable=False),  # enter | exit
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("requested_on", sa.Date, nullable=False),
        sa.Column("deadline", sa.Date, nullable=False),
        sa.Column("state", sa.String(12), nullable=False, server_default="pending"),  # pending | decided
        sa.Column("decided_on", sa.Date, nullable=True),
        sa.Column("decision_number", sa.String(60), nullable=True),
        sa.Column("outcome_status", sa.String(16), nullable=True),
        sa.Column("assessment_id", pg.UUID(as_uuid=True), nullable=True),
        sa.Column("certificate_number", sa.String(40), nullable=True),
        _at("created_at", nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("decided_by", sa.String(100), nullable=True),
    )
    op.create_index("ix_regular_reviews_unit_state", "regular_reviews", ["unit_path", "state", "deadline"])
    op.create_index("ix_regular_reviews_household", "regular_reviews", ["household_id"])

    op.create_table(
        "certificates",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        _path(),
        sa.Column("commune_code", sa.String(8), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("number", sa.String(40), nullable=False),
        sa.Column("household_id", pg.UUID(as_uuid=True), sa.ForeignKey("households.id"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.String(12), nullable=False),  # annual | regular
        sa.Column("review_id", pg.UUID(as_uuid=True), nullable=True),
        sa.Column("regular_review_id", pg.UUID(as_uuid=True), nullable=True),
        sa.Column("issued_on", sa.Date, nullable=False),
        _at("created_at", nullable=False),
        sa.UniqueConstraint("unit_path", "year", "seq", name="certificates_commune_year_seq"),
        sa.UniqueConstraint("unit_path", "year", "number", name="certificates_commune_year_number"),
    )
    op.create_index("ix_certificates_household", "certificates", ["household_id"])

    # Hands out certificate sequence numbers per commune and year without gaps from races:
    # UPDATE ... RETURNING takes a row lock, so concurrent issuers queue.
    op.create_table(
        "certificate_counters",
        sa.Column("unit_path", sa.String(160, collation=C), primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("last_seq", sa.Integer, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("certificate_counters")
    op.drop_table("certificates")
    op.drop_table("regular_reviews")
    op.drop_table("review_meetings")
    op.drop_table("reviews")
