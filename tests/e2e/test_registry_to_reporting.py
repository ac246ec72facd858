"""Registry → reporting through real events: units loaded, a bulk import, an approved annual review.

The registry and the reporting service run side by side on one NATS; the registry's outbox relay
publishes, the reporting consumer projects. The indicators must equal the registry's own counts, and
the reporting check finds no difference with the registry's database or with the review's counts.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI

from devstack.sample_households import import_file
from services.registry.main import create_app as create_registry
from services.registry.settings import RegistrySettings
from services.registry.units.load import load
from services.reporting.operations.check import check
from shared.crypto import generate_key
from shared.db import asyncpg_dsn
from shared.permissions import ROLE_PERMISSIONS
from tests.kit import Stack, auth_headers, eventually, fresh_database, make_principal, running_app, service_env
from tests.reporting.conftest import Reporting, connect, reporting_app

PROVINCE, DISTRICT = "v2008.24", "v2008.24.213"
COMMUNE, OTHER_COMMUNE = "v2008.24.213.07207", "v2008.24.213.07210"
OFFICER = make_principal("district_officer", [DISTRICT], ROLE_PERMISSIONS["district_officer"], "officer-e2e")


async def registry_sql(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


async def import_households(client: httpx.AsyncClient, app: Any, data: bytes) -> dict[str, Any]:
    response = await client.post("/registry/imports", headers=auth_headers(OFFICER),
                                 files={"file": ("households.csv", data)})
    assert response.status_code == 202, response.text
    await app.state.import_jobs.wait_all()
    job = (await client.get(f"/registry/imports/{response.json()['id']}", headers=auth_headers(OFFICER))).json()
    assert job["status"] == "completed", job.get("errors", job)[:5]
    return job


async def caught_up(registry_url: str, reporting: Reporting) -> None:
    async def done() -> bool:
        unsent = await registry_sql(registry_url, "SELECT count(*) FROM outbox WHERE sent_at IS NULL")
        if unsent[0][0]:
            return False
        status = (await reporting.get("/reporting/status", OFFICER)).json()
        return bool(status["caught_up"])

    await eventually(done, timeout=120, interval=0.3)


async def review_step(client: httpx.AsyncClient, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await client.post(path, json=body, headers=auth_headers(OFFICER))
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


async def approve_review(client: httpx.AsyncClient, commune_code: str, year: int) -> dict[str, Any]:
    review = await review_step(client, "/registry/reviews", {"commune_code": commune_code, "year": year})
    base = f"/registry/reviews/{review['id']}"
    await review_step(client, f"{base}/assessments-recorded")
    await review_step(client, f"{base}/meetings", {"village": "Tổ 1", "held_on": f"{year}-10-05", "attendees": 40,
                                                   "agreeing": 31, "minutes_ref": "BB-01"})
    await review_step(client, f"{base}/posting", {"posted_from": f"{year}-10-10", "posted_to": f"{year}-10-17",
                                                  "places": "nhà văn hoá, UBND phường"})
    await review_step(client, f"{base}/decision", {"decision_number": f"{year}/QĐ-UBND",
                                                   "decision_date": f"{year}-11-20", "signer": "Chủ tịch UBND"})
    return await review_step(client, f"{base}/approve")


@asynccontextmanager
async def side_by_side(stack: Stack, nats_url: str) -> AsyncIterator[tuple[str, FastAPI, httpx.AsyncClient, Reporting]]:
    """The registry (its units loaded) and the reporting service, each on a fresh database, running on one
    NATS: (the registry's database URL, the registry app, its client, the reporting service)."""
    registry_url = await fresh_database(stack, "registry")
    await load(registry_url)  # the registry's own bootstrap: ~14,000 units, each a registry.unit.changed event
    reporting_url = await fresh_database(stack, "reporting")
    nc, js = await connect(nats_url)
    registry = create_registry(RegistrySettings(**service_env("registry", registry_url, nats_url),
                                                personal_data_key=generate_key(),
                                                personal_data_hash_key=generate_key()))
    reporting_service = reporting_app(reporting_url, nats_url)
    try:
        async with running_app(registry) as registry_client, running_app(reporting_service) as reporting_client:
            yield registry_url, registry, registry_client, Reporting(reporting_service, reporting_client, js,
                                                                     reporting_url, nats_url)
    finally:
        await nc.close()


async def test_registry_import_and_review_reach_the_indicators(stack: Stack, nats_url: str) -> None:
    async with side_by_side(stack, nats_url) as (registry_url, registry, registry_client, reporting):
        first = await import_households(registry_client, registry, import_file("07207", 260, 0))
        second = await import_households(registry_client, registry, import_file("07210", 140, 1000))
        await caught_up(registry_url, reporting)

        district = await reporting.indicators(OFFICER, unit="213", hierarchy="v2008", year=2024)
        assert district["unit"]["name"] and district["unit"]["level"] == "district"
        by_path = {c["path"]: c for c in district["children"]}
        for path, job in ((COMMUNE, first), (OTHER_COMMUNE, second)):
            child = by_path[path]
            assert child["name"], "the commune's name came with registry.unit.changed"
            assert (child["households"], child["poor"], child["near_poor"]) == (
                sum(job["counts"].values()), job["counts"].get("poor", 0), job["counts"].get("near_poor", 0))
            listed = await registry_client.get("/registry/households", headers=auth_headers(OFFICER),
                                               params={"unit": path.rsplit(".", 1)[-1], "status": "poor",
                                                       "year": 2024, "limit": 1})
            assert listed.status_code == 200, listed.text
            assert listed.json()["total"] == child["poor"]
        assert district["unit"]["households"] == 400
        assert await check(reporting.db_url, registry_url=registry_url) == []

        review = await approve_review(registry_client, "07207", 2024)
        await caught_up(registry_url, reporting)
        commune = await reporting.indicators(OFFICER, unit=COMMUNE, year=2024)
        assert commune["unit"]["households"] == sum(review["counts"].values())
        assert commune["unit"]["poor"] == review["counts"]["poor"]
        for code, count in review["transitions"].items():
            assert commune["unit"]["transitions"].get(code, 0) == count, code
        assert await check(reporting.db_url, registry_url=registry_url, reviews=True) == []


async def test_a_communes_annual_report_from_events_to_the_districts_consolidation(stack: Stack,
                                                                                  nats_url: str) -> None:
    """Events in (the registry's own import; support and emulation events as their contracts say) → the
    commune's annual draft with figures → narrative → DOCX and XLSX → submitted → returned by the district →
    resubmitted → accepted → the district's consolidated draft and its completeness."""
    from docx import Document
    from openpyxl import load_workbook

    from tests.reporting.emulation_events import seed_003_emulation
    from tests.reporting.report_kit import HEADER, NARRATIVES, officer
    from tests.reporting.support_events import catalogue_events, seed_003_deliveries

    commune, district = officer(COMMUNE), officer(DISTRICT)
    async with side_by_side(stack, nats_url) as (registry_url, registry, registry_client, reporting):
        client = reporting.client
        job = await import_households(registry_client, registry, import_file("07207", 180, 0))
        await reporting.publish([*catalogue_events(), *seed_003_deliveries().events,
                                 *seed_003_emulation(COMMUNE)])
        await caught_up(registry_url, reporting)

        async def send(method: str, path: str, who: Any, etag: str | None = None, **kw: Any) -> httpx.Response:
            headers = auth_headers(who) | ({"If-Match": etag} if etag else {})
            return await client.request(method, path, headers=headers, **kw)

        async def settled_support() -> bool:
            body = (await send("GET", "/reporting/support/totals", commune, params={"year": 2024})).json()
            return body["total"]["deliveries"] == 4  # seed 003's lines recorded in this commune

        await eventually(settled_support)
        opened = await send("POST", "/reporting/reports", commune,
                            json={"unit": "07207", "hierarchy": "v2008", "type": "annual", "period": "2024"})
        assert opened.status_code == 201, opened.text
        draft = opened.json()
        figures = draft["figures"]
        assert figures["poverty.end.households"]["value"] == sum(job["counts"].values())
        assert figures["poverty.end.poor"]["value"] == job["counts"].get("poor", 0)
        assert figures["support.education_costs.amount_vnd"]["value"] == 504_180_000
        path = f"/reporting/reports/{draft['id']}"

        written = await send("PATCH", path, commune, opened.headers["etag"],
                             json={"narratives": NARRATIVES, "document": HEADER})
        assert written.status_code == 200, written.text
        docx = await send("GET", f"{path}/document.docx", commune)
        text = "\n".join(c.text for t in Document(io.BytesIO(docx.content)).tables for r in t.rows for c in r.cells)
        assert "504,18" in text and "Số: 12/BC-UBND" in text
        book = load_workbook(io.BytesIO((await send("GET", f"{path}/document.xlsx", commune)).content))
        assert "Số liệu" in book.sheetnames

        submitted = await send("POST", f"{path}/submit", commune, written.headers["etag"])
        assert submitted.status_code == 200 and submitted.json()["state"] == "submitted", submitted.text
        returned = await send("POST", f"{path}/return", district, submitted.headers["etag"],
                              json={"comment": "Bổ sung kết quả tuyên truyền"})
        assert returned.json()["state"] == "returned"
        fixed = await send("PATCH", path, commune, returned.headers["etag"],
                           json={"narratives": {"II.1": "Đài truyền thanh phường phát 57 lượt tin."}})
        resubmitted = await send("POST", f"{path}/submit", commune, fixed.headers["etag"])
        assert resubmitted.json()["state"] == "submitted"
        accepted = await send("POST", f"{path}/accept", district, resubmitted.headers["etag"])
        assert accepted.json()["state"] == "accepted"

        consolidated = await send("POST", "/reporting/reports", district,
                                  json={"unit": "213", "hierarchy": "v2008", "type": "annual", "period": "2024"})
        body = consolidated.json()
        assert body["consolidation"]["summed"] == 1 and COMMUNE not in body["consolidation"]["missing"]
        assert body["figures"]["poverty.end.poor"]["consolidated"] == job["counts"].get("poor", 0)
        completeness = (await send("GET", "/reporting/completeness", district,
                                   params={"type": "annual", "period": "2024"})).json()
        totals = completeness["totals"]
        communes = await registry_sql(registry_url, "SELECT count(*) FROM units WHERE parent_path = $1", DISTRICT)
        assert totals["expected"] == communes[0][0] > 1  # every commune of the city must report
        assert (totals["submitted"], totals["accepted"], totals["missing"]) == (1, 1, totals["expected"] - 1)


async def test_the_report_workflow_through_the_gateway(stack: Stack, tmp_path: Any) -> None:
    """Issue 13's "done when", the whole platform behind the gateway with its accounts: the ward's households
    assessed through the registry, its deliveries entered in support and its movement, documents, propaganda
    and target in emulation → the ward's annual report opened with those figures, written, downloaded,
    submitted → returned and then accepted by the city → the city's consolidated draft, completeness and
    dashboard; a sister ward refused."""
    from tests.gateway.platform import start_platform

    async for platform in start_platform(stack, tmp_path):
        await _workflow_through_the_gateway(platform)


async def _workflow_through_the_gateway(platform: Any) -> None:
    from tests.reporting.report_kit import HEADER, NARRATIVES

    client = platform.client
    ward, city, sister = (platform.bearer(a) for a in ("commune.07207", "district.213", "commune.07243"))
    uploaded = await client.post("/registry/imports", headers=ward,
                                 files={"file": ("households.csv", import_file("07207", 60, 0))})
    assert uploaded.status_code == 202, uploaded.text

    async def imported() -> dict[str, Any] | None:
        job = (await client.get(f"/registry/imports/{uploaded.json()['id']}", headers=ward)).json()
        return job if job["status"] == "completed" else None

    job = await eventually(imported, timeout=120)
    poor = job["counts"].get("poor", 0)

    async def projected() -> bool:
        answer = await client.get("/reporting/indicators/poverty", headers=ward, params={"year": 2024})
        return answer.status_code == 200 and answer.json()["unit"]["households"] == 60

    await eventually(projected, timeout=120)
    await _support_and_movement_data(client, ward)
    opened = await client.post("/reporting/reports", headers=ward,
                               json={"unit": "07207", "hierarchy": "v2008", "type": "annual", "period": "2024"})
    assert opened.status_code == 201, opened.text
    report = opened.json()
    figures = report["figures"]
    assert figures["poverty.end.households"]["value"] == 60
    assert figures["poverty.end.poor"]["value"] == poor
    # What the ward entered in support and emulation, through their events.
    assert figures["support.monthly_rice.amount_vnd"]["value"] == 81_150_000
    assert figures["support.monthly_rice.households"]["value"] == 45
    assert figures["support.monthly_rice.funding.enterprise"]["value"] == 81_150_000
    assert figures["support.bhyt_poor.households"]["value"] == 120
    assert figures["fund.donations.amount_vnd"]["value"] == 15_000_000
    assert figures["fund.closing.amount_vnd"]["value"] == 10_000_000
    assert figures["propaganda.propaganda:broadcast:broadcasts.count"]["value"] == 57
    assert figures["targets.poor_rate_reduction:2024.target"]["value"] == "1.5"
    sections = {section["key"]: section for section in report["sections"]}
    assert [row[1]["text"] for row in sections["I.1"]["tables"][0]["rows"]] == ["108/KH-UBND"]
    path = f"/reporting/reports/{report['id']}"
    refused = await client.get(path, headers=sister)
    assert refused.status_code == 404
    foreign = await client.post("/reporting/reports", headers=sister,
                                json={"unit": "07207", "hierarchy": "v2008", "type": "annual", "period": "2023"})
    assert foreign.status_code == 403  # the gateway refuses a unit outside the caller's scope

    written = await client.patch(path, headers=ward | {"If-Match": opened.headers["etag"]},
                                 json={"narratives": NARRATIVES, "document": HEADER})
    assert written.status_code == 200, written.text
    docx = await client.get(f"{path}/document.docx", headers=ward)
    xlsx = await client.get(f"{path}/document.xlsx", headers=city)
    assert docx.status_code == xlsx.status_code == 200
    assert docx.content[:2] == b"PK" and xlsx.content[:2] == b"PK"
    submitted = await client.post(f"{path}/submit", headers=ward | {"If-Match": written.headers["etag"]})
    assert submitted.json()["state"] == "submitted", submitted.text
    by_ward = await client.post(f"{path}/accept", headers=ward | {"If-Match": "*"})
    assert by_ward.status_code == 403
    returned = await client.post(f"{path}/return", headers=city | {"If-Match": submitted.headers["etag"]},
                                 json={"comment": "Bổ sung nguyên nhân hạn chế"})
    assert returned.json()["state"] == "returned", returned.text
    fixed = await client.patch(path, headers=ward | {"If-Match": returned.headers["etag"]},
                               json={"narratives": {"III.2": NARRATIVES["III.2"] + "\n- Thiếu cán bộ."}})
    again = await client.post(f"{path}/submit", headers=ward | {"If-Match": fixed.headers["etag"]})
    accepted = await client.post(f"{path}/accept", headers=city | {"If-Match": again.headers["etag"]})
    assert accepted.json()["state"] == "accepted", accepted.text

    consolidated = await client.post("/reporting/reports", headers=city,
                                     json={"unit": "213", "hierarchy": "v2008", "type": "annual",
                                           "period": "2024"})
    assert consolidated.status_code == 201, consolidated.text
    assert consolidated.json()["figures"]["poverty.end.poor"]["consolidated"] == poor
    assert consolidated.json()["consolidation"]["summed"] == 1
    completeness = await client.get("/reporting/completeness", headers=city,
                                    params={"type": "annual", "period": "2024"})
    assert completeness.json()["totals"]["accepted"] == 1
    dashboard = await client.get("/reporting/dashboard", headers=city, params={"year": 2024})
    assert dashboard.status_code == 200 and dashboard.json()["completeness"]["totals"]["accepted"] == 1
    programmes = {p["programme"]: p for p in dashboard.json()["support"]["programmes"]}
    assert programmes["monthly_rice"]["amount_vnd"] == 81_150_000


async def _support_and_movement_data(client: httpx.AsyncClient, ward: dict[str, str]) -> None:
    """The ward's deliveries and its "Vì người nghèo" fund with a donation and a spend (support), and its
    movement with a document, propaganda and a target (emulation), entered through the gateway; waits until
    reporting has applied them."""
    rice = {"unit": "07207", "hierarchy": "v2008", "programme": "monthly_rice", "delivered_on": "2024-06-15",
            "households": 45, "persons": 108, "quantities": [{"measure": "kg", "quantity": 5410}],
            "amount_vnd": 81_150_000, "funding": [{"source": "enterprise", "amount_vnd": 81_150_000}],
            "body": "hctd"}
    cards = {"unit": "07207", "hierarchy": "v2008", "programme": "bhyt_poor", "delivered_on": "2024-02-01",
             "households": 120, "persons": 310, "quantities": [{"measure": "card", "quantity": 310}], "body": "bhxh"}
    for body in (rice, cards):
        made = await client.post("/support/deliveries/aggregate", headers=ward, json=body)
        assert made.status_code == 201, made.text
    fund = await client.post("/support/funds", headers=ward, json={"unit": "07207", "hierarchy": "v2008"})
    assert fund.status_code == 201, fund.text
    entries = f"/support/funds/{fund.json()['id']}"
    for kind, body in (("donations", {"amount_vnd": 15_000_000, "occurred_on": "2024-10-17",
                                      "donor_name": "Công ty May Bắc Giang", "donor_kind": "enterprise"}),
                       ("spends", {"amount_vnd": 5_000_000, "occurred_on": "2024-11-02",
                                   "purpose": "Sửa nhà hộ nghèo", "programme": "housing_repair"})):
        entry = await client.post(f"{entries}/{kind}", headers=ward, json=body)
        assert entry.status_code == 201, entry.text

    async def launched() -> httpx.Response | None:  # once emulation has projected the ward's unit
        movement = await client.post("/emulation/movements", headers=ward, json={
            "unit": "07207", "hierarchy": "v2008", "name": "Ngô Quyền chung tay vì người nghèo",
            "issuing_body": "UBND phường Ngô Quyền", "starts_on": "2024-01-01", "ends_on": "2025-12-31"})
        return movement if movement.status_code == 201 else None

    movement = f"/emulation/movements/{(await eventually(launched, timeout=60)).json()['id']}"
    entered = [
        await client.post(f"{movement}/documents", headers=ward, json={
            "unit": "07207", "hierarchy": "v2008", "doc_type": "plan", "number": "108/KH-UBND",
            "issued_on": "2024-01-19", "issuing_body": "UBND phường Ngô Quyền",
            "summary": "Tổ chức phát động phong trào thi đua “Chung tay vì người nghèo”"}),
        await client.post(f"{movement}/activities", headers=ward, json={
            "unit": "07207", "hierarchy": "v2008", "kind": "broadcast", "held_on": "2024-03-10", "count": 57}),
        await client.post(f"{movement}/targets", headers=ward, json={
            "unit": "07207", "hierarchy": "v2008", "year": 2024, "indicator": "poor_rate_reduction",
            "value": "1.5"}),
    ]
    for answer in entered:
        assert answer.status_code in (200, 201), answer.text

    async def applied() -> bool:  # the target is the last event emulation published, the rice the last of support
        board = (await client.get("/reporting/dashboard", headers=ward, params={"year": 2024})).json()
        programmes = {p["programme"] for p in board["support"]["programmes"]}
        return (bool(board["poverty"]["targets"]) and {"monthly_rice", "bhyt_poor"} <= programmes
                and board["funds"]["balance_vnd"] == 10_000_000)

    await eventually(applied, timeout=60, interval=0.5)
