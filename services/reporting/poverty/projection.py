"""Projection of the registry's household events into the poverty read model (models.py).

Assessments (`registry.household.assessed`, `.assessed_batch`): one row per (household, review year) in
`rp_household_years`, and the commune counters. A row is upserted only where the event's version is
newer than the row's, and the SAME statement adjusts `rp_commune_year` by the difference between the old
row and the new one (data-modifying CTEs all see the snapshot taken before the statement, so `old` is
the row as it was). Applying an event twice, or a stale one, changes nothing.

Set-based: one statement per batch of messages, never one per event. A first import takes a cheaper
insert-only statement; the full upsert runs only when some rows were held already. Bulk batches are
staged with COPY into a temporary table (several times faster than binding a million-element array per
column); small ones bind arrays. The projections have one writer at a time (the durable consumer applies
batches under an advisory lock, even with several replicas; a rebuild locks the tables), so `old` is a
plain snapshot read: FOR UPDATE would skip the rows the same statement's upsert changes.

Registrations (`registry.household.registered`, `.updated`, `.removed`): a removal takes the
household out of the figures of every year (the registry's own lists leave removed households out):
its rows in `rp_household_years` are marked removed and the commune counters lose them, in one
statement; a removal is remembered in `rp_households` so a late (older) assessment of the household
stays out too. `.registered` / `.updated` keep the household's current registration (commune, size,
latest status). Version-aware like everything here.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.events import BadEvent
from services.reporting.poverty.counters import STATUSES, add_delta_sql
from services.reporting.sql import driver
from shared.events import Event

STAGE_FROM = 5_000  # rows from which a batch is staged with COPY rather than bound as arrays

_FIELDS = "household_id, year, unit_path, status, transition, members, ethnic_minority, policy_family, " \
          "social_protection, urban, version"
_ARRAYS = f"""
SELECT * FROM unnest(
    CAST(:household_ids AS text[]), CAST(:years AS smallint[]), CAST(:paths AS text[]), CAST(:statuses AS text[]),
    CAST(:transitions AS text[]), CAST(:members AS int[]), CAST(:ethnic AS bool[]), CAST(:policy AS bool[]),
    CAST(:social AS bool[]), CAST(:urban AS bool[]), CAST(:versions AS bigint[]))
AS t({_FIELDS})"""
_STAGED = "SELECT * FROM rp_stage"
_STAGE = [
    "DROP TABLE IF EXISTS pg_temp.rp_stage",
    """CREATE TEMP TABLE rp_stage (household_id text COLLATE "C", year smallint, unit_path text COLLATE "C",
        status text, transition text, members int, ethnic_minority bool, policy_family bool,
        social_protection bool, urban bool, version bigint) ON COMMIT DROP""",
    # A bulk batch: let the statement hash and sort in memory instead of spilling to disk.
    "SET LOCAL work_mem = '256MB'",
]
# The array parameters, in the order of Assessment's fields.
_PARAMS = ("household_ids", "years", "paths", "statuses", "transitions", "members", "ethnic", "policy", "social",
           "urban", "versions")

_ROW_COLUMNS = f"{_FIELDS.replace(', version', '')}, removed, version"
_FROM_INCOMING = """
    SELECT i.household_id, i.year, i.unit_path, i.status, i.transition, i.members, i.ethnic_minority,
           i.policy_family, i.social_protection, i.urban,
           COALESCE(h.removed_version > i.version, false), i.version
    FROM incoming i LEFT JOIN rp_households h ON h.household_id = i.household_id"""
_SIGNED = "SELECT *, {sign} AS sign FROM {source} WHERE NOT removed"


def _insert_new(source: str) -> Any:
    """Fast path: insert the rows not held yet and count them in; answers how many were new."""
    return text(f"""
WITH incoming AS ({source}),
new AS (
    INSERT INTO rp_household_years ({_ROW_COLUMNS}) {_FROM_INCOMING}
    ON CONFLICT (household_id, year) DO NOTHING
    RETURNING *
),
delta AS ({_SIGNED.format(sign=1, source="new")}),
added AS ({add_delta_sql("delta")})
SELECT count(*) FROM new
""")


def _upsert(source: str) -> Any:
    """Full path: rows held with an older version are replaced; the counters move by new minus old."""
    return text(f"""
