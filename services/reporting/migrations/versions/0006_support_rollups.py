"""Support totals per unit *and every unit above it* (the subtree's totals at each ancestor), so that a
province's or the country's totals are a few rows, not one set per commune; filled from the delivery
rows already projected, so no event needs replaying.

Revision ID: reporting_0006
Revises: reporting_0005
"""

from alembic import op

revision = "reporting_0006"
down_revision = "reporting_0005"
branch_labels = None
depends_on = None

_KEY = "unit_path, year, programme, body"
# Each delivery counted at the unit where it happened and at every unit above it (the hierarchy included).
_ANCESTORS = """CROSS JOIN LATERAL (
    SELECT array_to_string((string_to_array(d.unit_path, '.'))[1:n], '.') AS at
    FROM generate_series(1, cardinality(string_to_array(d.unit_path, '.'))) n) a"""


def upgrade() -> None:
    for table in ("rp_support_totals", "rp_support_funding", "rp_support_quantities"):
        op.execute(f"DELETE FROM {table}")
    op.execute(f"""
        INSERT INTO rp_support_totals ({_KEY}, deliveries, households, persons, turns, amount_vnd)
        SELECT a.at, d.year, d.programme, d.body, count(*), sum(d.households), sum(COALESCE(d.persons, 0)),
               sum(COALESCE(d.turns, 0)), sum(d.amount_vnd)
        FROM rp_support_deliveries d {_ANCESTORS} WHERE d.status = 'recorded' GROUP BY 1, 2, 3, 4""")
    op.execute(f"""
        INSERT INTO rp_support_funding ({_KEY}, source, amount_vnd)
        SELECT a.at, d.year, d.programme, d.body, part->>'source', sum((part->>'amount_vnd')::bigint)
        FROM rp_support_deliveries d CROSS JOIN LATERAL jsonb_array_elements(d.funding) part {_ANCESTORS}
        WHERE d.status = 'recorded' GROUP BY 1, 2, 3, 4, 5""")
    op.execute(f"""
        INSERT INTO rp_support_quantities ({_KEY}, measure, quantity)
        SELECT a.at, d.year, d.programme, d.body, q->>'measure', sum((q->>'quantity')::numeric)
        FROM rp_support_deliveries d CROSS JOIN LATERAL jsonb_array_elements(d.quantities) q {_ANCESTORS}
        WHERE d.status = 'recorded' GROUP BY 1, 2, 3, 4, 5""")


def downgrade() -> None:
    # Back to totals at the unit where each delivery happened only.
    for table in ("rp_support_totals", "rp_support_funding", "rp_support_quantities"):
        op.execute(f"DELETE FROM {table}")
    op.execute(f"""
        INSERT INTO rp_support_totals ({_KEY}, deliveries, households, persons, turns, amount_vnd)
        SELECT unit_path, year, programme, body, count(*), sum(households), sum(COALESCE(persons, 0)),
               sum(COALESCE(turns, 0)), sum(amount_vnd)
        FROM rp_support_deliveries WHERE status = 'recorded' GROUP BY 1, 2, 3, 4""")
