"""The officers' dashboard page (/dashboard/, gateway/web) in a real headless Chromium (Debian's
`chromium`, driven by Playwright): the gateway serves it with its vendored Chart.js under a strict CSP, an
officer signs in with the demo accounts, the charts hold the figures of the events reporting consumed
(counted here by hand from the events, not read back from the API), and a commune officer sees only the
commune. One platform (reporting on a real port behind the gateway) and one browser for the module.

`CHUNGTAY_DASHBOARD_SCREENSHOT=docs/images/dashboard.png` saves the district's page for the docs."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.embedded import EmbeddedNats, free_port
from gateway.main import create_app
from tests.gateway.support import gateway_settings, seed, serve
from tests.kit import Stack, eventually, fresh_database, system_tool
from tests.reporting.conftest import Reporting, connect, reporting_app
from tests.reporting.emulation_events import MOVEMENT, score, target
from tests.reporting.registry_events import (
    COMMUNES_A,
    DISTRICT_A,
    NAMES,
    PROVINCE,
    Dataset,
    all_unit_events,
    expected,
)
from tests.reporting.report_kit import COMMUNE, THIRD_COMMUNE, load_everything, open_report, write_and_submit
from tests.reporting.support_events import fund_events

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
playwright_api = pytest.importorskip("playwright.async_api")
expect = playwright_api.expect

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
SCORES = {COMMUNES_A[0]: "90.5", COMMUNES_A[1]: "75", COMMUNES_A[2]: "82.25"}  # by the city's criteria
PROVINCE_SCORES = {COMMUNES_A[0]: "70", COMMUNES_A[1]: "88", COMMUNES_A[2]: "64"}  # the same wards, the province's


@dataclass
class Site:
    url: str
    data: Dataset
    browser: Any


@pytest.fixture(scope="module")
async def site(stack: Stack) -> AsyncIterator[Site]:
    chromium = system_tool("chromium")
    folder = Path(tempfile.mkdtemp(prefix="chungtay-dash-"))
    nats_server = EmbeddedNats(folder / "nats", free_port())
    nats_server.start()
    try:
        reporting_url = await fresh_database(stack, "reporting")
        app = reporting_app(reporting_url, nats_server.url)
        nc, js = await connect(nats_server.url)
        gateway_db = await fresh_database(stack, "gateway")
        await seed(gateway_db)
        async with serve(app) as upstream, httpx.AsyncClient(base_url=upstream) as direct:
            reporting = Reporting(app, direct, js, reporting_url, nats_server.url)
            data, _ = await load_everything(reporting, households=240)
            extra = [*fund_events()]
            await reporting.settled(await reporting.publish(extra), consumer="reporting-support")
            emulation = [score(path, total, scored_by=DISTRICT_A) for path, total in SCORES.items()]
            emulation += [score(path, total, scored_by=PROVINCE) for path, total in PROVINCE_SCORES.items()]
            emulation.append(target(DISTRICT_A, "poor_rate_reduction", "1", 2024, "percentage_points"))
            await reporting.settled(await reporting.publish(emulation), consumer="reporting-emulation")
            opened = (await open_report(reporting, COMMUNE, COMMUNES_A[0])).json()
            await write_and_submit(reporting, COMMUNE, opened["id"], f'"{opened["row_version"]}"')
            review = (await open_report(reporting, THIRD_COMMUNE, COMMUNES_A[2], "midterm", MOVEMENT)).json()
            await write_and_submit(reporting, THIRD_COMMUNE, review["id"], f'"{review["row_version"]}"')

            front = create_app(gateway_settings(gateway_db, nats_server.url, {"reporting": upstream},
                                                requests_per_principal_per_minute=0,
                                                token_requests_per_ip_per_minute=10_000))
            async with serve(front) as url:
                units = len(all_unit_events())
                await eventually(lambda: _directory_has(front, units), timeout=30)
                async with playwright_api.async_playwright() as pw:
                    browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                    try:
                        yield Site(url, data, browser)
                    finally:
                        await browser.close()
        await nc.close()
    finally:
        nats_server.stop()
        shutil.rmtree(folder, ignore_errors=True)


async def _directory_has(front: Any, count: int) -> bool:
    return len(front.app.state.directory) >= count


@dataclass
class Tab:
    page: Any
    problems: list[str]


@pytest.fixture
async def tab(site: Site) -> AsyncIterator[Tab]:
    """A new browser context (no storage shared between tests), recording script errors and CSP refusals."""
    context = await site.browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    try:
        yield Tab(page, problems)
    finally:
        await context.close()


async def sign_in(site: Site, tab: Tab, username: str, password: str = "demo") -> None:
    page = tab.page
    await page.goto(f"{site.url}/dashboard/")
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("#signin-button")


async def ready(tab: Tab) -> None:
    await tab.page.wait_for_selector("body[data-state=ready]", timeout=20_000)


async def chart(tab: Tab, canvas_id: str) -> dict[str, Any]:
    """What Chart.js holds for a canvas, and how many of the canvas's pixels it painted."""
    return dict(await tab.page.evaluate("""(id) => {
        const chart = Chart.getChart(id);
        if (!chart) return null;
        const canvas = chart.canvas;
        const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let painted = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
        return {type: chart.config.type, labels: chart.data.labels,
                datasets: chart.data.datasets.map(d => ({label: d.label, data: d.data})),
                painted, width: canvas.width};
    }""", canvas_id))