WITH incoming AS ({source}),
old AS (
    SELECT y.* FROM rp_household_years y JOIN incoming i USING (household_id, year)
    WHERE y.version < i.version
),
new AS (
    INSERT INTO rp_household_years AS y ({_ROW_COLUMNS}) {_FROM_INCOMING}
    ON CONFLICT (household_id, year) DO UPDATE SET
        unit_path = EXCLUDED.unit_path, status = EXCLUDED.status, transition = EXCLUDED.transition,
        members = EXCLUDED.members, ethnic_minority = EXCLUDED.ethnic_minority,
        policy_family = EXCLUDED.policy_family, social_protection = EXCLUDED.social_protection,
        urban = EXCLUDED.urban, removed = EXCLUDED.removed, version = EXCLUDED.version
    WHERE y.version < EXCLUDED.version
    RETURNING y.*
),
delta AS ({_SIGNED.format(sign=1, source="new")} UNION ALL {_SIGNED.format(sign=-1, source="old")})
{add_delta_sql("delta")}
""")


_INSERT_NEW = {"arrays": _insert_new(_ARRAYS), "staged": _insert_new(_STAGED)}
_UPSERT = {"arrays": _upsert(_ARRAYS), "staged": _upsert(_STAGED)}


class Assessment(NamedTuple):
    """One household-year row, in the order of the statement's columns (a tuple: cheap by the million)."""

    household_id: str
    year: int
    unit_path: str
    status: str
    transition: str
    members: int
    ethnic_minority: bool
    policy_family: bool
    social_protection: bool
    urban: bool | None
    version: int


def assessment_of(item: dict[str, Any], event: Event, household_id: Any = None) -> Assessment:
    """An assessed payload (alone, or one item of a batch) as a row; the envelope fills what it lacks."""
    try:
        household = item.get("household_id") or household_id
        path = item.get("unit_path") or event.unit_path
        if not household or not path:
            raise KeyError("household_id and unit_path are required")
        if item.get("status") not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")
        area = item.get("area")
        return Assessment(
            str(household), int(item["review_year"]), str(path), item["status"], str(item.get("transition") or ""),
            int(item.get("member_count") or 0), bool(item.get("ethnic_minority")), bool(item.get("policy_family")),
            bool(item.get("social_protection")), True if area == "urban" else False if area == "rural" else None,
            int(item.get("version") or event.version),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BadEvent(f"event {event.id} ({event.type}): unusable assessment {item!r}: {exc}") from exc


def latest_per_key(rows: list[Assessment]) -> list[Assessment]:
    """One row per (household, year), the highest version (an upsert may touch a row only once)."""
    kept: dict[tuple[str, int], Assessment] = {}
    for row in rows:
        key = (row.household_id, row.year)
        held = kept.get(key)
        if held is None or row.version >= held.version:
            kept[key] = row
    return list(kept.values())


Columns = list[list[Any]]  # one list per Assessment field


def _columns(rows: list[Assessment]) -> Columns:
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in _PARAMS]


_URBAN = {"urban": True, "rural": False}
_STATUS_SET = frozenset(STATUSES)


def _all(values: list[Any], kind: type) -> bool:
    return all(type(v) is kind for v in values)


def _batch_columns(event: Event, items: list[Any]) -> Columns | None:
    """A batch event's items straight into columns, with no Python object per item (bulk imports carry
    a million); None when some item is not plainly well-formed, so the careful path looks at it."""
    path, version = event.unit_path, event.version
    try:
        columns = [
            [it["household_id"] for it in items], [it["review_year"] for it in items],
            [it.get("unit_path") or path for it in items], [it["status"] for it in items],
            [it.get("transition") or "" for it in items], [it.get("member_count") or 0 for it in items],
            [bool(it.get("ethnic_minority")) for it in items], [bool(it.get("policy_family")) for it in items],
            [bool(it.get("social_protection")) for it in items], [_URBAN.get(it.get("area")) for it in items],
            [it.get("version") or version for it in items],
        ]
    except (KeyError, TypeError, AttributeError):
        return None
    ids, years, paths, statuses, transitions, members, *_, versions = columns
    plain = (_all(ids, str) and all(ids) and _all(years, int) and _all(paths, str) and all(paths)
             and _STATUS_SET.issuperset(statuses) and _all(transitions, str) and _all(members, int)
             and _all(versions, int))
    return columns if plain else None


async def upsert_assessments(session: AsyncSession, rows: list[Assessment]) -> None:
    await upsert_columns(session, _columns(latest_per_key(rows)))


async def upsert_columns(session: AsyncSession, columns: Columns) -> None:
    """Upsert rows given as columns; (household, year) must be unique among them."""
    count = len(columns[0])
    if count == 0:
        return
    if count >= STAGE_FROM:
        for statement in _STAGE:
            await session.execute(text(statement))
        raw = await driver(session)
        await raw.copy_records_to_table("rp_stage", records=zip(*columns, strict=True))
        way, params = "staged", {}
    else:
        way, params = "arrays", dict(zip(_PARAMS, columns, strict=True))
    inserted = await session.scalar(_INSERT_NEW[way], params)
    if inserted != count:
        # Some rows were held already: replace those whose version is older (the ones just inserted
        # carry the same version, so the upsert leaves them alone).
        await session.execute(_UPSERT[way], params)


