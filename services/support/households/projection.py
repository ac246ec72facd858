"""The registry's events into the eligibility read model (docs/events.md "registry").

Units (`registry.unit.changed`), households (`registered`, `updated`, `removed`, `assessed`,
`assessed_batch`: the newest household version wins; an older or repeated event changes nothing;
`restated`, the registry's operator re-announcing a household at its current version: applied as an
update when newer, and at the version held it fills only what the row lacks — indicators, members,
code) and the recognised transitions (from `assessed`, newest version per household and review year,
with the event's time as when the registry recognised it).
`status` is the registry's household status, the recognised one: `registered`, `updated` and `restated`
carry it, `assessed` (a recognition) sets it. An import's `assessed_batch` item is an assessment the
registry only recorded (the household's status stays null there until a review recognises it): it makes
the household known — unit, commune, code, members, member count, indicators — with status null, and
records no transition.
One statement per batch of events; the consumer runs in a system session.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock
from shared.events import Event

_UNITS = text("""
INSERT INTO sp_units AS u (path, hierarchy, code, level, name, parent_path, version)
SELECT * FROM unnest(CAST(:path AS text[]), CAST(:hierarchy AS text[]), CAST(:code AS text[]),
                     CAST(:level AS text[]), CAST(:name AS text[]), CAST(:parent AS text[]), CAST(:version AS int[]))
ON CONFLICT (path) DO UPDATE SET hierarchy = EXCLUDED.hierarchy, code = EXCLUDED.code, level = EXCLUDED.level,
    name = EXCLUDED.name, parent_path = EXCLUDED.parent_path, version = EXCLUDED.version
WHERE u.version <= EXCLUDED.version
""")

# `status` NULL in a `removed` row (a `removed` event) keeps the status held; `deprived` NULL (an event
# that does not carry the indicators: registered, updated, removed) keeps the indicators held, and
# `members` NULL (assessed, removed) the member ids. Both are each row's values joined by commas
# (unnest would flatten an array of arrays).
_HOUSEHOLDS = text("""
INSERT INTO sp_households AS h (id, unit_path, household_code, commune_code, status, status_year, member_count,
                                deprived_indicators, member_ids, removed, version, changed_at, applied_at)
SELECT id, unit_path, household_code, commune_code, status, status_year, COALESCE(member_count, 0),
       string_to_array(deprived, ','), string_to_array(members, ','), removed, version, changed_at, :applied_at
FROM unnest(CAST(:id AS uuid[]), CAST(:unit_path AS text[]), CAST(:household_code AS text[]),
            CAST(:commune_code AS text[]), CAST(:status AS text[]), CAST(:status_year AS int[]),
            CAST(:member_count AS int[]), CAST(:deprived AS text[]), CAST(:members AS text[]), CAST(:removed AS bool[]),
            CAST(:version AS int[]), CAST(:changed_at AS timestamptz[]))
     AS t(id, unit_path, household_code, commune_code, status, status_year, member_count, deprived, members, removed,
          version, changed_at)
ON CONFLICT (id) DO UPDATE SET
    unit_path = EXCLUDED.unit_path, commune_code = EXCLUDED.commune_code,
    household_code = COALESCE(EXCLUDED.household_code, h.household_code),
    status = CASE WHEN EXCLUDED.status IS NULL AND EXCLUDED.removed THEN h.status ELSE EXCLUDED.status END,
    status_year = COALESCE(EXCLUDED.status_year, h.status_year),
    member_count = CASE WHEN EXCLUDED.removed THEN h.member_count ELSE EXCLUDED.member_count END,
    deprived_indicators = COALESCE(EXCLUDED.deprived_indicators, h.deprived_indicators),
    member_ids = COALESCE(EXCLUDED.member_ids, h.member_ids),
    removed = EXCLUDED.removed, version = EXCLUDED.version, changed_at = EXCLUDED.changed_at,
    applied_at = EXCLUDED.applied_at
WHERE h.version < EXCLUDED.version
""")

# `restated` at the version held: fill what older events did not tell, change nothing else.
_FILL = text("""
UPDATE sp_households h SET household_code = COALESCE(h.household_code, t.household_code),
    deprived_indicators = COALESCE(h.deprived_indicators, string_to_array(t.deprived, ',')),
    member_ids = COALESCE(h.member_ids, string_to_array(t.members, ','))
FROM unnest(CAST(:id AS uuid[]), CAST(:household_code AS text[]), CAST(:deprived AS text[]),
            CAST(:members AS text[]), CAST(:version AS int[])) AS t(id, household_code, deprived, members, version)
WHERE h.id = t.id AND h.version = t.version
  AND (h.household_code IS NULL OR h.deprived_indicators IS NULL OR h.member_ids IS NULL)
""")

_TRANSITIONS = text("""
INSERT INTO sp_household_transitions AS t (household_id, review_year, unit_path, status, previous_status,
                                           transition, version, recognised_at)
SELECT * FROM unnest(CAST(:id AS uuid[]), CAST(:year AS int[]), CAST(:unit_path AS text[]), CAST(:status AS text[]),
                     CAST(:previous AS text[]), CAST(:transition AS text[]), CAST(:version AS int[]),
                     CAST(:recognised_at AS timestamptz[]))
ON CONFLICT (household_id, review_year) DO UPDATE SET unit_path = EXCLUDED.unit_path, status = EXCLUDED.status,
    previous_status = EXCLUDED.previous_status, transition = EXCLUDED.transition, version = EXCLUDED.version,
    recognised_at = EXCLUDED.recognised_at
