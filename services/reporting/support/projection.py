"""Projection of the support service's events (docs/events.md "support") into reporting's read models.

Deliveries (`support.delivery.recorded`, `.corrected`, `.voided`, `.recorded_batch`): one row per
delivery in `rp_support_deliveries`, its newest version, and the totals per unit, year, programme and
body (`rp_support_totals`: deliveries, households, persons, turns, amount), per funding source
(`rp_support_funding`) and per measure (`rp_support_quantities`) — kept for the unit where the delivery
happened and for every unit above it, so each unit's row holds its whole subtree. As for the poverty counters, the
SAME statement that upserts a batch of deliveries moves the totals by the difference between each
delivery's old row and its new one (data-modifying CTEs see the snapshot taken before the
statement): a correction that moves a delivery to another programme, unit or year takes it out of
the old totals and into the new ones, a void takes it out, and an event applied twice or late
(an older version) changes nothing. One statement per batch of messages.

The fund ledger (`support.fund.*`): one row per ledger entry, signed (+ into the fund, - out of
it); a transfer is two entries, out of the sending fund and into the receiving one. A reversal
(`support.fund.reversed`) is a line of the kind it cancels with the opposite sign (two for a
transfer's), so the figures summed by kind count it. Entries never change, so a balance is the sum of
a fund's entries, whatever order they arrive in.

Sponsorships, body activities and the catalogue's names keep each subject's latest state
(latest_state.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.events import BadEvent
from services.reporting.latest_state import StateTable, latest_per_key, upsert_latest
from services.reporting.support import rules
from shared.events import Event

DELIVERY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("delivery_id", "text"), ("version", "bigint"), ("unit_path", "text"), ("year", "smallint"),
    ("delivered_on", "date"), ("kind", "text"), ("status", "text"), ("programme", "text"),
    ("programme_category", "text"), ("body", "text"), ("body_kind", "text"), ("body_detail", "text"),
    ("households", "int"), ("persons", "int"), ("turns", "int"), ("amount_vnd", "bigint"), ("funding", "text"),
    ("quantities", "text"), ("household_id", "text"), ("household_status", "text"), ("sponsorship_id", "text"),
    ("import_job_id", "text"),
)
_NAMES = [name for name, _ in DELIVERY_COLUMNS]
_KEY = "unit_path, year, programme, body"
_DELTA_COLUMNS = "unit_path, year, programme, body, households, persons, turns, amount_vnd, funding, quantities"
# Each delivery counts at the unit where it happened and at every unit above it (the hierarchy included):
# the totals of a province or of the country are then a few rows, not one set per commune.
_ANCESTORS = """CROSS JOIN LATERAL (
    SELECT array_to_string((string_to_array(s.unit_path, '.'))[1:n], '.') AS at
    FROM generate_series(1, cardinality(string_to_array(s.unit_path, '.'))) n) a"""

_UPSERT_DELIVERIES = text(f"""
WITH incoming AS (
    SELECT * FROM unnest({", ".join(f"CAST(:{n} AS {t}[])" for n, t in DELIVERY_COLUMNS)})
    AS t({", ".join(_NAMES)})
),
old AS (
    SELECT d.* FROM rp_support_deliveries d JOIN incoming i USING (delivery_id) WHERE d.version < i.version
),
new AS (
    INSERT INTO rp_support_deliveries AS d ({", ".join(_NAMES)})
    SELECT {", ".join(f"{n}::jsonb" if n in ("funding", "quantities") else n for n in _NAMES)} FROM incoming
    ON CONFLICT (delivery_id) DO UPDATE SET
        {", ".join(f"{n} = EXCLUDED.{n}" for n in _NAMES if n != "delivery_id")}
    WHERE d.version < EXCLUDED.version
    RETURNING d.*
),
signed AS (
    SELECT {_DELTA_COLUMNS}, 1 AS sign FROM new WHERE status = 'recorded'
    UNION ALL
    SELECT {_DELTA_COLUMNS}, -1 FROM old WHERE status = 'recorded'
),
delta AS (
    SELECT a.at AS unit_path, s.year, s.programme, s.body, s.households, s.persons, s.turns, s.amount_vnd,
           s.funding, s.quantities, s.sign
    FROM signed s {_ANCESTORS}
),
totals AS (
    INSERT INTO rp_support_totals AS s ({_KEY}, deliveries, households, persons, turns, amount_vnd)
    SELECT {_KEY}, sum(sign), sum(sign * households), sum(sign * COALESCE(persons, 0)),
           sum(sign * COALESCE(turns, 0)), sum(sign * amount_vnd)
    FROM delta GROUP BY {_KEY}
    ON CONFLICT ({_KEY}) DO UPDATE SET
        deliveries = s.deliveries + EXCLUDED.deliveries, households = s.households + EXCLUDED.households,
        persons = s.persons + EXCLUDED.persons, turns = s.turns + EXCLUDED.turns,
        amount_vnd = s.amount_vnd + EXCLUDED.amount_vnd
),
funding AS (
    INSERT INTO rp_support_funding AS s ({_KEY}, source, amount_vnd)
    SELECT {_KEY}, part->>'source', sum(sign * (part->>'amount_vnd')::bigint)
    FROM delta CROSS JOIN LATERAL jsonb_array_elements(funding) part GROUP BY {_KEY}, part->>'source'
    ON CONFLICT ({_KEY}, source) DO UPDATE SET amount_vnd = s.amount_vnd + EXCLUDED.amount_vnd
),
quantities AS (
    INSERT INTO rp_support_quantities AS s ({_KEY}, measure, quantity)
    SELECT {_KEY}, q->>'measure', sum(sign * (q->>'quantity')::numeric)
    FROM delta CROSS JOIN LATERAL jsonb_array_elements(quantities) q GROUP BY {_KEY}, q->>'measure'
    ON CONFLICT ({_KEY}, measure) DO UPDATE SET quantity = s.quantity + EXCLUDED.quantity
)
SELECT count(*) FROM new
""")

_INSERT_FUND_ENTRIES = text("""
INSERT INTO rp_fund_entries (entry_id, fund_id, unit_path, kind, amount_vnd, occurred_on, year, campaign_year,
                             donor_name, donor_kind, receipt_number, purpose, delivery_id, programme,
                             counterpart_fund_id, counterpart_unit_path, note)
