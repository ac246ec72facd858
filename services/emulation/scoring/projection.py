"""The facts automatic criteria are measured from, taken from other services' events (never by calling
them): households by status after each approved annual review (registry), support delivered, the
houses its housing deliveries built or repaired, and donations to the fund not reversed since (support).
Each handler keeps the latest state per subject (a redelivered or older event changes nothing) and queues
the units whose facts it changed, in the same transaction, for the re-scorer (scoring/worker.py), which
scores only those."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import Event

HOUSING, HOUSE = "housing", "house"  # support's programme category and measure (docs/events.md "support")
DONATION = "donation"  # the `reversed_kind` of a reversed donation (support.fund.reversed)

# The counts stored and, in the same statement, the (unit, year) pairs they move queued for the
# re-scorer: a year's counts move its own rate reduction and the next year's.
_REVIEWS = text("""
WITH stored AS (
    INSERT INTO em_review_counts AS r (unit_path, year, households, poor, near_poor, version)
    SELECT * FROM unnest(CAST(:paths AS text[]), CAST(:years AS int[]), CAST(:households AS int[]),
                         CAST(:poor AS int[]), CAST(:near AS int[]), CAST(:versions AS bigint[]))
    ON CONFLICT (unit_path, year) DO UPDATE SET households = EXCLUDED.households, poor = EXCLUDED.poor,
        near_poor = EXCLUDED.near_poor, version = EXCLUDED.version
    WHERE r.version < EXCLUDED.version
    RETURNING unit_path, year
)
INSERT INTO em_rescore_queue (unit_path, year)
SELECT DISTINCT unit_path, year + d FROM stored CROSS JOIN (VALUES (0), (1)) AS moved(d)
ON CONFLICT DO NOTHING
""")

_OLD_DELIVERIES = text("SELECT unit_path, year FROM em_deliveries WHERE delivery_id = ANY(CAST(:ids AS text[]))")

_DELIVERIES = text("""
INSERT INTO em_deliveries AS d (delivery_id, unit_path, year, amount_vnd, households, houses, status, version)
SELECT * FROM unnest(CAST(:ids AS text[]), CAST(:paths AS text[]), CAST(:years AS int[]),
                     CAST(:amounts AS bigint[]), CAST(:households AS int[]), CAST(:houses AS numeric[]),
                     CAST(:statuses AS text[]), CAST(:versions AS bigint[]))
ON CONFLICT (delivery_id) DO UPDATE SET unit_path = EXCLUDED.unit_path, year = EXCLUDED.year,
    amount_vnd = EXCLUDED.amount_vnd, households = EXCLUDED.households, houses = EXCLUDED.houses,
    status = EXCLUDED.status, version = EXCLUDED.version
WHERE d.version < EXCLUDED.version
RETURNING unit_path, year
""")

_DONATIONS = text("""
INSERT INTO em_fund_entries (entry_id, unit_path, year, amount_vnd)
SELECT * FROM unnest(CAST(:ids AS text[]), CAST(:paths AS text[]), CAST(:years AS int[]), CAST(:amounts AS bigint[]))
ON CONFLICT (entry_id) DO NOTHING
RETURNING unit_path, year
""")

# A donation's reversal marks its row once (a redelivered or repeated reversal changes nothing and
# queues nothing); a reversal read before its donation leaves the row already marked, and the donation,
# arriving later, changes nothing (ON CONFLICT DO NOTHING above). Returns the (unit, year) it moved.
_REVERSALS = text("""
INSERT INTO em_fund_entries AS f (entry_id, unit_path, year, amount_vnd, reversed_by)
SELECT * FROM unnest(CAST(:ids AS text[]), CAST(:paths AS text[]), CAST(:years AS int[]), CAST(:amounts AS bigint[]),
                     CAST(:reversals AS text[]))
