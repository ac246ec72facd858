"""Scoring in PostgreSQL, set-based: one statement scores every unit of a criteria set (or only the
units a late event touched), ranks are counted when read (`scores`). Mirrors scoring.rules (tests compare the two).

These statements run in a system session (consumers) or, marked `skip_scope`, in a caller's session
after the service has checked the caller may change the set: a score is derived for every unit the
set covers, whoever's event or entry caused it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
from sqlalchemy import Select, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.emulation.models import CriteriaSet, ManualScore, Score
from shared import tracing
from shared.context import request_id_var
from shared.db import scope_clause
from shared.errors import not_found
from shared.principal import Principal

# The activities that count as sessions held (movements.rules.ACTIVITY_KINDS).
SESSION_KINDS = ["propaganda_session", "conference", "training"]

SCORE_SQL = text("""
WITH u AS (
    SELECT path, parent_path FROM em_units
    WHERE level = :level AND path > :root || '.' AND path < :root || '/'
      AND (cardinality(CAST(:only AS text[])) = 0 OR path IN (SELECT unnest(CAST(:only AS text[]))))
), rc AS (  -- each unit's review counts over the communes below it (range on the path index) reviewed in both
            -- years: a commune whose review of either year is missing moves nothing (scoring.rules.measured).
            -- Per commune first (both years: two rows of the key (unit_path, year)), then per unit: the same
            -- join as one level of sums (a self-join instead let the planner pair every unit with every row)
    SELECT path, sum(hh) AS hh, sum(poor) AS poor, sum(near) AS near, sum(hh0) AS hh0, sum(poor0) AS poor0,
           sum(near0) AS near0
    FROM (
        SELECT u.path,
               sum(f.households) FILTER (WHERE f.year = :year) AS hh,
               sum(f.poor) FILTER (WHERE f.year = :year) AS poor,
               sum(f.near_poor) FILTER (WHERE f.year = :year) AS near,
               sum(f.households) FILTER (WHERE f.year = :year - 1) AS hh0,
               sum(f.poor) FILTER (WHERE f.year = :year - 1) AS poor0,
               sum(f.near_poor) FILTER (WHERE f.year = :year - 1) AS near0
        FROM u JOIN em_review_counts f ON f.unit_path >= u.path AND f.unit_path < u.path || '/'
        WHERE f.year IN (:year, :year - 1)
        GROUP BY u.path, f.unit_path
        HAVING count(*) = 2
    ) AS communes
    GROUP BY path
), dv AS (
    SELECT u.path, sum(amount_vnd) AS delivered, sum(houses) AS houses
    FROM u JOIN em_deliveries f ON f.unit_path >= u.path AND f.unit_path < u.path || '/'
    WHERE f.year = :year AND f.status = 'recorded'
    GROUP BY u.path
), fe AS (
    SELECT u.path, sum(amount_vnd) AS raised
    FROM u JOIN em_fund_entries f ON f.unit_path >= u.path AND f.unit_path < u.path || '/'
    WHERE f.year = :year AND f.reversed_by IS NULL  -- a reversed donation is not counted
    GROUP BY u.path
), ac AS (
    SELECT u.path, sum(count) AS sessions
    FROM u JOIN em_activities f ON f.unit_path >= u.path AND f.unit_path < u.path || '/'
    WHERE f.movement_id = :movement AND f.year = :year AND NOT f.removed
      AND f.kind = ANY(CAST(:session_kinds AS text[]))
    GROUP BY u.path
), measured AS (
    SELECT u.path, u.parent_path, rc.hh, rc.poor, rc.near, rc.hh0, rc.poor0, rc.near0, dv.delivered, dv.houses,
           fe.raised, ac.sessions
    FROM u LEFT JOIN rc USING (path) LEFT JOIN dv USING (path) LEFT JOIN fe USING (path) LEFT JOIN ac USING (path)
), crit AS (
    SELECT c->>'key' AS key, c->>'kind' AS kind, c->>'source' AS source, (c->>'weight')::numeric AS weight, ord
    FROM jsonb_array_elements(CAST(:criteria AS jsonb)) WITH ORDINALITY AS t(c, ord)
), pts AS (
    SELECT m.path, m.parent_path, crit.key, crit.kind, crit.source, crit.weight, crit.ord,
           CASE crit.source  -- the measured value (scoring.rules.SOURCES)
               WHEN 'poor_rate_reduction' THEN CASE WHEN m.hh0 > 0 AND m.hh > 0
                   THEN round((m.poor0::numeric / m.hh0 - m.poor::numeric / m.hh) * 100, 4) END
               WHEN 'near_poor_rate_reduction' THEN CASE WHEN m.hh0 > 0 AND m.hh > 0
                   THEN round((m.near0::numeric / m.hh0 - m.near::numeric / m.hh) * 100, 4) END
               WHEN 'households_escaping_poverty' THEN CASE WHEN m.hh0 > 0 AND m.hh > 0 THEN m.poor0 - m.poor END
               WHEN 'support_delivered' THEN coalesce(m.delivered, 0)
               WHEN 'temporary_houses_removed' THEN coalesce(m.houses, 0)
               WHEN 'fund_raised' THEN coalesce(m.raised, 0)
               WHEN 'propaganda_sessions' THEN coalesce(m.sessions, 0) END AS value,
           t.value AS target, ms.points AS manual, ms.evidence
    FROM measured m CROSS JOIN crit
    LEFT JOIN em_targets t ON crit.kind = 'auto' AND t.movement_id = :movement AND t.year = :year
         AND t.unit_path = m.path AND t.indicator = crit.source
    LEFT JOIN em_manual_scores ms ON crit.kind = 'manual' AND ms.criteria_set_id = :set_id
         AND ms.unit_path = m.path AND ms.criterion = crit.key
), scored AS (
    SELECT *, CASE
        WHEN kind = 'manual' THEN CASE WHEN manual IS NULL THEN 0 ELSE least(manual, weight) END  -- LEAST skips NULLs
        WHEN value IS NULL OR target IS NULL THEN 0
        WHEN target <= 0 THEN CASE WHEN value >= target THEN weight ELSE 0 END
        ELSE round(weight * greatest(0, least(1, value / target)), 2) END AS points
    FROM pts
), totals AS (
    SELECT path, parent_path, sum(points) AS total,
           jsonb_agg(jsonb_build_object('key', key, 'kind', kind, 'source', coalesce(source, 'manual'),
                                        'weight', weight, 'value', CASE WHEN kind = 'manual' THEN manual ELSE value END,
                                        'target', target, 'points', points, 'evidence', evidence) ORDER BY ord)
               AS criteria
    FROM scored GROUP BY path, parent_path
), written AS (
    INSERT INTO em_scores AS s (id, unit_path, criteria_set_id, movement_id, year, level, parent_path, total,
                                criteria, version, computed_at)
    SELECT gen_random_uuid(), path, :set_id, :movement, :year, :level, parent_path, total, criteria, 1, now()
    FROM totals
    ON CONFLICT (criteria_set_id, unit_path) DO UPDATE SET
        total = EXCLUDED.total, criteria = EXCLUDED.criteria, parent_path = EXCLUDED.parent_path,
        version = s.version + 1, computed_at = EXCLUDED.computed_at
    WHERE s.total IS DISTINCT FROM EXCLUDED.total OR s.criteria IS DISTINCT FROM EXCLUDED.criteria
    RETURNING s.id, s.unit_path, s.version, s.total, s.criteria, s.movement_id, s.criteria_set_id, s.year, s.level
), events AS (  -- each changed score's event id, a UUIDv7: the milliseconds since the epoch, then random bits
    SELECT w.*, encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) PLACING
               substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3) FROM 1 FOR 6),
               52, 1), 53, 1), 'hex')::uuid AS event_id
    FROM written w
)
-- Each changed score's `emulation.score.computed` event, written to the outbox by this statement: the envelope
-- of shared.events.Event.to_dict (same keys, same order, compact head: envelope_field reads it), made here
-- rather than in Python (building and sending 10,000 bodies cost about as much as scoring them).
INSERT INTO outbox (id, subject, body)
SELECT event_id, 'emulation.score.computed', convert_to(
    '{"id":"' || event_id || '","type":"emulation.score.computed","version":' || version
    || ',"occurred_at":"' || to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')
    || '","producer":"emulation","unit_code":' || to_json(split_part(unit_path, '.', -1))::text
    || ',"unit_path":' || to_json(unit_path)::text || ',"subject_id":"' || id || '","correlation_id":'
    || coalesce(to_json(CAST(:correlation_id AS text))::text, 'null')
    || coalesce(',"traceparent":' || to_json(CAST(:traceparent AS text))::text, '')
    || ',"payload":{"movement_id":"' || movement_id || '","criteria_set_id":"' || criteria_set_id
    || '","scored_by":' || to_json(CAST(:root AS text))::text || ',"year":' || year
    || ',"level":' || to_json(level)::text || ',"total":"' || total || '","criteria":' || criteria::text
    || ',"unit_path":' || to_json(unit_path)::text || '}}', 'UTF8')
