"""Quota under contention (issue 12): in each trial, 50 officers submit 50 nominations of one commune
at once against a quota of 10 set by the district; counts the accepted submissions and the nominations
holding a place in the database. Target: 0 over-awards in 20 trials. Also the submissions' latency
(p50 / p95 / max), next to a baseline measured in the same run: the same 50 submissions against no quota.

The emulation app runs in process (its relay and consumers included) on embedded PostgreSQL and NATS;
requests go through its ASGI interface with principals signed like the gateway's.

Usage: .venv/bin/python -m bench.emulation_quota [--trials 20] [--concurrent 50] [--quota 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid

import asyncpg
import httpx

from bench.stack import bench_stack, migrated_database
from services.emulation.main import create_app
from services.emulation.settings import EmulationSettings
from shared.db import asyncpg_dsn
from shared.permissions import ROLE_PERMISSIONS
from shared.principal import PRINCIPAL_HEADER, Principal, PrincipalSigner, ScopeUnit, generate_keypair

DISTRICT, COMMUNE = "v2008.24.213", "v2008.24.213.07207"
DOSSIER = [{"kind": k, "title": k} for k in ("submission", "achievement_report", "meeting_minutes")]


def principal(role: str, path: str, level: str) -> Principal:
    return Principal(id=f"{role}-{uuid.uuid4().hex[:6]}", role=role, permissions=ROLE_PERMISSIONS[role],
                     scopes=(ScopeUnit("v2008", path.rsplit(".", 1)[-1], path, level),), kind="user", name=role)


async def trial(client: httpx.AsyncClient, officer: dict[str, str], board: dict[str, str], year: int, n: int,
                quota: int | None) -> tuple[int, list[float]]:
    if quota is not None:
        answer = await client.post("/emulation/quotas", headers=board, json={
            "unit": "07207", "form": "giay_khen", "year": year, "quota": quota})
        assert answer.status_code == 200, answer.text
    ids = []
    for i in range(n):
        made = await client.post("/emulation/nominations", headers=officer, json={
            "unit": "07207", "year": year, "form": "giay_khen", "achievements": "Vận động quỹ", "dossier": DOSSIER,
            "nominee": {"kind": "individual", "name": f"Cán bộ {i}"}})
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])

    async def submit(nomination_id: str) -> tuple[int, float]:
        t0 = time.monotonic()
        answer = await client.post(f"/emulation/nominations/{nomination_id}/submit", headers=officer)
        return answer.status_code, time.monotonic() - t0

    results = await asyncio.gather(*(submit(i) for i in ids))
    assert {s for s, _ in results} <= {200, 409}, results
    return sum(1 for s, _ in results if s == 200), [t for _, t in results]


def pct(values: list[float], p: float) -> float:
    return sorted(values)[min(len(values) - 1, int(p * len(values)))] * 1000


async def main(trials: int, concurrent: int, quota: int) -> None:
    with bench_stack() as (pg_url, nats_url):
        db_url = await migrated_database(pg_url, "emulation", "bench_quota")
        conn = await asyncpg.connect(asyncpg_dsn(db_url))
        await conn.executemany("INSERT INTO em_units (path, hierarchy, code, name, level, parent_path, version) "
                               "VALUES ($1, 'v2008', $2, $5, $3, $4, 1)", [
                                   ("v2008.24", "24", "province", None, "Bắc Giang"),
                                   (DISTRICT, "213", "district", "v2008.24", "TP Bắc Giang"),
                                   (COMMUNE, "07207", "commune", DISTRICT, "Ngô Quyền")])
        private, public = generate_keypair()
        signer = PrincipalSigner(private, ttl_seconds=3600)
        officer = {PRINCIPAL_HEADER: signer.sign(principal("commune_officer", COMMUNE, "commune"))}
        board = {PRINCIPAL_HEADER: signer.sign(principal("emulation_board", DISTRICT, "district"))}
        app = create_app(EmulationSettings(database_url=db_url, nats_url=nats_url, principal_public_key=public))
        over, accepted, held = 0, [], []
        latencies: list[float] = []
        baseline: list[float] = []
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://emulation", timeout=120) as client:
                for t in range(trials):
                    year = 2000 + t
                    ok, times = await trial(client, officer, board, year, concurrent, quota)
                    in_db = await conn.fetchval("SELECT count(*) FROM em_nominations WHERE year = $1 "
                                                "AND state = 'submitted'", year)
                    over += max(0, ok - quota) + max(0, in_db - quota)
                    accepted.append(ok)
                    held.append(in_db)
                    latencies += times
                    print(f"trial {t + 1:2d}: {ok} accepted, {in_db} held in the database (quota {quota})",
                          flush=True)
                _, baseline = await trial(client, officer, board, 2099, concurrent, None)
        await conn.close()
    load = os.getloadavg()
    print(f"over-awards in {trials} trials of {concurrent} concurrent submissions against a quota of {quota}: "
          f"{over} (target 0); accepted per trial: min {min(accepted)}, max {max(accepted)}; "
          f"held in the database: min {min(held)}, max {max(held)}")
    ratio = statistics.median(latencies) / statistics.median(baseline)
    print(f"submission latency under contention: p50 {pct(latencies, 0.5):.0f} ms, p95 {pct(latencies, 0.95):.0f} ms, "
          f"max {max(latencies) * 1000:.0f} ms; baseline without a quota (same run): p50 {pct(baseline, 0.5):.0f} ms, "
          f"p95 {pct(baseline, 0.95):.0f} ms (ratio p50 {ratio:.2f}×)")
    print(f"machine load average (1/5/15 min): {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--concurrent", type=int, default=50)
    parser.add_argument("--quota", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(main(args.trials, args.concurrent, args.quota))
