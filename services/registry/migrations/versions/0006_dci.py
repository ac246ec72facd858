"""The DCI Social Registry API: clients, transactions, subscriptions, deliveries, access log.

Revision ID: registry_0006_dci
Revises: registry_0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "registry_0006_dci"
down_revision = "registry_0005"
branch_labels = None
depends_on = None


def _now() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "dci_clients",
        sa.Column("client_id", sa.String(100), primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("callback_urls", pg.ARRAY(sa.String(500)), nullable=False),
        sa.Column("public_keys", pg.JSONB, nullable=False),
        sa.Column("allow_unsigned", sa.Boolean, nullable=False),
        sa.Column("data_profile", sa.String(12), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        _now(),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_by", sa.String(100)),
    )
    op.create_table(
        "dci_transactions",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("client_id", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("mode", sa.String(6), nullable=False),
        sa.Column("message_id", sa.String(99), nullable=False),
        sa.Column("transaction_id", sa.String(99), nullable=False),
        sa.Column("correlation_id", sa.String(99), nullable=False, unique=True),
        sa.Column("status", sa.String(4), nullable=False),
        sa.Column("reference_ids", pg.ARRAY(sa.String(99)), nullable=False),
        sa.Column("principal", pg.JSONB, nullable=False),
        sa.Column("sender_uri", sa.String(500)),
        sa.Column("request_sealed", sa.LargeBinary),
        sa.Column("response_sealed", sa.LargeBinary),
        sa.Column("item_statuses", pg.JSONB, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        _now(),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
    )
    # A message id is used once per client (a replay is refused: rjct.message_id.duplicate).
    op.create_index("ux_dci_transactions_message", "dci_transactions", ["client_id", "message_id"], unique=True)
    op.create_index("ix_dci_transactions_txn", "dci_transactions", ["client_id", "transaction_id"])
    op.create_index("ix_dci_transactions_pending", "dci_transactions", ["created_at"],
                    postgresql_where=sa.text("status = 'pdng'"))
    op.create_table(
        "dci_subscriptions",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("code", sa.String(99), nullable=False, unique=True),
        sa.Column("client_id", sa.String(100), nullable=False),
        sa.Column("transaction_id", sa.String(99), nullable=False),
        sa.Column("reference_id", sa.String(99), nullable=False),
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column("filter", pg.JSONB, nullable=False),
        sa.Column("scope_paths", pg.ARRAY(sa.String(160)), nullable=False),
        sa.Column("sender_uri", sa.String(500), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        _now(),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_dci_subscriptions_active", "dci_subscriptions", ["event_type"],
                    postgresql_where=sa.text("status = 'subscribe'"))
    op.create_table(
        "dci_deliveries",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("message_id", sa.String(99), nullable=False, unique=True),
        sa.Column("client_id", sa.String(100), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("body_sealed", sa.LargeBinary, nullable=False),
        sa.Column("subscription_id", pg.UUID(as_uuid=True)),
        sa.Column("event_id", pg.UUID(as_uuid=True)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.Column("expired_at", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text),
        _now(),
    )
    # One notification per subscription and registry event, however often the event is redelivered.
    op.create_index("ux_dci_deliveries_event", "dci_deliveries", ["subscription_id", "event_id"], unique=True,
                    postgresql_where=sa.text("event_id IS NOT NULL"))
    op.create_index("ix_dci_deliveries_due", "dci_deliveries", ["next_attempt_at"],
                    postgresql_where=sa.text("delivered_at IS NULL AND expired_at IS NULL"))
    op.create_table(
        "dci_access_log",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("client_id", sa.String(100), nullable=False),
        sa.Column("transaction_id", sa.String(99), nullable=False),
        sa.Column("correlation_id", sa.String(99), nullable=False),
        sa.Column("reference_id", sa.String(99), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("query", pg.JSONB, nullable=False),
        sa.Column("household_ids", pg.ARRAY(pg.UUID(as_uuid=True)), nullable=False),
        sa.Column("data_profile", sa.String(12), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_dci_access_log_client_at", "dci_access_log", ["client_id", "at"])
    # Searches by household code from a national or provincial client: no commune prefix to range on.
    op.create_index("ix_dci_households_code", "households", ["household_code"])


def downgrade() -> None:
    op.drop_index("ix_dci_households_code", table_name="households")
    for table in ("dci_access_log", "dci_deliveries", "dci_subscriptions", "dci_transactions", "dci_clients"):
        op.drop_table(table)