FROM events
RETURNING id
""").execution_options(skip_scope=True)

# The criteria sets a change to (unit path, year) may move: the set covers the path, and its year
# is that year (or the next, for review counts: a rate reduction compares two years).
AFFECTED_SQL = text("""
SELECT DISTINCT c.id FROM em_criteria_sets c
JOIN unnest(CAST(:paths AS text[]), CAST(:years AS int[])) AS t(path, year)
  ON c.year = t.year AND t.path > c.unit_path || '.' AND t.path < c.unit_path || '/'
""").execution_options(skip_scope=True)


async def compute(session: AsyncSession, s: CriteriaSet, only: list[str]) -> int:
    """Scores the set's units (all, or only those in `only`) and writes an event for each score that changed
    (caused by the current request, in its trace); returns how many changed."""
    result = await session.execute(SCORE_SQL, {
        "level": s.level, "root": s.unit_path, "only": only, "year": s.year, "movement": s.movement_id,
        "set_id": s.id, "criteria": _json(s.criteria), "session_kinds": SESSION_KINDS,
        "correlation_id": request_id_var.get(), "traceparent": tracing.current_traceparent()})
    return len(result.all())


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


async def affected(session: AsyncSession, touched: list[tuple[str, int]]) -> list[CriteriaSet]:
    if not touched:
        return []
    ids = [r[0] for r in await session.execute(AFFECTED_SQL, {"paths": [p for p, _ in touched],
                                                               "years": [y for _, y in touched]})]
    if not ids:
        return []
    # Locked, in one order: two transactions re-scoring the same set take turns, and the later one's
    # statement sees the facts the earlier one committed (READ COMMITTED), so no score misses a fact.
    return list(await session.scalars(select(CriteriaSet).where(CriteriaSet.id.in_(ids)).order_by(CriteriaSet.id)
                                      .with_for_update().execution_options(skip_scope=True)))


async def criteria_set(session: AsyncSession, set_id: UUID, lock: bool = False) -> CriteriaSet:
    query = select(CriteriaSet).where(CriteriaSet.id == set_id)
    if lock:
        query = query.with_for_update()
    found = await session.scalar(query)
    if found is None:
        raise not_found("criteria set", set_id)
    return found


async def set_of(session: AsyncSession, movement_id: UUID, unit_path: str, year: int, level: str,
                 ) -> CriteriaSet | None:
    return await session.scalar(select(CriteriaSet).where(
        CriteriaSet.movement_id == movement_id, CriteriaSet.unit_path == unit_path, CriteriaSet.year == year,
        CriteriaSet.level == level).with_for_update())


async def manual(session: AsyncSession, set_id: UUID, unit_path: str, criterion: str) -> ManualScore | None:
    return await session.scalar(select(ManualScore).where(
        ManualScore.criteria_set_id == set_id, ManualScore.unit_path == unit_path,
        ManualScore.criterion == criterion).with_for_update())


def scores(principal: Principal, movement_id: UUID, path: str | None, year: int | None,
           level: str | None) -> Select[Any]:
    """Scores the caller may read, each with its rank among all the set's units and among its parent's
    (ties share a rank). The ranks are window functions over the whole set — units the caller cannot
    see included —, so the statement applies the scope itself (to the rows shown) and is `skip_scope`."""
    conditions = [Score.movement_id == movement_id]
    if year is not None:
        conditions.append(Score.year == year)
    if level is not None:
        conditions.append(Score.level == level)
    ranked = select(
        Score.id,
        func.rank().over(partition_by=Score.criteria_set_id, order_by=Score.total.desc()).label("rank"),
        func.rank().over(partition_by=(Score.criteria_set_id, Score.parent_path),
                         order_by=Score.total.desc()).label("rank_in_parent"),
    ).where(*conditions).subquery()
    query = (select(Score, ranked.c.rank, ranked.c.rank_in_parent).join(ranked, ranked.c.id == Score.id)
             .where(scope_clause(Score.unit_path, principal.scope_paths)))
    if path is not None:
        query = query.where(scope_clause(Score.unit_path, [path]))
    return query.order_by(Score.year.desc(), Score.level, Score.total.desc(), Score.unit_path) \
        .execution_options(skip_scope=True)