SELECT * FROM unnest(
    CAST(:entry_id AS text[]), CAST(:fund_id AS text[]), CAST(:unit_path AS text[]), CAST(:kind AS text[]),
    CAST(:amount_vnd AS bigint[]), CAST(:occurred_on AS date[]), CAST(:year AS smallint[]),
    CAST(:campaign_year AS smallint[]), CAST(:donor_name AS text[]), CAST(:donor_kind AS text[]),
    CAST(:receipt_number AS text[]), CAST(:purpose AS text[]), CAST(:delivery_id AS text[]),
    CAST(:programme AS text[]), CAST(:counterpart_fund_id AS text[]), CAST(:counterpart_unit_path AS text[]),
    CAST(:note AS text[]))
ON CONFLICT (entry_id) DO NOTHING
""")
_FUND_COLUMNS = ("entry_id", "fund_id", "unit_path", "kind", "amount_vnd", "occurred_on", "year", "campaign_year",
                 "donor_name", "donor_kind", "receipt_number", "purpose", "delivery_id", "programme",
                 "counterpart_fund_id", "counterpart_unit_path", "note")

SPONSORSHIPS = StateTable("rp_sponsorships", ("sponsorship_id",), (
    ("unit_path", "text"), ("kind", "text"), ("helper_kind", "text"), ("helper_name", "text"), ("helpers", "int"),
    ("body", "text"), ("households", "int"), ("started_on", "date"), ("ends_on", "date"), ("ended_on", "date"),
    ("commitment", "jsonb"), ("status", "text")))
ACTIVITIES = StateTable("rp_support_activities", ("activity_id",), (
    ("unit_path", "text"), ("body", "text"), ("body_kind", "text"), ("kind", "text"), ("title", "text"),
    ("period_from", "date"), ("period_to", "date"), ("year", "smallint"), ("measures", "jsonb"),
    ("amount_vnd", "bigint"), ("status", "text")))
CATALOGUE = StateTable("rp_support_catalogue", ("catalogue", "code"), (("name", "text"), ("fields", "jsonb")))


async def upsert_deliveries(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    chosen = latest_per_key(rows, ("delivery_id",))
    if chosen:
        await session.execute(_UPSERT_DELIVERIES, {name: [row[name] for row in chosen] for name in _NAMES})


# ---- batch handlers ----------------------------------------------------------------------------
async def on_delivery(session: AsyncSession, events: list[Event]) -> None:
    """`recorded`, `corrected` and `voided`: the payload is the delivery's state at the event's version."""
    await upsert_deliveries(session, [rules.delivery_row(e.payload, e.version, e) for e in events])


async def on_delivery_batch(session: AsyncSession, events: list[Event]) -> None:
    rows: list[dict[str, Any]] = []
    for event in events:
        items = event.payload.get("items")
        if not isinstance(items, list):
            raise BadEvent(f"event {event.id} ({event.type}): payload.items must be a list")
        rows.extend(rules.delivery_row(item, 1, event) for item in items)
    await upsert_deliveries(session, rows)


async def on_fund_entry(session: AsyncSession, events: list[Event]) -> None:
    entries = [entry for event in events for entry in rules.fund_entries(event)]
    await session.execute(_INSERT_FUND_ENTRIES, {c: [e[c] for e in entries] for c in _FUND_COLUMNS})


async def on_sponsorship(session: AsyncSession, events: list[Event]) -> None:
    await upsert_latest(session, SPONSORSHIPS, [rules.sponsorship_row(e) for e in events])


async def on_activity(session: AsyncSession, events: list[Event]) -> None:
    await upsert_latest(session, ACTIVITIES, [rules.activity_row(e) for e in events])


async def on_catalogue(session: AsyncSession, events: list[Event]) -> None:
    await upsert_latest(session, CATALOGUE, [rules.catalogue_row(e) for e in events])


HANDLERS = {
    "support.delivery.recorded": on_delivery,
    "support.delivery.corrected": on_delivery,
    "support.delivery.voided": on_delivery,
    "support.delivery.recorded_batch": on_delivery_batch,
    "support.fund.donation_received": on_fund_entry,
    "support.fund.spent": on_fund_entry,
    "support.fund.refunded": on_fund_entry,
    "support.fund.transferred": on_fund_entry,
    "support.fund.reversed": on_fund_entry,
    "support.sponsorship.started": on_sponsorship,
    "support.sponsorship.ended": on_sponsorship,
    "support.activity.recorded": on_activity,
    "support.activity.voided": on_activity,
    "support.catalogue.changed": on_catalogue,
}
