"""Every change of sponsorships, body activities and catalogue entries kept, as deliveries' already
is: `sponsorship_history`, `activity_history`, `catalogue_history` (services/support/history.py).

What existed before has no past to tell: each existing row gets one entry `existing` at its current
version, by `migration`, with its state then in `after` (the fields services' SNAPSHOT_FIELDS name).

Revision ID: support_0008
Revises: support_0007
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "support_0008"
down_revision = "support_0007"
branch_labels = None
depends_on = None

C = "C"


def _history_columns() -> list[sa.Column]:
    return [sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
            sa.Column("version", sa.Integer, nullable=False),
            sa.Column("action", sa.String(16), nullable=False),
            sa.Column("actor_id", sa.String(100), nullable=False),
            sa.Column("actor_role", sa.String(40)),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
            sa.Column("reason", sa.Text),
            sa.Column("before", pg.JSONB),
            sa.Column("after", pg.JSONB),
            sa.Column("correlation_id", sa.String(128))]


def _scoped(table: str, item_id: str) -> None:
    op.create_table(table, *_history_columns(),
                    sa.Column("unit_path", sa.String(160, collation=C), nullable=False),
                    sa.Column(item_id, pg.UUID(as_uuid=True), nullable=False))
    op.create_index(f"ix_{table}_unit_path", table, ["unit_path"])
    op.create_index(f"ix_{table}_{item_id}", table, [item_id])


def _snapshot(fields: tuple[str, ...]) -> str:
    return "jsonb_build_object(" + ", ".join(f"'{f}', to_jsonb({f})" for f in fields) + ")"


_SPONSORSHIP = ("kind", "helper_kind", "helper_name", "helpers", "body", "household_ids", "started_on", "ends_on",
                "ended_on", "commitment", "status", "note", "end_reason")
_ACTIVITY = ("body", "body_detail", "kind", "title", "period_from", "period_to", "measures", "amount_vnd", "status",
             "note", "void_reason")
_ENTRY = ("name", "active", "fields")


def upgrade() -> None:
    _scoped("sponsorship_history", "sponsorship_id")
    _scoped("activity_history", "activity_id")
    op.create_table("catalogue_history", *_history_columns(),
                    sa.Column("catalogue", sa.String(20, collation=C), nullable=False),
                    sa.Column("code", sa.String(60, collation=C), nullable=False))
    op.create_index("ix_catalogue_history_entry", "catalogue_history", ["catalogue", "code"])
    existing = "gen_random_uuid(), version, 'existing', 'migration', NULL, now(), NULL, NULL"
    op.execute(f"INSERT INTO sponsorship_history (id, version, action, actor_id, actor_role, at, reason, before, "
               f"after, unit_path, sponsorship_id) SELECT {existing}, {_snapshot(_SPONSORSHIP)}, unit_path, id "
               f"FROM sponsorships")
    op.execute(f"INSERT INTO activity_history (id, version, action, actor_id, actor_role, at, reason, before, "
               f"after, unit_path, activity_id) SELECT {existing}, {_snapshot(_ACTIVITY)}, unit_path, id "
               f"FROM activities")
    op.execute(f"INSERT INTO catalogue_history (id, version, action, actor_id, actor_role, at, reason, before, "
               f"after, catalogue, code) SELECT {existing}, {_snapshot(_ENTRY)}, catalogue, code FROM catalogue")


def downgrade() -> None:
    for table in ("catalogue_history", "activity_history", "sponsorship_history"):
        op.drop_table(table)
