"""Compare the projections with the registry's own counts and print every difference.

    python -m services.reporting.operations.check --registry-url URL [--database-url URL] [--year YYYY]
    python -m services.reporting.operations.check --reviews [--database-url URL]

An operator tool. It compares, per commune, review year and status, households and members:
  * always: the commune counters (`rp_commune_year`) against the household rows they sum
    (`rp_household_years`): the projection's own consistency;
  * `--registry-url`: against the registry's database, opened READ-ONLY (a read-only transaction;
    give it a read-only role if you can). This is the one place reporting reads another service's
    tables, on purpose and by hand; it counts, for each household not removed, its latest assessment
    per review year among those the registry published (recognised ones and imported ones);
  * `--reviews`: against the counts each approved annual review published (`registry.review.approved`).
Exit status 0 when everything agrees, 1 when a difference was printed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterable
from typing import Any

import asyncpg

from services.reporting.poverty.counters import STATUSES
from services.reporting.settings import ReportingSettings
from shared.db import asyncpg_dsn

Key = tuple[str, int, str]  # (commune path, year, status)
Counts = dict[Key, tuple[int, int]]  # → (households, members)

_UNPIVOT = ", ".join(f"('{s}', h_{s}, m_{s})" for s in STATUSES)
_COUNTERS = f"""
SELECT c.unit_path, c.year, s.status, s.households, s.members
FROM rp_commune_year c CROSS JOIN LATERAL (VALUES {_UNPIVOT}) AS s(status, households, members)
WHERE ($1::int IS NULL OR c.year = $1) AND (s.households <> 0 OR s.members <> 0)
"""
_ROWS = """
SELECT unit_path, year, status, count(*)::bigint, sum(members)::bigint
FROM rp_household_years WHERE NOT removed AND ($1::int IS NULL OR year = $1) GROUP BY 1, 2, 3
"""
_REVIEWS = """
SELECT DISTINCT ON (unit_path, year) unit_path, year, counts, members
FROM rp_reviews WHERE ($1::int IS NULL OR year = $1) ORDER BY unit_path, year, approved_at DESC
"""
# The registry's schema (services/registry/households/models.py): the counts its events describe.
_REGISTRY = """
SELECT unit_path, review_year, status, count(*)::bigint, sum(member_count)::bigint
FROM (
    SELECT DISTINCT ON (a.household_id, a.review_year) a.unit_path, a.review_year, a.status, a.member_count
    FROM household_assessments a JOIN households h ON h.id = a.household_id
    WHERE h.removed_at IS NULL AND (a.state = 'recognised' OR a.source = 'import')
      AND ($1::int IS NULL OR a.review_year = $1)
    ORDER BY a.household_id, a.review_year, COALESCE(a.recognised_at, a.created_at) DESC, a.id DESC
) latest
GROUP BY 1, 2, 3
"""


def _counts(rows: Iterable[Any]) -> Counts:
    return {(r[0], int(r[1]), r[2]): (int(r[3]), int(r[4] or 0)) for r in rows}


def differences(source: str, ours: Counts, theirs: Counts, keys: Iterable[Key] | None = None) -> list[str]:
    """One line per (commune, year, status) whose households or members differ ("0" when absent)."""
    out = []
    for key in sorted(set(keys) if keys is not None else set(ours) | set(theirs)):
        mine, other = ours.get(key, (0, 0)), theirs.get(key, (0, 0))
        if mine != other:
            path, year, status = key
            out.append(f"{path} {year} {status}: projection {mine[0]} households / {mine[1]} members, "
                       f"{source} {other[0]} / {other[1]}")
    return out


async def _read(url: str, sql: str, year: int | None) -> list[Any]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        async with conn.transaction(readonly=True):
            return list(await conn.fetch(sql, year))
    finally:
        await conn.close()


def _review_counts(rows: list[Any]) -> Counts:
    import json

    out: Counts = {}
    for path, year, counts, members in rows:
        counts = json.loads(counts) if isinstance(counts, str) else counts
        members = json.loads(members) if isinstance(members, str) else members
        for status, households in counts.items():
            out[(path, int(year), status)] = (int(households), int(members.get(status, 0)))
    return out


async def check(database_url: str, registry_url: str | None = None, reviews: bool = False,
                year: int | None = None) -> list[str]:
    counters = _counts(await _read(database_url, _COUNTERS, year))
    found = differences("household rows", counters, _counts(await _read(database_url, _ROWS, year)))
    if registry_url:
        found += differences("registry", counters, _counts(await _read(registry_url, _REGISTRY, year)))
    if reviews:
        published = _review_counts(await _read(database_url, _REVIEWS, year))
        # Only what a review published: communes and years without an approved review are not compared.
        found += differences("approved review", counters, published, keys=published)
    return found


def run_check(database_url: str, registry_url: str | None = None, reviews: bool = False,
              year: int | None = None) -> int:
    found = asyncio.run(check(database_url, registry_url, reviews, year))
    for line in found:
        print(line)
    compared = " and ".join(x for x in ("the registry" if registry_url else "", "approved reviews" if reviews else "")
                            if x) or "their household rows"
    print(f"{len(found)} difference(s) between the projections and {compared}.")
    return 1 if found else 0


def main(argv: list[str] | None = None) -> int:
    settings = ReportingSettings()
    parser = argparse.ArgumentParser(prog="python -m services.reporting.operations.check", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=settings.database_url, help="the reporting database")
    parser.add_argument("--registry-url", help="the registry's database, read-only (e.g. a read-only role)")
    parser.add_argument("--reviews", action="store_true", help="compare with approved reviews' published counts")
    parser.add_argument("--year", type=int, help="only this review year")
    args = parser.parse_args(argv)
    return run_check(args.database_url, args.registry_url, args.reviews, args.year)


if __name__ == "__main__":
    sys.exit(main())
