"""Figures of the periodic reports (issue 13), in one run on embedded PostgreSQL and NATS, the reporting
service as its own uvicorn process, fed through JetStream as the other services feed it:

1. a province's annual report with 1,000,000 households and 200,000 deliveries in the read models:
   opening the draft (figures from the read models), then its DOCX and its XLSX — target <= 3 s in all;
   baseline: the same figures computed from the raw rows (GROUP BY over the household rows and over the
   delivery rows with their funding parts), in the same database;
2. completeness and timeliness of every unit of the country (v2008: 63 provinces, ~700 districts,
   ~11,000 communes) for one period — target <= 200 ms; baseline: its SQL alone;
3. dashboard data of that province: p95 over sequential requests — target <= 50 ms; baseline: the
   province's poverty indicators (one query over the same read models) in the same run.

Usage: .venv/bin/python -m bench.reporting_reports [--households 1000000] [--deliveries 200000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import nats

from bench.reporting_indicators import (
    PROVINCE,
    YEAR,
    Import,
    _healthy,
    _raw_group_by,
    _unit,
    percentile,
    province_units,
    publish,
    start_service,
    wait_for,
)
from bench.stack import bench_stack, migrated_database
from devstack.embedded import free_port
from services.reporting.completeness.repository import counts
from shared.db import Database, asyncpg_dsn
from shared.events import Event
from shared.principal import PRINCIPAL_HEADER, Principal, PrincipalSigner, ScopeUnit, generate_keypair
from shared.streams import ensure_streams

PROGRAMMES = ["nhcsxh_credit", "bhyt_poor", "bhyt_near_poor", "education_costs", "electricity", "housing_new",
              "housing_repair", "sanitation", "monthly_rice", "tet_gifts", "cattle", "vocational_training"]
SOURCES = ["state_central", "state_province", "vnn_fund_province", "vnn_fund_commune", "enterprise", "community"]
BODIES = ["phong_ldtbxh", "mttq", "hlhpn", "hccb", "hctd"]


def country_units() -> list[Event]:
    """62 other provinces of 11 districts of 16 communes: with the bench province, ~12,000 units."""
    events = []
    districts, communes = iter(range(100, 1000)), iter(range(20000, 100000))  # codes unique in the hierarchy
    for p in range(2, 64):
        province = f"v2008.{p:02d}"
        events.append(_unit(province, "province", None, f"Tỉnh Thử Nghiệm {p}"))
        for d in range(11):
            district = f"{province}.{next(districts):03d}"
            events.append(_unit(district, "district", province, f"Huyện {p}-{d}"))
            for c in range(16):
                events.append(_unit(f"{district}.{next(communes):05d}", "commune", district, f"Xã {p}-{d}-{c}"))
    return events


def deliveries(count: int, communes: list[str], rng: random.Random) -> tuple[list[bytes], int]:
    out, total, job = [], 0, str(uuid.uuid4())
    for start in range(0, count, 1000):
        items = []
        for _ in range(start, min(start + 1000, count)):
            path = communes[rng.randrange(len(communes))]
            amount = rng.choice([0, 250_000, 500_000, 1_500_000, 20_000_000, 40_000_000])
            sources = rng.sample(SOURCES, 2)
            first = amount // 3
            funding = [{"source": sources[0], "source_kind": "other", "source_level": None, "amount_vnd": first},
                       {"source": sources[1], "source_kind": "other", "source_level": None,
                        "amount_vnd": amount - first}] if amount else []
            total += amount
            day = date(YEAR, 1, 1) + timedelta(days=rng.randrange(330))
            items.append({"delivery_id": str(uuid.uuid4()), "version": 1, "kind": "household", "status": "recorded",
                          "unit_path": path, "unit_code": path[-5:], "unit_level": "commune", "hierarchy": "v2008",
                          "programme": rng.choice(PROGRAMMES), "programme_category": "other",
                          "delivered_on": day.isoformat(), "year": YEAR, "households": 1, "persons": rng.randint(1, 6),
                          "turns": None, "quantities": [{"measure": "kg", "quantity": "10"}] if rng.random() < .2
                          else [], "amount_vnd": amount, "funding": funding, "body": rng.choice(BODIES),
                          "body_kind": "other", "household_id": str(uuid.uuid4())})
        out.append(Event(type="support.delivery.recorded_batch", producer="support", subject_id=job,
                         unit_path=PROVINCE, unit_code="01", payload={"job_id": job, "items": items}).to_bytes())
    return out, total


async def publish_raw(js: Any, subject: str, bodies: list[bytes]) -> None:
    pending = []
    for body in bodies:
        pending.append(await js.publish_async(subject, body, headers={"Nats-Msg-Id": str(uuid.uuid4())}))
        if len(pending) >= 32:
            await asyncio.gather(*pending)
            pending = []
    await asyncio.gather(*pending)


async def timed(client: httpx.AsyncClient, method: str, url: str, **kw: Any) -> tuple[float, httpx.Response]:
    t = time.perf_counter()
    response = await client.request(method, url, **kw)
    return (time.perf_counter() - t) * 1000, response


async def fill_reports(db_url: str, rng: random.Random) -> int:
    """Reports of two thirds of the country's units for the period, in every state, straight into the table."""
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        units = await conn.fetch("SELECT path, name FROM rp_units WHERE level IN ('province', 'district', 'commune')")
        rows = []
        for u in units:
            if u["path"] != PROVINCE and rng.random() < 0.66:
                submitted = rng.random() < 0.8
                at = f"{YEAR}-11-{rng.randint(1, 30):02d}T03:00:00+00:00" if submitted else None
                state = rng.choice(["submitted", "accepted", "returned"]) if submitted else "draft"
                rows.append((uuid.uuid4(), u["path"], u["name"], "annual", str(YEAR), date(YEAR, 1, 1),
                             date(YEAR, 12, 31), date(YEAR, 11, 20), state, 1, 1,
                             None if at is None else datetime.fromisoformat(at),
                             "bench"))
        await conn.executemany(
            "INSERT INTO rp_reports (id, unit_path, unit_name, report_type, period, period_start, period_end, due_on, "
            "state, version, row_version, first_submitted_at, created_by, created_at, updated_at) "
            "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13, now(), now()) ON CONFLICT DO NOTHING", rows)
        await conn.execute("ANALYZE rp_reports")
        return len(rows)
    finally:
        await conn.close()


