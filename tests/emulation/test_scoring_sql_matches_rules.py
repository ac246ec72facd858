"""The set-based scoring statement (scoring/repository.py SCORE_SQL) against the pure rules
(scoring/rules.py `measured`, `points`, `total`), for every automatic source, at the commune and the
district level: a province of 16 communes with facts drawn at random (fixed seed) — reviews missing in
one year or the other, a commune with no households, voided deliveries, reversed donations, other years'
facts, removed activities and kinds that are not sessions, facts recorded at a district itself, targets
of 0 and none — scored by SQL, every unit's every criterion computed again in Python and compared exactly."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import asyncpg

from services.emulation.scoring import rules
from services.emulation.scoring.repository import SESSION_KINDS
from shared.db import asyncpg_dsn
from tests.emulation.conftest import PROVINCE, PROVINCE_BOARD, Emulation, launched, load_units
from tests.emulation.events_kit import scores

DISTRICTS = ["v2008.24.213", "v2008.24.215"]
EXTRA = [(f"{DISTRICTS[i % 2]}.08{i:03d}", f"Xã thử {i}", "commune", DISTRICTS[i % 2]) for i in range(12)]
COMMUNES = ["v2008.24.213.07207", "v2008.24.213.07222", "v2008.24.213.07231", "v2008.24.215.07243",
            *(p for p, *_ in EXTRA)]
KINDS = ["broadcast", "news", "propaganda_session", "conference", "training", "inspection"]
CRITERIA = [{"key": s, "name": s, "kind": "auto", "source": s, "weight": 12} for s in rules.SOURCES] + [
    {"key": "lead", "name": "Lãnh đạo", "kind": "manual", "weight": 16}]
YEAR = 2018


def draw(rng: random.Random) -> dict[str, list[tuple[Any, ...]]]:
    facts: dict[str, list[tuple[Any, ...]]] = {"reviews": [], "deliveries": [], "donations": [], "activities": []}
    for i, path in enumerate(COMMUNES):
        for year in (YEAR - 1, YEAR):
            if rng.random() < 0.8:
                households = 0 if i == 5 and year == YEAR else rng.randint(50, 3000)
                poor = rng.randint(0, households // 4)
                facts["reviews"].append((path, year, households, poor, rng.randint(0, (households - poor) // 3)))
    for path in COMMUNES + DISTRICTS:
        for _ in range(rng.randint(0, 3)):
            facts["deliveries"].append((str(uuid.uuid4()), path, rng.choice([YEAR, YEAR, YEAR + 1]),
                                        rng.randint(1, 90) * 1_000_000, rng.randint(1, 9),
                                        Decimal(rng.choice(["0", "1", "2", "0.5"])),
                                        rng.choice(["recorded", "recorded", "voided"])))
        for _ in range(rng.randint(0, 2)):
            facts["donations"].append((str(uuid.uuid4()), path, rng.choice([YEAR, YEAR - 1]),
                                       rng.randint(1, 50) * 500_000,
                                       str(uuid.uuid4()) if rng.random() < 0.25 else None))  # reversed
        for _ in range(rng.randint(0, 3)):
            facts["activities"].append((path, rng.choice(KINDS), rng.choice([YEAR, YEAR, YEAR + 1]),
                                        rng.randint(1, 12), rng.random() < 0.2))
    return facts


def targets(rng: random.Random, movement_id: uuid.UUID) -> list[tuple[Any, ...]]:
    found = []
    for path in COMMUNES + DISTRICTS:
        for source in rules.SOURCES:
            choice = rng.random()
            if choice < 0.25:
                continue  # no target: no points
            value = Decimal(0) if choice < 0.35 else {
                "poor_rate_reduction": Decimal(rng.choice(["0.5", "1.5", "2.0", "3.25"])),
                "near_poor_rate_reduction": Decimal(rng.choice(["0.5", "1.0", "2.5"])),
                "households_escaping_poverty": Decimal(rng.randint(5, 120)),
                "support_delivered": Decimal(rng.randint(10, 200) * 1_000_000),
                "temporary_houses_removed": Decimal(rng.randint(1, 6)),
                "fund_raised": Decimal(rng.randint(1, 40) * 1_000_000),
                "propaganda_sessions": Decimal(rng.randint(1, 20))}[source]
            found.append((uuid.uuid4(), movement_id, path, YEAR, source, value, 1, "test",
                          datetime(2018, 1, 5, tzinfo=UTC)))
    return found


async def store(db_url: str, movement_id: uuid.UUID, facts: dict[str, list[tuple[Any, ...]]],
                goals: list[tuple[Any, ...]], manual: list[tuple[Any, ...]]) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        await conn.executemany("INSERT INTO em_review_counts VALUES ($1, $2, $3, $4, $5, 1)", facts["reviews"])
        await conn.executemany("INSERT INTO em_deliveries (delivery_id, unit_path, year, amount_vnd, households, "
                               "houses, status, version) VALUES ($1, $2, $3, $4, $5, $6, $7, 1)", facts["deliveries"])
        await conn.executemany("INSERT INTO em_fund_entries (entry_id, unit_path, year, amount_vnd, reversed_by) "
                               "VALUES ($1, $2, $3, $4, $5)", facts["donations"])
        await conn.executemany(
            "INSERT INTO em_activities (id, movement_id, unit_path, kind, held_on, year, count, participants, title, "
            "removed, version, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, 'x', $8, 1, now())",
            [(uuid.uuid4(), movement_id, p, k, date(y, 5, 1), y, c, r) for p, k, y, c, r in facts["activities"]])
        await conn.executemany("INSERT INTO em_targets (id, movement_id, unit_path, year, indicator, value, version, "
                               "set_by, set_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)", goals)
        await conn.executemany("INSERT INTO em_manual_scores (id, criteria_set_id, unit_path, criterion, points, "
                               "evidence, given_by, given_at) VALUES ($1, $2, $3, 'lead', $4, 'Biên bản', 'test', "
                               "now())", manual)
    finally:
        await conn.close()


def expected(unit: str, facts: dict[str, list[tuple[Any, ...]]], goals: list[tuple[Any, ...]],
             manual: dict[str, Decimal]) -> tuple[dict[str, tuple[Decimal | None, Decimal | None, Decimal]], Decimal]:
    """Each criterion's (value, target, points) and the total, by scoring.rules from the same facts."""
    def under(path: str) -> bool:
        return path == unit or path.startswith(unit + ".")

    counts = {(p, y): rules.Counts(h, poor, near) for p, y, h, poor, near in facts["reviews"]}
    unit_facts = rules.Facts(
        reviews=tuple((counts.get((c, YEAR - 1)), counts.get((c, YEAR))) for c in COMMUNES if under(c)),
        support_delivered=sum(a for _, p, y, a, _, _, s in facts["deliveries"]
                              if under(p) and y == YEAR and s == "recorded"),
        temporary_houses_removed=sum((h for _, p, y, _, _, h, s in facts["deliveries"]
                                      if under(p) and y == YEAR and s == "recorded"), Decimal(0)),
        fund_raised=sum(a for _, p, y, a, reversed in facts["donations"] if under(p) and y == YEAR and not reversed),
        propaganda_sessions=sum(c for p, k, y, c, removed in facts["activities"]
                                if under(p) and y == YEAR and not removed and k in SESSION_KINDS))
    held_targets = {g[4]: g[5] for g in goals if g[2] == unit}
    shown = {}
    for c in rules.parse_criteria(CRITERIA):
        value = rules.measured(c.source, unit_facts) if c.source else manual.get(unit)
        target = held_targets.get(c.source) if c.source else None
        shown[c.key] = (value, target, rules.points(c, value if c.source else None, target, manual.get(unit)))
    values = {s: rules.measured(s, unit_facts) for s in rules.SOURCES}
    total = rules.total(rules.parse_criteria(CRITERIA), values, held_targets, {"lead": manual.get(unit)})
    return shown, total