def rate(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2)


async def test_the_gateway_serves_the_page_and_chart_js_under_a_strict_csp(site: Site) -> None:
    async with httpx.AsyncClient(base_url=site.url) as client:
        moved = await client.get("/dashboard")
        assert moved.status_code == 308 and moved.headers["location"] == "/dashboard/"
        page = await client.get("/dashboard/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "default-src 'none'" in csp and "unsafe" not in csp
        assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"] == "nosniff"
        assert "<script src=\"vendor/chart.umd.min.js\"" in page.text and "https://" not in page.text
        library = await client.get("/dashboard/vendor/chart.umd.min.js")
        assert library.status_code == 200 and b"Chart.js v4" in library.content[:200]
        again = await client.get("/dashboard/vendor/chart.umd.min.js",
                                 headers={"If-None-Match": library.headers["etag"]})
        assert again.status_code == 304
        licence = await client.get("/dashboard/vendor/chart.js-LICENSE.md")
        assert licence.status_code == 200 and "MIT" in licence.text
        assert (await client.get("/dashboard/../gateway/settings.py")).status_code in (400, 404)
        assert (await client.get("/dashboard/nothing.js")).status_code == 404
        head = await client.head("/dashboard/")
        assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == page.headers["etag"]


async def test_a_wrong_password_is_refused_on_the_page(site: Site, tab: Tab) -> None:
    await sign_in(site, tab, "district.213", "not-the-password")
    error = tab.page.locator("#signin-error")
    await error.wait_for(state="visible")
    assert "không đúng" in (await error.inner_text())
    assert await tab.page.locator("#board").is_hidden()


async def test_an_account_without_the_indicators_permission_is_told_so(site: Site, tab: Tab) -> None:
    """A surveyor records households but reads no indicators: the page says so instead of an empty board."""
    async with httpx.AsyncClient(base_url=site.url) as client:
        admin = (await client.post("/auth/token", data={"grant_type": "password", "username": "admin",
                                                        "password": "demo"})).json()["access_token"]
        made = await client.post("/admin/users", headers={"Authorization": f"Bearer {admin}"}, json={
            "username": "surveyor.07207", "role": "surveyor", "password": "a-long-password",
            "scopes": [{"hierarchy": "v2008", "code": "07207"}]})
        assert made.status_code == 201, made.text
    await sign_in(site, tab, "surveyor.07207", "a-long-password")
    error = tab.page.locator("#signin-error")
    await error.wait_for(state="visible")
    assert "reporting.indicators.read" in (await error.inner_text())
    assert await tab.page.locator("#board").is_hidden()
    assert await tab.page.evaluate("sessionStorage.getItem('chungtay.dashboard.tokens')") is None


async def test_a_district_officer_signs_in_and_sees_its_figures(site: Site, tab: Tab) -> None:
    await sign_in(site, tab, "district.213")
    await ready(tab)
    page = tab.page
    # Opened on this year, which has no review yet: the page moves to the last reviewed year.
    assert await page.locator("#title").inner_text() == "Thành phố Bắc Giang – năm 2024"
    assert await page.locator("#year").input_value() == "2024"
    counts = expected(site.data, 2024, DISTRICT_A)
    total = counts[""]
    assert await page.locator("#kpi-poor-rate").inner_text() == f"{rate(total['poor'], total['households']):.2f}%" \
        .replace(".", ",")

    units = await chart(tab, "chart-units")
    assert units["labels"] == [NAMES[p] for p in COMMUNES_A]
    assert units["datasets"][0]["data"] == [rate(counts[p]["poor"], counts[p]["households"]) for p in COMMUNES_A]
    assert units["datasets"][1]["data"] == [rate(counts[p]["near_poor"], counts[p]["households"])
                                            for p in COMMUNES_A]
    trend = await chart(tab, "chart-trend")
    assert trend["labels"] == ["2023", "2024"]  # from the first reviewed year of the last five
    before = expected(site.data, 2023, DISTRICT_A)[""]
    poor_rates = trend["datasets"][0]["data"]
    assert poor_rates == [rate(before["poor"], before["households"]), rate(total["poor"], total["households"])]
    target_rate = round(rate(before["poor"], before["households"]) - 1, 2)  # the city's target: 1 point less
    assert trend["datasets"][2]["data"][-1] == target_rate

    programmes = await chart(tab, "chart-programmes")
    credit = programmes["labels"].index("Tín dụng ưu đãi Ngân hàng Chính sách xã hội")
    assert programmes["datasets"][0]["data"][credit] == 6896.0
    funds = await chart(tab, "chart-funds")
    assert dict(zip(funds["labels"], funds["datasets"][0]["data"], strict=True)) == {
        "Thành phố Bắc Giang": 80.0, "Phường Ngô Quyền": 5.0}
    reports = await chart(tab, "chart-completeness")
    submitted = {label: (on, late, missing) for label, on, late, missing in zip(
        reports["labels"], *(d["data"] for d in reports["datasets"]), strict=True)}
    assert submitted["Phường Ngô Quyền"] == (0, 1, 0) and submitted["Phường Trần Phú"] == (0, 0, 1)
    # The province and the city both scored the wards in the movement: one ranking each, each ward once.
    titles = await page.locator("#ranking h3").all_inner_texts()
    assert [t.rsplit(" – ", 1)[-1] for t in titles] == ["tiêu chí của Tỉnh Bắc Giang",
                                                         "tiêu chí của Thành phố Bắc Giang"]
    by_province = await chart(tab, "chart-ranking-0")
    assert by_province["labels"] == ["1. Phường Hoàng Văn Thụ", "2. Phường Ngô Quyền", "3. Phường Trần Phú"]
    assert by_province["datasets"][0]["data"] == [88.0, 70.0, 64.0]
    ranking = await chart(tab, "chart-ranking-1")
    assert ranking["labels"] == ["1. Phường Ngô Quyền", "2. Phường Trần Phú", "3. Phường Hoàng Văn Thụ"]
    assert ranking["datasets"][0]["data"] == [90.5, 82.25, 75.0]
    assert await page.locator("#ranking tbody tr").count() == 6  # three wards in each table
    for canvas in ("chart-units", "chart-trend", "chart-programmes", "chart-sources", "chart-funds",
                   "chart-completeness", "chart-ranking-0", "chart-ranking-1"):
        drawn = await chart(tab, canvas)
        assert drawn["width"] > 0 and drawn["painted"] > 1000, canvas  # pixels painted, not an empty canvas

    # A month's review report instead of the annual one: nobody has opened March's (due 05/04/2024).
    await page.select_option("#report", label="Tháng 3")
    await expect(page.locator("#completeness-title")).to_have_text(
        "Tiến độ nộp báo cáo tháng 3/2024 (hạn 05/04/2024)")
    await ready(tab)
    march = await chart(tab, "chart-completeness")
    assert [d["data"] for d in march["datasets"]] == [[0, 0, 0], [0, 0, 0], [1, 1, 1]]
    assert (await chart(tab, "chart-units"))["datasets"][0]["data"] == units["datasets"][0]["data"]
    # The movement's mid-term review (sơ kết, held 30/06/2024): only Trần Phú has sent it, late.
    movement = "Bắc Giang chung tay vì người nghèo - Không để ai bị bỏ lại phía sau"
    choices = await page.locator("#report option").all_inner_texts()
    assert choices[-2:] == [f"Sơ kết: {movement}", f"Tổng kết: {movement}"]
    await page.select_option("#report", label=f"Sơ kết: {movement}")
    await expect(page.locator("#completeness-title")).to_have_text(
        f"Tiến độ nộp báo cáo sơ kết “{movement}” (hạn 30/06/2024)")
    await ready(tab)
    midterm = await chart(tab, "chart-completeness")
    assert midterm["labels"] == [NAMES[p] for p in COMMUNES_A]
    assert [d["data"] for d in midterm["datasets"]] == [[0, 0, 0], [0, 0, 1], [1, 1, 0]]
    assert midterm["painted"] > 1000
    assert await page.locator("#kpi-reports-label").inner_text() == "Cấp dưới nộp báo cáo sơ kết"
    assert await page.locator("#kpi-reports").inner_text() == "1 / 3"
    assert "quá hạn chưa nộp: 2 đơn vị" in await page.locator("#completeness-rates").inner_text()
    await page.select_option("#report", label="Báo cáo năm")
    await expect(page.locator("#completeness-title")).to_have_text(
        "Tiến độ nộp báo cáo năm 2024 (hạn 20/11/2024)")
    await ready(tab)

    screenshot = os.environ.get("CHUNGTAY_DASHBOARD_SCREENSHOT")
    if screenshot:
        await page.screenshot(path=screenshot, full_page=True)

    # Down to a ward through the unit filter: its own figures, no units below it.
    await page.select_option("#unit", label=f"\u2003↳ {NAMES[COMMUNES_A[2]]}")
    await expect(page.locator("#title")).to_have_text("Phường Trần Phú – năm 2024")
    await ready(tab)
    ward = await chart(tab, "chart-units")
    third = counts[COMMUNES_A[2]]
    assert ward["labels"] == ["Phường Trần Phú"]
    assert ward["datasets"][0]["data"] == [rate(third["poor"], third["households"])]
    await page.select_option("#unit", label="Thành phố Bắc Giang")
    await expect(page.locator("#title")).to_have_text("Thành phố Bắc Giang – năm 2024")
    assert tab.problems == []  # no script error, no CSP refusal, no failed request

    # A reload keeps the session; an access token the gateway refuses (as after its 10 minutes) is renewed
    # with the refresh token, once, and the page goes on.
    stale = await page.evaluate("""() => {
        const tokens = JSON.parse(sessionStorage.getItem('chungtay.dashboard.tokens'));
        tokens.access = 'expired-' + tokens.access.slice(8);
        sessionStorage.setItem('chungtay.dashboard.tokens', JSON.stringify(tokens));
        return tokens; }""")
    await page.reload()
    await ready(tab)
    assert await page.locator("#title").inner_text() == "Thành phố Bắc Giang – năm 2024"
    renewed = await page.evaluate("JSON.parse(sessionStorage.getItem('chungtay.dashboard.tokens'))")
    assert renewed["access"] != stale["access"] and renewed["refresh"] != stale["refresh"]


async def test_a_commune_officer_sees_only_its_commune(site: Site, tab: Tab) -> None:
    await sign_in(site, tab, "commune.07207")
    await ready(tab)
    page = tab.page
    assert await page.locator("#title").inner_text() == "Phường Ngô Quyền – năm 2024"
    options = await page.locator("#unit option").all_inner_texts()
    assert options == ["Phường Ngô Quyền"]  # nothing else to choose
    counts = expected(site.data, 2024, COMMUNES_A[0])[""]
    units = await chart(tab, "chart-units")
    assert units["labels"] == ["Phường Ngô Quyền"]
    assert units["datasets"][0]["data"] == [rate(counts["poor"], counts["households"])]
    assert (await chart(tab, "chart-funds"))["labels"] == ["Phường Ngô Quyền"]
    rankings = [await chart(tab, f"chart-ranking-{i}") for i in (0, 1)]
    assert [(r["labels"], r["datasets"][0]["data"]) for r in rankings] == [
        (["1. Phường Ngô Quyền"], [70.0]), (["1. Phường Ngô Quyền"], [90.5])]
    targets = await page.locator("#targets tbody tr").all_inner_texts()
    assert len(targets) == 1 and "Giảm tỷ lệ hộ nghèo" in targets[0]
    # Nobody reports to a ward: its own annual report instead (submitted after 20/11/2024 in the fixture).
    assert await page.locator("#kpi-reports").inner_text() == "Đã nộp, chờ duyệt"
    assert "trễ hạn" in await page.locator("#kpi-timely").inner_text()
    assert await page.locator("#completeness-chart").is_hidden()
    # A narrow window: the charts shrink with it, nothing runs off the side.
    await page.set_viewport_size({"width": 760, "height": 900})
    for _ in range(50):
        if await page.evaluate("document.documentElement.scrollWidth") <= 760:
            break
        await asyncio.sleep(0.1)
    assert await page.evaluate("document.documentElement.scrollWidth") <= 760
    assert tab.problems == []

    # Asking for the sister ward or the city with the page's own session, as a curious user would.
    for unit in (COMMUNES_A[1], DISTRICT_A):
        status = await page.evaluate("""async (unit) => {
            const tokens = JSON.parse(sessionStorage.getItem('chungtay.dashboard.tokens'));
            const r = await fetch('/reporting/dashboard?unit=' + unit + '&year=2024',
                                  {headers: {Authorization: 'Bearer ' + tokens.access}});
            return r.status;
        }""", unit)
        assert status == 403, unit

    await page.click("#logout")
    await page.locator("#signin").wait_for(state="visible")
    assert await page.evaluate("sessionStorage.getItem('chungtay.dashboard.tokens')") is None


async def test_the_national_administrator_sees_the_country_and_both_hierarchies(site: Site, tab: Tab) -> None:
    await sign_in(site, tab, "admin")
    await ready(tab)
    page = tab.page
    assert await page.locator("#title").inner_text() == "Toàn quốc (trước 01/7/2025) – năm 2024"
    units = await chart(tab, "chart-units")
    province = expected(site.data, 2024, "v2008")["v2008.24"]
    assert units["labels"] == ["Tỉnh Bắc Giang", "Tỉnh Bắc Ninh"]  # the provinces the read models hold
    assert units["datasets"][0]["data"][0] == rate(province["poor"], province["households"])
    options = await page.locator("#unit option").all_inner_texts()
    assert options[0] == "Toàn quốc (trước 01/7/2025)" and "Toàn quốc" in options
    # After the reform: the same 2024 households, through the crosswalk, under the new province.
    await page.select_option("#unit", label="Toàn quốc")
    await expect(page.locator("#title")).to_have_text("Toàn quốc – năm 2024")
    await ready(tab)
    after = await chart(tab, "chart-units")
    assert after["datasets"][0]["data"][0] == rate(province["poor"], province["households"])
    assert tab.problems == []
