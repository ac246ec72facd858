"""The emulation read models: movements, documents issued, activities, targets, scores, exemplary
models, awards and revocations, as the emulation service's events describe them.

Written only by `projection.py` (set-based SQL), so described as tables (the migration
`reporting_0004` creates them).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Date, Numeric, SmallInteger, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

from services.reporting.db import PATH, Base

KEY = Text(collation="C")

movements = Table(
    "rp_movements", Base.metadata,
    Column("movement_id", KEY, primary_key=True),
    Column("unit_path", PATH, nullable=False),
    Column("name", Text, nullable=False),
    Column("level", Text),
    Column("issuing_body", Text),
    Column("starts_on", Date),
    Column("ends_on", Date),
    Column("objectives", JSONB, nullable=False),
    Column("phases", JSONB, nullable=False),
    Column("version", BigInteger, nullable=False),
)

documents = Table(
    "rp_documents", Base.metadata,
    Column("document_id", KEY, primary_key=True),
    Column("unit_path", PATH, nullable=False),
    Column("movement_id", Text),
    Column("doc_type", Text),
    Column("doc_type_name", Text),
    Column("number", Text),
    Column("issued_on", Date),
    Column("issuing_body", Text),
    Column("summary", Text),
    Column("signer", Text),
    Column("version", BigInteger, nullable=False),
)

emulation_activities = Table(
    "rp_emulation_activities", Base.metadata,
    Column("activity_id", KEY, primary_key=True),
    Column("unit_path", PATH, nullable=False),
    Column("movement_id", Text),
    Column("year", SmallInteger),
    Column("quarter", SmallInteger),
    Column("held_on", Date),
    Column("kind", Text),
    Column("kind_name", Text),
    Column("group_name", Text),
    Column("measure", Text),
    Column("count", BigInteger),
    Column("participants", BigInteger),
    Column("title", Text),
    Column("removed", Boolean, nullable=False),
    Column("version", BigInteger, nullable=False),
)

targets = Table(
    "rp_targets", Base.metadata,
    Column("target_id", KEY, primary_key=True),
    Column("unit_path", PATH, nullable=False),
    Column("movement_id", Text),
    Column("year", SmallInteger),
    Column("indicator", Text, nullable=False),
    Column("measure_unit", Text),
    Column("value", Numeric),
    Column("upper", Numeric),
    Column("parent_path", PATH),
    Column("parent_value", Numeric),
    Column("version", BigInteger, nullable=False),
)

scores = Table(
    "rp_scores", Base.metadata,
    Column("score_id", KEY, primary_key=True),
    Column("unit_path", PATH, nullable=False),
    Column("movement_id", Text),
    Column("criteria_set_id", Text),  # the set the unit was scored by (one per scoring unit, year, level)
    Column("scored_by", PATH),  # the unit whose emulation board set those criteria
    Column("year", SmallInteger),
    Column("level", Text),
    Column("total", Numeric),
    Column("criteria", JSONB, nullable=False),
    Column("version", BigInteger, nullable=False),
)

exemplars = Table(
    "rp_exemplars", Base.metadata,
    Column("exemplar_id", KEY, primary_key=True),
    Column("unit_path", PATH, nullable=False),
    Column("movement_id", Text),
    Column("kind", Text),
    Column("name", Text),
    Column("summary", Text),
    Column("recognised_by", Text),
    Column("recognised_on", Date),
    Column("document_number", Text),
    Column("withdrawn", Boolean, nullable=False),
    Column("version", BigInteger, nullable=False),
)

awards = Table(
    "rp_awards", Base.metadata,
    Column("nomination_id", KEY, primary_key=True),
    Column("unit_path", PATH, nullable=False),
    Column("movement_id", Text),
    Column("year", SmallInteger),
    Column("form", Text),
    Column("form_name", Text),
    Column("category", Text),
    Column("nominee_kind", Text),
    Column("nominee_name", Text),
    Column("award_id", KEY),
    Column("decision_number", Text),
    Column("decision_date", Date),
    Column("awarding_level", Text),
    Column("awarding_authority", Text),
    Column("prize_amount", BigInteger),
    Column("version", BigInteger, nullable=False),
)

award_revocations = Table(
    "rp_award_revocations", Base.metadata,
    Column("award_id", KEY, primary_key=True),
    Column("unit_path", PATH, nullable=False),
    Column("nomination_id", Text),
    Column("reason", Text),
    Column("decision_number", Text),
    Column("decision_date", Date),
    Column("version", BigInteger, nullable=False),
)
