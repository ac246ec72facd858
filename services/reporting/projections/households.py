"""Household registrations and removals.

`registry.household.removed` takes the household out of the figures of every year (the registry's
own lists leave removed households out): its rows in `rp_household_years` are marked removed and
the commune counters lose them, in one statement; a removal is remembered in `rp_households` so a
late (older) assessment of the household stays out too. `.registered` / `.updated` keep the
household's current registration (commune, size, latest status). Version-aware like everything here.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.projections.counters import add_delta_sql
from shared.events import Event

_SIGNED = "SELECT *, {sign} AS sign FROM {source} WHERE NOT removed"

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


class BadEvent(ValueError):
    """An event (or an item of a batch event) lacks what the projection needs: it will be parked."""


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
