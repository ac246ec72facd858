"""Platform tables: outbox, inbox, dead letters, idempotency keys.

Revision ID: gateway_0001
Revises:
"""

from shared.platform_tables import create_platform_tables, drop_platform_tables

revision = "gateway_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_platform_tables()


def downgrade() -> None:
    drop_platform_tables()
