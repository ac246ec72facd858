"""The dashboard data of a province (issue 13: p95 <= 50 ms at 1,000,000 households), in one run on
embedded PostgreSQL and NATS, the reporting service as its own uvicorn process fed through JetStream:

- the units of a whole country (v2008: the bench province of 30 districts and 600 communes, 62 more
  provinces: ~12,300 units), 1,000,000 households of the year in the bench province and 200,000 of the
  year before (`registry.household.assessed_batch`), 200,000 deliveries (`support.delivery.recorded_batch`),
  a "Vì người nghèo" fund per commune and district with donations and spends (`support.fund.*`), a movement,
  targets and scores for every district and commune (`emulation.*`), and annual reports of two thirds of the
  country's units;
- `GET /reporting/dashboard?unit=01&year=` for the province, sequential requests: p50 / p95; then the same
  open loop at a fixed rate (the latency a user sees while others use it);
- baseline in the same run: the province's poverty indicators (`/reporting/indicators/poverty`, one query
  over the same read models).

Usage: .venv/bin/python -m bench.reporting_dashboard [--households 1000000] [--deliveries 200000] [--runs 300]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx
import nats

from bench.openloop import open_loop
from bench.reporting_indicators import (
    PROVINCE,
    YEAR,
    Import,
    _healthy,
    percentile,
    province_units,
    publish,
    start_service,
    wait_for,
)
from bench.reporting_reports import country_units, deliveries, fill_reports, publish_raw, timed
from bench.stack import bench_stack, migrated_database
from devstack.embedded import free_port
from shared.db import Database, asyncpg_dsn
from shared.events import Event
from shared.principal import PRINCIPAL_HEADER, Principal, PrincipalSigner, ScopeUnit, generate_keypair
from shared.streams import ensure_streams

MOVEMENT = "mv-bench"


def _emulation(type_: str, subject: str, unit_path: str, payload: dict[str, Any], version: int = 1) -> Event:
    return Event(type=type_, producer="emulation", subject_id=subject, unit_code=unit_path.rsplit(".", 1)[-1],
                 unit_path=unit_path, version=version, payload=payload)


def emulation_events(units: list[str], rng: random.Random) -> list[Event]:
    """A province movement, the province's targets, a score for every district and commune."""
    events = [_emulation("emulation.movement.launched", MOVEMENT, PROVINCE, {
        "movement_id": MOVEMENT, "name": "Chung tay vì người nghèo", "hierarchy": "v2008", "level": "province",
        "issuing_body": "UBND tỉnh", "starts_on": f"{YEAR - 1}-01-01", "ends_on": f"{YEAR + 1}-12-31",
        "description": "", "objectives": [], "phases": []})]
    targets = (("poor_rate_reduction", "1.5", "percentage_points"), ("poor_rate", "3.5", "percent"))
    for indicator, value, unit in targets:
        target_id = str(uuid.uuid4())
        events.append(_emulation("emulation.target.set", target_id, PROVINCE, {
            "target_id": target_id, "movement_id": MOVEMENT, "year": YEAR, "indicator": indicator,
            "measure_unit": unit, "value": value, "upper": None, "parent_path": None, "parent_value": None}))
    for path in units:
        events.append(_emulation("emulation.score.computed", f"{MOVEMENT}:{YEAR}:{path}", path, {
            "movement_id": MOVEMENT, "year": YEAR, "level": "commune" if path.count(".") == 3 else "district",
            "total": f"{rng.uniform(50, 100):.2f}", "criteria": []}))
    return events


def fund_events(units: list[str], rng: random.Random) -> list[Event]:
    """One fund per unit: three donations over two years and two spends in the year."""
    events = []
    for path in units:
        fund = f"fund-{path}"
        code = path.rsplit(".", 1)[-1]
        level = "commune" if path.count(".") == 3 else "district"
        for n in range(5):
            kind = "donation_received" if n < 3 else "spent"
            day = date(YEAR - 1 if n == 0 else YEAR, 1, 1) + timedelta(days=rng.randrange(300))
            entry = f"{fund}-{n}"
            extra: dict[str, Any] = ({"donor_name": "Doanh nghiệp", "donor_kind": "enterprise", "receipt_number": "PT",
                                      "campaign_year": day.year} if kind == "donation_received" else
                                     {"purpose": "Hỗ trợ hộ nghèo", "delivery_id": None, "programme": "tet_gifts"})
            events.append(Event(type=f"support.fund.{kind}", producer="support", subject_id=entry, unit_code=code,
                                unit_path=path, version=n + 1, payload={
                                    "fund_id": fund, "entry_id": entry, "unit_code": code, "unit_path": path,
                                    "unit_level": level, "hierarchy": "v2008",
                                    "amount_vnd": rng.randrange(1, 50) * 1_000_000, "occurred_on": day.isoformat(),
                                    "year": day.year, "balance_after": 0, **extra}))
    return events