# ---- registrations and removals ----------------------------------------------------------------
_REMOVE = text(f"""
WITH incoming AS (
    SELECT * FROM unnest(CAST(:household_ids AS text[]), CAST(:paths AS text[]), CAST(:versions AS bigint[]))
    AS t(household_id, unit_path, version)
),
registration AS (
    INSERT INTO rp_households AS h (household_id, unit_path, removed, removed_version, version)
    SELECT household_id, unit_path, true, version, version FROM incoming
    ON CONFLICT (household_id) DO UPDATE SET
        removed = true,
        removed_version = GREATEST(h.removed_version, EXCLUDED.removed_version),
        version = GREATEST(h.version, EXCLUDED.version)
),
old AS (
    SELECT y.* FROM rp_household_years y JOIN incoming i USING (household_id)
    WHERE y.version < i.version AND NOT y.removed
),
gone AS (
    UPDATE rp_household_years y SET removed = true, version = i.version
    FROM incoming i
    WHERE y.household_id = i.household_id AND y.version < i.version AND NOT y.removed
),
delta AS ({_SIGNED.format(sign=-1, source="old")})
{add_delta_sql("delta")}
""")

_UPSERT_REGISTRATIONS = text("""
INSERT INTO rp_households AS h (household_id, unit_path, household_code, status, members, version)
SELECT * FROM unnest(CAST(:household_ids AS text[]), CAST(:paths AS text[]), CAST(:codes AS text[]),
                     CAST(:statuses AS text[]), CAST(:members AS int[]), CAST(:versions AS bigint[]))
ON CONFLICT (household_id) DO UPDATE SET
    unit_path = EXCLUDED.unit_path, household_code = EXCLUDED.household_code, status = EXCLUDED.status,
    members = EXCLUDED.members, version = EXCLUDED.version
WHERE h.version < EXCLUDED.version
""")



def _latest_per_household(events: list[Event]) -> list[Event]:
    """The newest version of each household in the batch: older ones would be ignored anyway."""
    latest: dict[str, Event] = {}
    for event in events:
        held = latest.get(event.subject_id)
        if held is None or event.version >= held.version:
            latest[event.subject_id] = event
    return list(latest.values())


async def on_removed(session: AsyncSession, events: list[Event]) -> None:
    chosen = _latest_per_household(events)
    await session.execute(_REMOVE, {
        "household_ids": [e.subject_id for e in chosen], "paths": [e.unit_path or "" for e in chosen],
        "versions": [e.version for e in chosen],
    })


async def on_registered(session: AsyncSession, events: list[Event]) -> None:
    """`registered` and `updated`: the household's current registration (where it lives, its size)."""
    chosen = _latest_per_household(events)
    await session.execute(_UPSERT_REGISTRATIONS, {
        "household_ids": [e.subject_id for e in chosen], "paths": [e.unit_path or "" for e in chosen],
        "codes": [e.payload.get("household_code") for e in chosen],
        "statuses": [e.payload.get("status") for e in chosen],
        "members": [int(e.payload.get("member_count") or 0) for e in chosen],
        "versions": [e.version for e in chosen],
    })


# ---- batch handlers ----------------------------------------------------------------------------
async def on_assessed(session: AsyncSession, events: list[Event]) -> None:
    await upsert_assessments(session, [assessment_of(e.payload, e, e.subject_id) for e in events])


async def on_assessed_batch(session: AsyncSession, events: list[Event]) -> None:
    columns: Columns = [[] for _ in _PARAMS]
    careful: list[Assessment] = []
    for event in events:
        items = event.payload.get("items")
        if not isinstance(items, list):
            raise BadEvent(f"event {event.id} ({event.type}): payload.items must be a list")
        fast = _batch_columns(event, items)
        if fast is None:
            careful.extend(assessment_of(item, event) for item in items)
        else:
            for column, part in zip(columns, fast, strict=True):
                column.extend(part)
    unique = len(set(zip(columns[0], columns[1], strict=True))) == len(columns[0])
    if careful or not unique:  # rare: odd items, or one household twice in the batch
        rows = [Assessment(*row) for row in zip(*columns, strict=True)] + careful
        await upsert_assessments(session, rows)
    else:
        await upsert_columns(session, columns)