ON CONFLICT (entry_id) DO UPDATE SET reversed_by = EXCLUDED.reversed_by
WHERE f.reversed_by IS NULL
RETURNING f.unit_path, f.year
""")

_QUEUE = text("""
INSERT INTO em_rescore_queue (unit_path, year)
SELECT * FROM unnest(CAST(:paths AS text[]), CAST(:years AS int[]))
ON CONFLICT DO NOTHING
""")


async def queue_rescore(session: AsyncSession, touched: list[tuple[str, int]]) -> None:
    """Queue them: the re-scorer scores a whole burst once rather than once per consumer batch."""
    if touched:
        await session.execute(_QUEUE, {"paths": [p for p, _ in touched], "years": [y for _, y in touched]})


def _latest(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """One row per subject in a statement: the newest version."""
    found: dict[Any, dict[str, Any]] = {}
    for row in rows:
        if row[key] not in found or found[row[key]]["version"] < row["version"]:
            found[row[key]] = row
    return list(found.values())


async def on_review_approved(session: AsyncSession, batch: list[Event]) -> None:
    rows = []
    for e in batch:
        counts = {k: int(v) for k, v in (e.payload.get("counts") or {}).items()}
        rows.append({"path": e.unit_path, "year": int(e.payload["year"]), "households": sum(counts.values()),
                     "poor": counts.get("poor", 0), "near": counts.get("near_poor", 0), "version": e.version,
                     "key": (e.unit_path, int(e.payload["year"]))})
    rows = _latest(rows, "key")
    await session.execute(_REVIEWS, {
        "paths": [r["path"] for r in rows], "years": [r["year"] for r in rows],
        "households": [r["households"] for r in rows], "poor": [r["poor"] for r in rows],
        "near": [r["near"] for r in rows], "versions": [r["version"] for r in rows]})


def houses(state: dict[str, Any]) -> Decimal:
    """Temporary houses removed by a delivery: the `house` quantities of a housing programme (new house,
    repair — support's catalogue); 0 for any other delivery."""
    if state.get("programme_category") != HOUSING:
        return Decimal(0)
    return sum((Decimal(str(q.get("quantity") or 0)) for q in state.get("quantities") or []
                if q.get("measure") == HOUSE), Decimal(0))


def _delivery(state: dict[str, Any], event: Event) -> dict[str, Any]:
    delivered_on = state.get("delivered_on")
    year = state.get("year") or (date.fromisoformat(str(delivered_on)[:10]).year if delivered_on else None)
    return {"id": str(state["delivery_id"]), "path": str(state.get("unit_path") or event.unit_path),
            "year": int(str(year)), "amount": int(state.get("amount_vnd") or 0),
            "households": int(state.get("households") or 0), "houses": houses(state),
            "status": str(state.get("status") or "recorded"), "version": int(state.get("version") or event.version)}


async def _apply_deliveries(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    rows = _latest(rows, "id")
    ids = [r["id"] for r in rows]
    before = (await session.execute(_OLD_DELIVERIES, {"ids": ids})).all()
    after = (await session.execute(_DELIVERIES, {
        "ids": ids, "paths": [r["path"] for r in rows], "years": [r["year"] for r in rows],
        "amounts": [r["amount"] for r in rows], "households": [r["households"] for r in rows],
        "houses": [r["houses"] for r in rows], "statuses": [r["status"] for r in rows],
        "versions": [r["version"] for r in rows]})).all()
    if after:  # a correction may move a delivery to another unit or year: both are touched
        await queue_rescore(session, sorted({(str(r[0]), int(r[1])) for r in [*before, *after]}))


async def on_delivery(session: AsyncSession, batch: list[Event]) -> None:
    await _apply_deliveries(session, [_delivery(e.payload, e) for e in batch])


async def on_delivery_batch(session: AsyncSession, batch: list[Event]) -> None:
    await _apply_deliveries(session, [_delivery(item, e) for e in batch for item in e.payload.get("items") or []])


async def on_donation(session: AsyncSession, batch: list[Event]) -> None:
    rows = []
    for e in batch:
        p = e.payload
        occurred = date.fromisoformat(str(p["occurred_on"])[:10])
        rows.append({"id": str(p.get("entry_id") or e.subject_id), "path": str(p.get("unit_path") or e.unit_path),
                     "year": int(p.get("year") or occurred.year), "amount": int(p["amount_vnd"])})
    result = await session.execute(_DONATIONS, {"ids": [r["id"] for r in rows], "paths": [r["path"] for r in rows],
                                                "years": [r["year"] for r in rows],
                                                "amounts": [r["amount"] for r in rows]})
    await queue_rescore(session, sorted({(str(r[0]), int(r[1])) for r in result.all()}))


async def on_fund_reversed(session: AsyncSession, batch: list[Event]) -> None:
    """`support.fund.reversed`: a reversed donation stops counting in the year it was counted (its own
    date's year, as `on_donation` keeps it). A reversed spend, refund or transfer changes nothing here:
    no criterion sums them."""
    rows: dict[str, dict[str, Any]] = {}
    for e in batch:
        p = e.payload
        if p.get("reversed_kind") != DONATION:
            continue
        donated = date.fromisoformat(str(p["reversed_occurred_on"])[:10])
        rows.setdefault(str(p["reversed_entry_id"]), {
            "path": str(p.get("unit_path") or e.unit_path), "year": donated.year,
            "amount": int(p["amount_vnd"]), "reversal": str(p.get("entry_id") or e.subject_id)})
    if not rows:
        return
    result = await session.execute(_REVERSALS, {
        "ids": list(rows), "paths": [r["path"] for r in rows.values()], "years": [r["year"] for r in rows.values()],
        "amounts": [r["amount"] for r in rows.values()], "reversals": [r["reversal"] for r in rows.values()]})
    await queue_rescore(session, sorted({(str(r[0]), int(r[1])) for r in result.all()}))