class Previous(Import):
    """The year before: the same kind of import, fewer households (the series has a year to compare)."""

    def events(self) -> list[bytes]:
        import bench.reporting_indicators as indicators

        indicators.YEAR, saved = YEAR - 1, indicators.YEAR
        try:
            return super().events()
        finally:
            indicators.YEAR = saved


async def run(households: int, count: int, runs: int) -> None:
    rng = random.Random(11)
    with bench_stack() as (pg_url, nats_url):
        db = await migrated_database(pg_url, "reporting", "bench_dash")
        private_pem, public_pem = generate_keypair()
        signer = PrincipalSigner(private_pem, ttl_seconds=3600)
        officer = Principal(id="bench-province", role="province_officer", permissions=frozenset({"*"}),
                            scopes=(ScopeUnit("v2008", "01", PROVINCE, "province"),), name="Cán bộ tỉnh")
        nc = await nats.connect(nats_url)
        js = nc.jetstream(publish_async_max_pending=256)
        await ensure_streams(js)
        port = free_port()
        service = start_service(db, nats_url, public_pem, port, 50)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120,
                                         headers={PRINCIPAL_HEADER: signer.sign(officer)}) as client:
                await wait_for(lambda: _healthy(client), 60, 0.2)
                unit_events, communes = province_units(600)
                await publish(js, unit_events + country_units())
                districts = sorted({c.rsplit(".", 1)[0] for c in communes})
                before = Previous(households // 5, communes, seed=2)
                await publish(js, before.events())
                data = Import(households, communes)
                await publish(js, data.events())
                delivered, _ = deliveries(count, communes, rng)
                await publish_raw(js, "support.delivery.recorded_batch", delivered)
                del delivered
                await publish(js, fund_events(districts + communes, rng) + emulation_events(districts + communes, rng))

                async def loaded() -> bool:
                    board = (await client.get("/reporting/dashboard", params={"unit": "01", "year": YEAR})).json()
                    return (board["poverty"]["unit"]["households"] == households
                            and board["support"]["total"]["deliveries"] == count
                            and len(board["ranking"][0]["units"]) == len(districts)
                            and len(board["funds"]["by_unit"]) == len(districts))

                started = time.perf_counter()
                await wait_for(loaded, 1800, 0.5)
                print(f"loaded {households:,} + {before.households:,} households, {count:,} deliveries, "
                      f"{len(districts) + len(communes):,} funds and scores in {time.perf_counter() - started:.0f}s")
                print(f"reports of {await fill_reports(db, rng):,} units written straight into rp_reports")
                # The statistics autovacuum gathers within a minute or so of a load (without them the planner
                # takes the freshly loaded read models for empty and sorts where it should hash).
                conn = await asyncpg.connect(asyncpg_dsn(db))
                await conn.execute("ANALYZE")
                await conn.close()
                await measure(client, runs)
                await reads_alone(db, officer, runs)
        finally:
            service.terminate()
            service.wait(20)
            await nc.close()


async def measure(client: httpx.AsyncClient, runs: int) -> None:
    params: dict[str, Any] = {"unit": "01", "year": YEAR}
    for _ in range(30):
        await client.get("/reporting/dashboard", params=params)
        await client.get("/reporting/indicators/poverty", params=params)
    board, base = [], []
    for _ in range(runs):
        ms, response = await timed(client, "GET", "/reporting/dashboard", params=params)
        assert response.status_code == 200, response.text
        board.append(ms)
        ms, _ = await timed(client, "GET", "/reporting/indicators/poverty", params=params)
        base.append(ms)
    body = response.json()
    print(f"DASHBOARD of the province ({len(body['poverty']['children'])} districts, "
          f"{body['poverty']['unit']['households']:,} households, {len(body['support']['programmes'])} programmes, "
          f"{len(body['funds']['by_unit'])} fund rows, {len(body['ranking'][0]['units'])} ranked, "
          f"{len(response.content) / 1024:.0f} KB), {runs} sequential requests: "
          f"p50 {statistics.median(board):.1f} ms, p95 {percentile(board, 95):.1f} ms (target <= 50 ms)")
    print(f"  baseline, the province's poverty indicators in the same run: p50 {statistics.median(base):.1f} ms, "
          f"p95 {percentile(base, 95):.1f} ms; dashboard p95 = {percentile(board, 95) / percentile(base, 95):.1f}x")
    for rate in (10, 20):
        latencies = await dashboard_open_loop(client, params, rate, seconds=10)
        print(f"  open loop at {rate} requests/s for 10 s ({len(latencies)} requests): "
              f"p50 {statistics.median(latencies):.1f} ms, p95 {percentile(latencies, 95):.1f} ms")


async def reads_alone(db_url: str, principal: Principal, runs: int) -> None:
    """Each read of the dashboard alone, in process on one pooled connection: where the time goes."""
    from services.reporting.completeness import repository as completeness
    from services.reporting.dashboard import repository as dashboard_reads
    from services.reporting.dashboard.service import _TARGETS, DashboardCache, dashboard
    from services.reporting.progress.repository import read_progresses
    from services.reporting.sql import fetch
    from services.reporting.support.repository import catalogue_names, support_rows
    from services.reporting.units.service import locate

    first, last = date(YEAR, 1, 1), date(YEAR, 12, 31)
    reads: dict[str, Any] = {
        "unit, children, scope check": lambda s: locate(s, principal, "01", None),
        "poverty counts (5 + 1 years)": lambda s: dashboard_reads.poverty_counts(s, PROVINCE, YEAR - 5, YEAR),
        "targets": lambda s: fetch(s, _TARGETS, PROVINCE, YEAR),
        "support by programme and source": lambda s: support_rows(s, PROVINCE, first, last,
                                                                  parts=("lines", "funding")),
        "catalogue names": catalogue_names,
        "fund balances": lambda s: dashboard_reads.fund_balances(s, PROVINCE, YEAR),
        "completeness": lambda s: completeness.counts(s, PROVINCE, "annual", str(YEAR), date(YEAR, 11, 20),
                                                      date.today()),
        "scores": lambda s: dashboard_reads.scores(s, PROVINCE, YEAR),
        "freshness": lambda s: read_progresses(s, ["reporting-support", "reporting-emulation"]),
    }
    database = Database(db_url, pool_size=8)
    try:
        async with database.session(principal) as session:
            for name, read in reads.items():
                took = []
                for _ in range(runs // 3):
                    t = time.perf_counter()
                    await read(session)
                    took.append((time.perf_counter() - t) * 1000)
                print(f"  alone: {name:<36} p50 {statistics.median(took):6.2f} ms, p95 {percentile(took, 95):6.2f} ms")
        whole = []
        for _ in range(runs // 3):
            t = time.perf_counter()
            async with database.session(principal) as session:
                await dashboard(session, DashboardCache(0), principal, "01", None, YEAR)
            whole.append((time.perf_counter() - t) * 1000)
        print(f"  the whole dashboard in process, nothing kept (no HTTP): p50 {statistics.median(whole):.1f} ms, "
              f"p95 {percentile(whole, 95):.1f} ms")
    finally:
        await database.dispose()


async def dashboard_open_loop(client: httpx.AsyncClient, params: dict[str, Any], rate: int,
                              seconds: int) -> list[float]:
    """The dashboard asked at a fixed rate whatever the answers do (bench/openloop.py): latencies in ms."""
    async def one() -> None:
        response = await client.get("/reporting/dashboard", params=params)
        assert response.status_code == 200

    run = await open_loop(one, rate, seconds)
    return [s * 1000 for s in run.latencies]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--deliveries", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(run(args.households, args.deliveries, args.runs))


if __name__ == "__main__":
    main()