def number(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


async def test_the_scoring_statement_computes_what_the_rules_say(emulation: Emulation) -> None:
    await load_units(emulation.db_url, EXTRA)
    movement = await launched(emulation)
    movement_id = uuid.UUID(movement["id"])
    sets = {}
    for level in ("commune", "district"):
        made = await emulation.post(f"/emulation/movements/{movement['id']}/criteria-sets", PROVINCE_BOARD, {
            "unit": "24", "year": YEAR, "level": level, "criteria": CRITERIA})
        assert made.status_code == 200, made.text
        sets[level] = made.json()["id"]
    rng = random.Random(12)
    facts, goals = draw(rng), targets(rng, movement_id)
    assert any(r and y == YEAR for _, _, y, _, r in facts["donations"])  # the draw holds a reversed donation
    manual = {p: Decimal(rng.randint(0, 32)) / 2 for p in rng.sample(COMMUNES + DISTRICTS, 8)}
    await store(emulation.db_url, movement_id, facts, goals, [
        (uuid.uuid4(), uuid.UUID(sets["district" if p in DISTRICTS else "commune"]), p, v) for p, v in manual.items()])
    # The facts went in behind the service's back: re-score both sets on request.
    for set_id in sets.values():
        answer = await emulation.post(f"/emulation/criteria-sets/{set_id}/scores", PROVINCE_BOARD)
        assert answer.status_code == 200, answer.text
    held = await scores(emulation.db_url)
    assert set(held) == {PROVINCE + p[len(PROVINCE):] for p in COMMUNES + DISTRICTS}
    compared = 0
    measured_kinds: dict[str, set[str]] = {s: set() for s in rules.SOURCES}
    for unit in COMMUNES + DISTRICTS:
        want, total = expected(unit, facts, goals, manual)
        got = {c["key"]: (number(c["value"]), number(c["target"]), number(c["points"])) for c in held[unit]["criteria"]}
        assert got == want, unit
        assert Decimal(str(held[unit]["total"])) == total, unit
        for source in rules.SOURCES:
            value, target, points = want[source]
            measured_kinds[source].add("none" if value is None else "no target" if target is None else
                                       "zero target" if target == 0 else "full" if points == 12 else
                                       "nothing" if points == 0 else "part")
            compared += 1
    assert compared == 18 * 7
    # The draw exercises each source's cases: not measured (reviews), no target, a target of 0, met in part.
    for source, cases in measured_kinds.items():
        assert "no target" in cases and cases & {"part", "full", "nothing"}, (source, cases)
    for source in ("poor_rate_reduction", "near_poor_rate_reduction", "households_escaping_poverty"):
        assert "none" in measured_kinds[source], source
    assert {"zero target", "part", "full"} <= set().union(*measured_kinds.values())
