"""DCI notification latency (issue 14): a household's status changes (a regular-review decision through
the gateway, by the commune's officer) → the `notify` message arrives at a local subscriber's callback.
Target: p99 ≤ 2 s. The path: the decision's transaction writes `registry.household.assessed` to the
outbox → the relay publishes it → the registry's `registry-dci` consumer queues the notification →
the DCI worker POSTs it. Measured from the moment the decision request is sent to the moment the
callback receives the notification; changes are offered at a fixed rate (open loop).

Usage: .venv/bin/python -m bench.dci_notify [--changes 60] [--rate 2] [--households 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import aiohttp
import orjson
from aiohttp import web

from bench.dci_platform import dci_platform, message, officer_token, proxied_post
from bench.platform import percentile
from devstack.embedded import free_port


class Callback:
    def __init__(self) -> None:
        self.port = free_port()
        self.arrived: dict[str, float] = {}
        self.subscribed = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        if body["header"]["action"] == "on-subscribe":
            self.subscribed.set()
        for event in body.get("message", {}).get("notify_event", []):
            group = event["data"]["reg_records"]
            self.arrived.setdefault(group["group_identifier"][0]["identifier_value"], time.perf_counter())
        return web.json_response({"message": {"ack_status": "ACK"}})


async def run(args: argparse.Namespace, callback: Callback, platform: object) -> tuple[list[float], list[float]]:
    from bench.dci_platform import Platform

    assert isinstance(platform, Platform)
    app = web.Application()
    app.router.add_post("/{tail:.*}", callback.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", callback.port).start()
    officer = {"Authorization": f"Bearer {officer_token(platform)}"}
    sent: dict[str, float] = {}
    answered: dict[str, float] = {}
    try:
        async with aiohttp.ClientSession() as session:
            criteria = {"reg_event_type": "status_changed", "notify_record_type": "spdci:Group",
                        "filter_type": "expression", "filter": {"poverty_status": {"$in": ["poor", "near_poor"]}}}
            body = message("subscribe", "subscribe_request", [{
                "reference_id": "all", "timestamp": "2026-12-06T09:00:00+07:00", "subscribe_criteria": criteria}])
            async with session.post(platform.gateway + "/registry/subscribe", data=body,
                                    headers=platform.headers | {"content-type": "application/json"}) as r:
                assert (await r.json())["message"]["ack_status"] == "ACK"
            await asyncio.wait_for(callback.subscribed.wait(), 30)

            async def change(household_id: str) -> None:
                async with session.post(platform.gateway + "/registry/regular-reviews", headers=officer, json={
                        "household_id": household_id, "request": "enter", "requested_on": "2023-12-20"}) as r:
                    item = await r.json()
                    assert r.status == 201, item
                sent[household_id] = time.perf_counter()
                async with session.post(f"{platform.gateway}/registry/regular-reviews/{item['id']}/decision",
                                        headers=officer, json={
                                            "decision_number": "45/QĐ-UBND", "decided_on": "2023-12-28",
                                            "income_per_capita": 1_100_000,
                                            "deprived_indicators": ["employment", "dependants", "latrine"]}) as r:
                    assert r.status == 200, await r.text()
                answered[household_id] = time.perf_counter()

            chosen = platform.household_ids[:args.changes]
            tasks = []
            start = time.perf_counter()
            for i, household_id in enumerate(chosen):
                delay = start + i / args.rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(change(household_id)))
            await asyncio.gather(*tasks)
            deadline = time.perf_counter() + 30
            while len(callback.arrived) < len(chosen) and time.perf_counter() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    finally:
        await runner.cleanup()
    missing = [h for h in sent if h not in callback.arrived]
    if missing:
        raise RuntimeError(f"{len(missing)} notifications never arrived")
    return [callback.arrived[h] - sent[h] for h in sent], [max(0.0, callback.arrived[h] - answered[h]) for h in sent]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=60)
    parser.add_argument("--rate", type=float, default=2.0)
    parser.add_argument("--households", type=int, default=2_000)
    args = parser.parse_args()
    callback = Callback()
    with dci_platform(args.households, f"http://127.0.0.1:{callback.port}/dci") as platform:
        proxied_post(platform.gateway + "/registry/sync/search", platform.headers,
                     message("search", "search_request", []))
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before the run; "
              + platform.load_note)
        latencies, after_answer = asyncio.run(run(args, callback, platform))
        print(f"status change → notification at the callback, {len(latencies)} changes at {args.rate}/s offered:")
        for name, values in (("from the decision request", latencies), ("from the decision's answer", after_answer)):
            print(f"  {name:<27} p50 {percentile(values, 0.5):7.0f} ms  p90 {percentile(values, 0.9):7.0f} ms  "
                  f"p99 {percentile(values, 0.99):7.0f} ms  max {max(values) * 1000:7.0f} ms"
                  "   (target p99 ≤ 2000 ms)")
        print(f"load average after the run {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
