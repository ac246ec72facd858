"""What counting only the communes reviewed in both years costs a full re-score (issue 12).

The scoring statement (services/emulation/scoring/repository.py SCORE_SQL) sums each unit's review
counts over the communes below it that have an approved review in both years (a self-join of
`em_review_counts` on its primary key); before, it summed whatever reviews were there. Both statements
score the same set in one database, alternated: N communes of 34 provinces (v2025, no districts), both
years' counts for 95 % of them; one criteria set scoring every province (the review sums are over
~N/34 communes each) and one scoring every commune. Each run is `EXPLAIN ANALYZE` of the whole INSERT …
SELECT in a transaction rolled back (every score inserted), so runs do not feed each other.
Printed: the median execution time of each statement, their ratio, and the load average.

Usage: .venv/bin/python -m bench.emulation_review_pairs [--communes 10000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import uuid
from typing import Any

import asyncpg

from bench.emulation_scoring import CRITERIA, PROVINCES, YEAR, commune_paths
from bench.stack import bench_stack, migrated_database
from services.emulation.scoring.repository import SCORE_SQL, SESSION_KINDS
from shared.db import asyncpg_dsn

BEFORE_COMMIT = "b845e36^"  # the statement before the both-years rule (b845e36)


def old_statement() -> str:
    source = subprocess.run(["git", "show", f"{BEFORE_COMMIT}:services/emulation/scoring/repository.py"],
                            capture_output=True, text=True, check=True).stdout
    namespace: dict[str, Any] = {}
    exec(compile(source, "old_repository.py", "exec"), namespace)  # noqa: S102 - our own file at a commit
    return str(namespace["SCORE_SQL"].text)


def as_asyncpg(sql: str) -> tuple[str, list[str]]:
    """SQLAlchemy's :name parameters as asyncpg's $n (the names in order of first use)."""
    names: list[str] = []
    out = []
    i = 0
    while i < len(sql):
        if sql[i] == ":" and i + 1 < len(sql) and sql[i + 1].isalpha() and (i == 0 or sql[i - 1] != ":"):
            j = i + 1
            while j < len(sql) and (sql[j].isalnum() or sql[j] == "_"):
                j += 1
            name = sql[i + 1:j]
            if name not in names:
                names.append(name)
            out.append(f"${names.index(name) + 1}")
            i = j
        else:
            out.append(sql[i])
            i += 1
    return "".join(out), names


async def seed(conn: asyncpg.Connection, communes: list[str]) -> tuple[uuid.UUID, dict[str, uuid.UUID]]:
    rng = random.Random(7)
    provinces = sorted({c.rsplit(".", 1)[0] for c in communes})
    await conn.copy_records_to_table("em_units", columns=["path", "hierarchy", "code", "name", "level",
                                                          "parent_path", "version"], records=[
        ("v2025", "v2025", "v2025", "Cả nước", "national", None, 1)] + [
        (p, "v2025", p.rsplit(".", 1)[-1], p, "province", "v2025", 1) for p in provinces] + [
        (c, "v2025", c.rsplit(".", 1)[-1], c, "commune", c.rsplit(".", 1)[0], 1) for c in communes])
    movement = uuid.uuid4()
    await conn.execute(
        "INSERT INTO em_movements (id, unit_path, name, level, issuing_body, starts_on, ends_on, description, "
        "objectives, phases, version, created_by, created_at) VALUES ($1, 'v2025', 'x', 'national', 'x', "
        "'2021-01-01', '2025-12-31', '', '[]', '[]', 1, 'bench', now())", movement)
    sets = {}
    for level in ("province", "commune"):
        sets[level] = uuid.uuid4()
        await conn.execute("INSERT INTO em_criteria_sets (id, unit_path, movement_id, year, level, criteria, version) "
                           "VALUES ($1, 'v2025', $2, $3, $4, $5, 1)", sets[level], movement, YEAR, level,
                           json.dumps(CRITERIA))
    rows = []
    for c in communes:
        for year in (YEAR - 1, YEAR):
            if rng.random() < 0.975:  # ~95 % of the communes have both years
                households = rng.randint(500, 5000)
                rows.append((c, year, households, households // rng.randint(8, 20), households // 15, 1))
    await conn.copy_records_to_table("em_review_counts", columns=["unit_path", "year", "households", "poor",
                                                                  "near_poor", "version"], records=rows)
    await conn.execute("ANALYZE")
    return movement, sets


async def main(communes: int, rounds: int) -> None:
    with bench_stack() as (pg_url, _):
        db_url = await migrated_database(pg_url, "emulation", "bench_review_pairs")
        conn = await asyncpg.connect(asyncpg_dsn(db_url))
        try:
            movement, sets = await seed(conn, commune_paths(communes))
            statements = {"before (all reviews)": as_asyncpg(old_statement()),
                          "after (both years)": as_asyncpg(str(SCORE_SQL.text))}
            for level, set_id in sets.items():
                values = {"level": level, "root": "v2025", "only": [], "year": YEAR, "movement": movement,
                          "set_id": set_id, "criteria": json.dumps(CRITERIA), "session_kinds": SESSION_KINDS}
                times: dict[str, list[float]] = {k: [] for k in statements}
                for _ in range(rounds):
                    for name, (sql, names) in statements.items():
                        times[name].append(await _rolled_back(conn, sql, names, values))
                medians = {k: statistics.median(v) for k, v in times.items()}
                before, after = medians.values()
                print(f"{level} set ({communes if level == 'commune' else PROVINCES} units scored, "
                      f"{communes} communes): " + ", ".join(
                          f"{k} median {m:.0f} ms ({'/'.join(f'{t:.0f}' for t in times[k])})"
                          for k, m in medians.items()) + f"; ratio after/before {after / before:.2f}")
        finally:
            await conn.close()
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


async def _rolled_back(conn: asyncpg.Connection, sql: str, names: list[str], values: dict[str, Any]) -> float:
    tx = conn.transaction()
    await tx.start()
    try:
        plan = await conn.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, *[values[n] for n in names])
    finally:
        await tx.rollback()
    return float(json.loads(plan)[0]["Execution Time"])


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--communes", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.communes, args.rounds))
