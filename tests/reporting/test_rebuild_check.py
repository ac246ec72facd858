"""Rebuild from the stream ends with the same figures; the check prints every difference it finds."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter

import asyncpg

from services.reporting.operations.check import check
from services.reporting.operations.rebuild import rebuild
from shared.db import asyncpg_dsn
from shared.events import Event
from tests.reporting.conftest import Reporting
from tests.reporting.registry_events import (
    COMMUNES_A,
    PROVINCE,
    Dataset,
    all_unit_events,
    assessed_batch,
    draw,
    province_dataset,
)
from tests.reporting.test_indicators import assert_report


async def _sql(db_url: str, *statements: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def _more(data: Dataset, year: int = 2024) -> list[Event]:
    """New households assessed after the rebuild started."""
    import random

    rng = random.Random(99)
    rows = [draw(rng, f"late-{i:04d}", year, COMMUNES_A[i % 3], 1) for i in range(300)]
    for row in rows:
        data.apply(row)
    return [assessed_batch(rows[:150], "late-1"), assessed_batch(rows[150:], "late-2")]


async def test_rebuild_replays_the_stream_to_the_same_figures(reporting: Reporting) -> None:
    data = province_dataset(households=2000, seed=41)
    await reporting.publish(all_unit_events())
    await reporting.settled(await reporting.publish(data.events))
    before = await reporting.indicators(unit="24", year_from=2023, year_to=2024)
    assert await check(reporting.db_url) == []

    # Damage the projections: counters no longer match their rows, a unit is gone.
    await _sql(reporting.db_url,
               "UPDATE rp_commune_year SET h_poor = h_poor + 5",
               f"DELETE FROM rp_units WHERE path = '{COMMUNES_A[1]}'")
    found = await check(reporting.db_url)
    assert found and all("household rows" in line for line in found)
    assert any(COMMUNES_A[0] in line and " poor:" in line for line in found)

    # Rebuild while the service runs and the registry keeps publishing.
    extra = _more(data)
    rebuilding = asyncio.create_task(rebuild(reporting.db_url, reporting.nats_url, batch=50, log=lambda _: None))
    last = await reporting.publish(extra)
    stats = await rebuilding
    assert stats["failed"] == [] and stats["poison"] == 0
    assert stats["messages"] >= len(all_unit_events()) + len(data.events)
    await reporting.settled(last)

    after = await reporting.indicators(unit="24", year=2023)  # the late households are all in 2024
    for key in ("households", "poor", "near_poor", "members", "poor_rate", "breakdowns", "transitions"):
        assert after["unit"][key] == before["unit"]["series"][0][key], key
    for year in (2023, 2024):
        assert_report(await reporting.indicators(unit="24", year=year), data, year, PROVINCE)
    assert await check(reporting.db_url) == []
    assert {c["path"] for c in (await reporting.indicators(unit="213", hierarchy="v2008"))["children"]} >= {
        COMMUNES_A[1]}, "the deleted unit is back"


async def test_rebuild_refills_the_support_totals_too(reporting: Reporting) -> None:
    from tests.reporting.support_events import catalogue_events, seed_003_deliveries

    await reporting.settled(await reporting.publish(all_unit_events()))
    await reporting.settled(await reporting.publish([*catalogue_events(), *seed_003_deliveries().events]),
                            consumer="reporting-support")
    before = (await reporting.get("/reporting/support/totals", unit=PROVINCE, year=2024)).json()
    assert before["total"]["amount_vnd"] > 0
    await _sql(reporting.db_url, "UPDATE rp_support_totals SET amount_vnd = 0", "DELETE FROM rp_support_catalogue")
    damaged = (await reporting.get("/reporting/support/totals", unit=PROVINCE, year=2024)).json()
    assert damaged["total"]["amount_vnd"] == 0

    stats = await rebuild(reporting.db_url, reporting.nats_url, log=lambda _: None)
    assert stats["failed"] == [] and set(stats["streams"]) == {"REGISTRY", "SUPPORT", "EMULATION"}
    after = (await reporting.get("/reporting/support/totals", unit=PROVINCE, year=2024)).json()
    assert after["programmes"] == before["programmes"] and after["total"] == before["total"]


async def test_check_against_approved_reviews_names_the_commune_that_differs(reporting: Reporting) -> None:
    data = province_dataset(households=500, seed=5)
    await reporting.publish(all_unit_events())
    await reporting.settled(await reporting.publish(data.events))
    good, bad = COMMUNES_A[0], COMMUNES_A[1]
    reviews = []
    for index, path in enumerate((good, bad)):
        counts: Counter[str] = Counter()
        members: Counter[str] = Counter()
        for (hid, year), a in data.final.items():
            if year == 2024 and a.unit_path == path and hid not in data.removed:
                counts[a.status] += 1
                members[a.status] += a.members
        if path == bad:
            counts["poor"] += 1
        reviews.append(Event(type="registry.review.approved", producer="registry", subject_id=f"review-{index}",
                             unit_code=path.rsplit(".", 1)[-1], unit_path=path, version=1,
                             payload={"commune_code": path.rsplit(".", 1)[-1], "year": 2024, "counts": dict(counts),
                                      "members": dict(members), "transitions": {}}))
    await reporting.settled(await reporting.publish(reviews))
    found = await check(reporting.db_url, reviews=True)
    assert len(found) == 1 and found[0].startswith(f"{bad} 2024 poor: projection ")
    assert "approved review" in found[0]


async def test_the_commands_run_from_the_shell(reporting: Reporting) -> None:
    data = province_dataset(households=300, seed=6)
    await reporting.publish(all_unit_events())
    await reporting.settled(await reporting.publish(data.events))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=120)

    help_text = run("services.reporting.operations.check", "--help").stdout
    assert "--registry-url" in help_text and "READ-ONLY" in help_text
    ok = await asyncio.to_thread(run, "services.reporting.operations.check", "--database-url", reporting.db_url)
    assert ok.returncode == 0 and "0 difference(s)" in ok.stdout
    await _sql(reporting.db_url, "UPDATE rp_commune_year SET m_poor = m_poor + 1")
    bad = await asyncio.to_thread(run, "services.reporting.operations.check", "--database-url", reporting.db_url)
    assert bad.returncode == 1 and "projection" in bad.stdout
    rebuilt = await asyncio.to_thread(run, "services.reporting.operations.rebuild", "--database-url", reporting.db_url,
                                      "--nats-url", reporting.nats_url)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "2024:" in rebuilt.stdout and "0 failed" in rebuilt.stdout
    again = await asyncio.to_thread(run, "services.reporting.operations.check", "--database-url", reporting.db_url)
    assert again.returncode == 0, again.stdout