WHERE t.version < EXCLUDED.version
""")

_HOUSEHOLD_KEYS = ("id", "unit_path", "household_code", "commune_code", "status", "status_year", "member_count",
                   "deprived", "members", "removed", "version", "changed_at")


def _newest(rows: list[dict[str, Any]], key: tuple[str, ...]) -> list[dict[str, Any]]:
    """One row per key, the highest version (a batch may hold several changes of one subject)."""
    chosen: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        k = tuple(row[name] for name in key)
        if k not in chosen or chosen[k]["version"] < row["version"]:
            chosen[k] = row
    return list(chosen.values())


def _columns(rows: list[dict[str, Any]], names: tuple[str, ...]) -> dict[str, list[Any]]:
    return {name: [row[name] for row in rows] for name in names}


async def on_unit_changed(session: AsyncSession, events: list[Event]) -> None:
    rows = _newest([{
        "path": str(e.payload.get("path") or e.unit_path or e.subject_id),
        "hierarchy": str(e.payload.get("hierarchy") or str(e.unit_path or e.subject_id).split(".")[0]),
        "code": str(e.payload.get("code")), "level": str(e.payload.get("level")),
        "name": str(e.payload.get("name") or ""), "parent": e.payload.get("parent_path"), "version": e.version,
    } for e in events], ("path",))
    await session.execute(_UNITS, _columns(rows, ("path", "hierarchy", "code", "level", "name", "parent", "version")))


async def _apply_households(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    rows = _newest(rows, ("id",))
    if rows:
        await session.execute(_HOUSEHOLDS, {**_columns(rows, _HOUSEHOLD_KEYS), "applied_at": clock.now()})


def _household_row(event: Event) -> dict[str, Any]:
    p = event.payload
    return {"id": event.subject_id, "unit_path": event.unit_path, "household_code": p.get("household_code"),
            "commune_code": p.get("commune_code") or event.unit_code, "status": p.get("status"),
            "status_year": None, "member_count": p.get("member_count"), "deprived": None,
            "members": _joined(p.get("member_ids")), "removed": False,
            "version": event.version,
            "changed_at": event.occurred_at}


async def on_household(session: AsyncSession, events: list[Event]) -> None:
    """`registered` and `updated`: the payload holds the household's latest recognised status."""
    await _apply_households(session, [_household_row(e) for e in events])


async def on_removed(session: AsyncSession, events: list[Event]) -> None:
    await _apply_households(session, [{**_household_row(e), "status": None, "members": None, "removed": True}
                                      for e in events])


async def on_restated(session: AsyncSession, events: list[Event]) -> None:
    """`restated`: a newer version applies as `updated` would (with the indicators it carries); the
    version held gets only what it lacks."""
    rows = _newest([{**_household_row(e), "status_year": e.payload.get("status_year"),
                     "deprived": _joined(e.payload.get("deprived_indicators")),
                     "changed_at": _time(e.payload.get("updated_at")) or e.occurred_at} for e in events], ("id",))
    await _apply_households(session, rows)
    await session.execute(_FILL, _columns(rows, ("id", "household_code", "deprived", "members", "version")))


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _joined(codes: Any) -> str | None:
    """Codes or ids as one comma-joined text (None: the event does not carry them)."""
    return None if codes is None else ",".join(str(c) for c in codes)


def _assessed_household(item: dict[str, Any], version: int, unit_path: str | None,
                        occurred_at: datetime) -> dict[str, Any]:
    """The household an assessment payload describes, without its status (`on_assessed` adds it)."""
    return {"id": item["household_id"], "unit_path": item.get("unit_path") or unit_path,
            "household_code": item.get("household_code"), "commune_code": item["commune_code"],
            "status": None, "status_year": None, "member_count": item.get("member_count"),
            "deprived": _joined(item.get("deprived_indicators")), "members": _joined(item.get("member_ids")),
            "removed": False, "version": version, "changed_at": occurred_at}


async def on_assessed(session: AsyncSession, events: list[Event]) -> None:
    """A recognition: the household's new status and year, and the transition recognised."""
    households = [{**_assessed_household(e.payload, e.version, e.unit_path, e.occurred_at),
                   "status": e.payload["status"], "status_year": e.payload["review_year"]} for e in events]
    await _apply_households(session, households)
    transitions = _newest([{"id": h["id"], "year": h["status_year"], "unit_path": h["unit_path"],
                            "status": h["status"], "previous": e.payload.get("previous_status"),
                            "transition": e.payload.get("transition"), "version": e.version,
                            "recognised_at": e.occurred_at} for h, e in zip(households, events, strict=True)],
                          ("id", "year"))
    if transitions:
        await session.execute(_TRANSITIONS, _columns(transitions, ("id", "year", "unit_path", "status", "previous",
                                                                   "transition", "version",
                                                                   "recognised_at")))


async def on_assessed_batch(session: AsyncSession, events: list[Event]) -> None:
    """An import's households (new, version 1): known with everything the item tells but the status — the
    item's is an assessment the registry recorded and has not recognised, so the household's status is
    null there, and no transition was recognised."""
    await _apply_households(session, [_assessed_household(item, int(item["version"]), item.get("unit_path"),
                                                          e.occurred_at)
                                      for e in events for item in e.payload.get("items") or []])


HANDLERS = {
    "registry.unit.changed": on_unit_changed,
    "registry.household.registered": on_household,
    "registry.household.updated": on_household,
    "registry.household.removed": on_removed,
    "registry.household.assessed": on_assessed,
    "registry.household.assessed_batch": on_assessed_batch,
    "registry.household.restated": on_restated,
}
