"""DCI's sealed values get a purpose of their own (services/registry/dci/sealing.py).

Until now DCI sealed async requests and answers and callback bodies with the purpose of the stored
Idempotency-Key answers. From this revision DCI seals with its own; the rows sealed before are flagged
`legacy_seal` here (the migration has no keys, so it cannot seal them again itself), and only a flagged
row is opened with the old purpose. The registry's housekeeping seals flagged rows again with DCI's
purpose and clears the flag; so does `services.registry.rekey`.

Revision ID: registry_0008_dci_seal_purpose
Revises: registry_0007_log_by_month
"""

import sqlalchemy as sa
from alembic import op

revision = "registry_0008_dci_seal_purpose"
down_revision = "registry_0007_log_by_month"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("dci_transactions", "dci_deliveries"):
        op.add_column(table, sa.Column("legacy_seal", sa.Boolean, nullable=False, server_default=sa.false()))
    op.execute("UPDATE dci_transactions SET legacy_seal = true "
               "WHERE request_sealed IS NOT NULL OR response_sealed IS NOT NULL")
    op.execute("UPDATE dci_deliveries SET legacy_seal = true")
    for table in ("dci_transactions", "dci_deliveries"):
        op.create_index(f"ix_{table}_legacy_seal", table, ["id"], postgresql_where=sa.text("legacy_seal"))


def downgrade() -> None:
    # Rows sealed with DCI's purpose cannot be opened by the older code: a downgrade loses them
    # (their callbacks are given up, their async answers reported without records).
    for table in ("dci_transactions", "dci_deliveries"):
        op.drop_index(f"ix_{table}_legacy_seal", table_name=table)
        op.drop_column(table, "legacy_seal")
