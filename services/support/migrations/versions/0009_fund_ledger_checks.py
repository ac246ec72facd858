"""The fund ledger's checks: each fund keeps the date of its latest entry (`funds.latest_on`), so a
spend dated before it is checked against the running balance from its date on (never below zero on
any day); a receipt number is recorded once per fund (`uq_fund_entries_receipt`, among the entries
not reversed); an entry is reversed at most once (`fund_entries.reversed_by`, the reversal entry,
set once, and `uq_fund_entries_reversal`).

A fund that already holds two live entries with one receipt number stops this migration: the
message names them, someone decides which one is real (reverse the other) and the migration is run
again.

Revision ID: support_0009
Revises: support_0008
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "support_0009"
down_revision = "support_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("funds", sa.Column("latest_on", sa.Date))
    op.execute("UPDATE funds f SET latest_on = (SELECT max(occurred_on) FROM fund_entries e WHERE e.fund_id = f.id)")
    op.add_column("fund_entries", sa.Column("reversed_by", pg.UUID(as_uuid=True)))
    twice = op.get_bind().execute(sa.text(
        "SELECT fund_id, receipt_number, array_agg(id::text ORDER BY recorded_at) FROM fund_entries "
        "WHERE receipt_number IS NOT NULL GROUP BY fund_id, receipt_number HAVING count(*) > 1")).all()
    if twice:
        listed = "; ".join(f"fund {r[0]} receipt {r[1]!r}: entries {', '.join(r[2])}" for r in twice[:20])
        raise RuntimeError(f"{len(twice)} receipt numbers are recorded more than once in one fund ({listed}). "
                           "Decide which entry of each is real before upgrading.")
    op.create_index("uq_fund_entries_receipt", "fund_entries", ["fund_id", "receipt_number"], unique=True,
                    postgresql_where=sa.text("receipt_number IS NOT NULL AND reversed_by IS NULL"))
    op.create_index("uq_fund_entries_reversal", "fund_entries", ["counterpart_entry_id"], unique=True,
                    postgresql_where=sa.text("kind = 'reversal'"))


def downgrade() -> None:
    op.drop_index("uq_fund_entries_reversal", "fund_entries")
    op.drop_index("uq_fund_entries_receipt", "fund_entries")
    op.drop_column("fund_entries", "reversed_by")
    op.drop_column("funds", "latest_on")
