"""Freshness: the status page shows the consumer's lag; every answer says up to which event it is current."""

from __future__ import annotations

from tests.kit import Stack, fresh_database, make_principal, running_app
from tests.reporting.conftest import OPERATOR, PROVINCE_OFFICER, Reporting, connect, reporting_app
from tests.reporting.registry_events import COMMUNES_A, all_unit_events, province_dataset, publish


async def test_status_shows_the_lag_until_the_projections_catch_up(stack: Stack, nats_url: str) -> None:
    db_url = await fresh_database(stack, "reporting")
    nc, js = await connect(nats_url)
    data = province_dataset(households=300, seed=9)
    last = await publish(js, all_unit_events() + data.events)

    # Consumers stopped: everything published is pending, nothing applied.
    stopped = reporting_app(db_url, nats_url, run_background_workers=False)
    async with running_app(stopped) as client:
        service = Reporting(stopped, client, js, db_url, nats_url)
        body = (await service.get("/reporting/status", OPERATOR)).json()
        registry = body["consumers"][0]
        assert registry["consumer"] == "reporting-registry" and registry["stream"] == "REGISTRY"
        assert registry["stream_last_seq"] == last
        assert registry["lag"] == last and registry["state"] == "not_created"
        assert body["caught_up"] is False
        answer = await service.indicators(unit="24", year=2024)
        assert answer["current_as_of"]["stream_seq"] is None and answer["unit"]["households"] == 0

    running = reporting_app(db_url, nats_url)
    async with running_app(running) as client:
        service = Reporting(running, client, js, db_url, nats_url)
        await service.settled(last)
        body = (await service.get("/reporting/status", OPERATOR)).json()
        registry = body["consumers"][0]
        assert body["caught_up"] is True and registry["lag"] == 0
        assert registry["applied"]["stream_seq"] == last == registry["ack_floor_stream_seq"]
        assert registry["applied"]["events_applied"] == len(all_unit_events()) + len(data.events)
        assert registry["dead_letters"] == 0
        answer = await service.indicators(PROVINCE_OFFICER, unit="24", year=2024)
        assert answer["current_as_of"]["stream_seq"] == last
        assert answer["current_as_of"]["event_id"] == str(data.events[-1].id)
        csv_export = await service.get("/reporting/indicators/poverty.csv", unit="24", year=2024)
        assert csv_export.headers["x-current-as-of-stream-seq"] == str(last)
    await nc.close()


async def test_a_malformed_event_is_parked_and_the_rest_applied(reporting: Reporting) -> None:
    from shared.events import Event

    broken = Event(type="registry.household.assessed_batch", producer="registry", subject_id="job-x",
                   unit_path="v2008.24.213.07207", payload={"items": [{"household_id": "h1"}]})
    data = province_dataset(households=200, seed=12)
    await reporting.publish(all_unit_events())
    last = await reporting.publish([broken, *data.events])
    await reporting.settled(last, timeout=60)
    body = (await reporting.get("/reporting/status", OPERATOR)).json()
    assert body["consumers"][0]["dead_letters"] == 1
    answer = await reporting.indicators(unit="24", year=2024)
    assert answer["unit"]["households"] > 0


async def test_platform_counters_are_shown_to_operators_only(reporting: Reporting) -> None:
    """Lag, stream sequences, event ids and dead letters describe the whole platform's activity: a
    commune or province officer learns only whether the figures are caught up, and since when."""
    from shared.events import Event

    broken = Event(type="registry.household.assessed_batch", producer="registry", subject_id="job-y",
                   unit_path="v2008.27.256.09190", payload={"items": [{"household_id": "h2"}]})
    await reporting.publish(all_unit_events())
    last = await reporting.publish([broken, *province_dataset(households=100, seed=4).events])
    await reporting.settled(last, timeout=60)

    operator = (await reporting.get("/reporting/status", OPERATOR)).json()
    assert operator["view"] == "operator"
    assert operator["consumers"][0]["dead_letters"] == 1 and operator["consumers"][0]["lag"] == 0
    assert operator["consumers"][0]["applied"]["stream_seq"] == last

    for officer in (make_principal("commune_officer", [COMMUNES_A[0]], permissions=["reporting.indicators.read"]),
                    PROVINCE_OFFICER):
        response = await reporting.get("/reporting/status", officer)
        assert response.status_code == 200
        body = response.json()
        assert body["view"] == "officer" and body["caught_up"] is True
        registry = body["consumers"][0]
        assert registry["consumer"] == "reporting-registry" and registry["applied"]["applied_at"]
        for counter in ("lag", "dead_letters", "stream_seq", "stream_last_seq", "pending", "event_id",
                        "events_applied", "redelivered", "behind_by_seq"):
            assert counter not in response.text, counter