async def run(households: int, count: int) -> None:
    rng = random.Random(7)
    with bench_stack() as (pg_url, nats_url):
        db = await migrated_database(pg_url, "reporting", "bench_reports")
        private_pem, public_pem = generate_keypair()
        signer = PrincipalSigner(private_pem, ttl_seconds=3600)
        officer = Principal(id="bench-province", role="province_officer", permissions=frozenset({"*"}),
                            scopes=(ScopeUnit("v2008", "01", PROVINCE, "province"),), name="Cán bộ tỉnh")
        admin = Principal(id="bench-admin", role="admin", permissions=frozenset({"*"}),
                          scopes=(ScopeUnit("v2008", "v2008", "v2008", "national"),))
        province_headers = {PRINCIPAL_HEADER: signer.sign(officer)}
        admin_headers = {PRINCIPAL_HEADER: signer.sign(admin)}
        nc = await nats.connect(nats_url)
        js = nc.jetstream(publish_async_max_pending=256)
        await ensure_streams(js)
        port = free_port()
        service = start_service(db, nats_url, public_pem, port, 50)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=province_headers,
                                         timeout=120) as client:
                await wait_for(lambda: _healthy(client), 60, 0.2)
                unit_events, communes = province_units(600)
                others = country_units()
                await publish(js, unit_events + others)
                data = Import(households, communes)
                await publish(js, data.events())
                delivered, amount = deliveries(count, communes, rng)
                await publish_raw(js, "support.delivery.recorded_batch", delivered)
                del delivered

                async def loaded() -> bool:
                    poverty = (await client.get("/reporting/indicators/poverty",
                                                params={"unit": "01", "year": YEAR})).json()["unit"]
                    support = (await client.get("/reporting/support/totals",
                                                params={"unit": "01", "year": YEAR})).json()["total"]
                    return poverty["households"] == households and support["deliveries"] == count

                started = time.perf_counter()
                await wait_for(loaded, 1200, 0.5)
                print(f"loaded: {len(unit_events) + len(others):,} units, {households:,} households, {count:,} "
                      f"deliveries ({amount / 1e9:,.1f} billion VND) projected in {time.perf_counter() - started:.0f}s")
                # The statistics autovacuum gathers within a minute or so of a load (as bench/reporting_dashboard.py).
                conn = await asyncpg.connect(asyncpg_dsn(db))
                await conn.execute("ANALYZE")
                await conn.close()
                filled = await fill_reports(db, rng)
                print(f"reports of {filled:,} units for the annual period {YEAR} written straight into rp_reports")
                await province_report(client, db, data)
                await completeness(client, admin_headers, db)
                await dashboard(client, db)
        finally:
            service.terminate()
            service.wait(20)
            await nc.close()


async def province_report(client: httpx.AsyncClient, db: str, data: Import) -> None:
    opened_ms, opened = await timed(client, "POST", "/reporting/reports",
                                    json={"unit": PROVINCE, "type": "annual", "period": str(YEAR)})
    assert opened.status_code == 201, opened.text
    rid = opened.json()["id"]
    runs = []
    for _ in range(5):
        read_ms, _ = await timed(client, "GET", f"/reporting/reports/{rid}")
        docx_ms, docx = await timed(client, "GET", f"/reporting/reports/{rid}/document.docx")
        xlsx_ms, xlsx = await timed(client, "GET", f"/reporting/reports/{rid}/document.xlsx")
        assert docx.status_code == xlsx.status_code == 200
        runs.append((read_ms, docx_ms, xlsx_ms))
    read_ms, docx_ms, xlsx_ms = (statistics.median(r[i] for r in runs) for i in range(3))
    conn = await asyncpg.connect(asyncpg_dsn(db))
    raw_households = statistics.median(await _raw_group_by(conn, data.rows, runs=5))
    raw_deliveries = []
    query = ("SELECT programme, part->>'source', count(*), sum((part->>'amount_vnd')::bigint) "
             "FROM rp_support_deliveries d CROSS JOIN LATERAL jsonb_array_elements(d.funding) part "
             "WHERE unit_path > $1 AND unit_path < $2 AND status = 'recorded' GROUP BY 1, 2")
    for _ in range(5):
        t = time.perf_counter()
        await conn.fetch(query, PROVINCE + ".", PROVINCE + "/")
        raw_deliveries.append((time.perf_counter() - t) * 1000)
    await conn.close()
    baseline = raw_households + statistics.median(raw_deliveries)
    total = opened_ms + docx_ms + xlsx_ms
    print(f"PROVINCE ANNUAL REPORT: open the draft {opened_ms:.0f} ms, then (median of 5) read {read_ms:.0f} ms, "
          f"DOCX {docx_ms:.0f} ms ({len(docx.content) / 1024:.0f} KB), XLSX {xlsx_ms:.0f} ms; "
          f"draft + DOCX + XLSX = {total:.0f} ms (target <= 3000 ms)")
    print(f"  baseline: the same counts from the raw rows — GROUP BY over {len(data.rows):,} household rows "
          f"{raw_households:.0f} ms + over the deliveries' funding parts {statistics.median(raw_deliveries):.0f} ms "
          f"= {baseline:.0f} ms; draft + DOCX + XLSX is {total / baseline:.2f}x that")


async def completeness(client: httpx.AsyncClient, admin_headers: dict[str, str], db: str) -> None:
    params: dict[str, Any] = {"unit": "v2008", "type": "annual", "period": str(YEAR), "limit": 50}
    for _ in range(3):
        await client.get("/reporting/completeness", params=params, headers=admin_headers)
    http = []
    for _ in range(30):
        ms, response = await timed(client, "GET", "/reporting/completeness", params=params, headers=admin_headers)
        assert response.status_code == 200, response.text
        http.append(ms)
    body = response.json()
    database = Database(db, pool_size=1)
    sql = []
    async with database.system_session() as session:
        for _ in range(30):
            t = time.perf_counter()
            rows = await counts(session, "v2008", "annual", str(YEAR), date(YEAR, 11, 20), date.today())
            sql.append((time.perf_counter() - t) * 1000)
    await database.dispose()
    totals = body["totals"]
    print(f"COMPLETENESS of every unit of the country ({totals['expected']:,} expected reports, counted in {len(rows)} "
          f"groups; "
          f"{totals['completeness_rate']} % submitted, {totals['timeliness_rate']} % on time, "
          f"{body['overdue']['total']:,} overdue): HTTP p50 {statistics.median(http):.0f} ms, "
          f"p95 {percentile(http, 95):.0f} ms (target <= 200 ms); its SQL alone p50 {statistics.median(sql):.0f} ms "
          f"({statistics.median(http) / statistics.median(sql):.1f}x)")


async def dashboard(client: httpx.AsyncClient, db: str, runs: int = 200) -> None:
    params: dict[str, Any] = {"unit": "01", "year": YEAR}
    for _ in range(20):
        await client.get("/reporting/dashboard", params=params)
        await client.get("/reporting/indicators/poverty", params=params)
    board, base = [], []
    for _ in range(runs):
        ms, response = await timed(client, "GET", "/reporting/dashboard", params=params)
        assert response.status_code == 200
        board.append(ms)
        ms, _ = await timed(client, "GET", "/reporting/indicators/poverty", params=params)
        base.append(ms)
    print(f"DASHBOARD of the province ({len(response.json()['poverty']['children'])} districts, five years, "
          f"{len(response.json()['support']['programmes'])} programmes): p50 {statistics.median(board):.1f} ms, "
          f"p95 {percentile(board, 95):.1f} ms (target <= 50 ms); baseline the province's poverty indicators "
          f"p50 {statistics.median(base):.1f} ms, p95 {percentile(base, 95):.1f} ms "
          f"(dashboard p95 = {percentile(board, 95) / percentile(base, 95):.1f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--deliveries", type=int, default=200_000)
    args = parser.parse_args()
    asyncio.run(run(args.households, args.deliveries))


if __name__ == "__main__":
    main()
