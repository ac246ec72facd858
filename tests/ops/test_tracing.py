"""Tracing and log correlation: one request is one trace from the gateway through the service, the outbox
relay and NATS to the consumers; log lines carry the request id (and the trace while tracing is on);
tracing is off unless an OTLP endpoint is configured, and then spans leave the process by OTLP."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

pytest.importorskip("opentelemetry.sdk")  # a dependency (pyproject.toml); skipped only in a stale venv

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402

from devstack.embedded import free_port  # noqa: E402
from shared import tracing  # noqa: E402
from shared.consumer import Consumer  # noqa: E402
from shared.context import request_id_var  # noqa: E402
from shared.events import Event  # noqa: E402
from shared.logs import JsonFormatter  # noqa: E402
from tests.gateway.platform import Platform, start_platform  # noqa: E402
from tests.kit import Stack, eventually, fresh_database  # noqa: E402
from tests.ops.processes import service_env, spawn, started  # noqa: E402
from tests.platform.test_events import TYPE, Backbone, probe_backbone, runner, write_change  # noqa: E402
from tests.registry.households_helpers import household_body  # noqa: E402


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on for this test only, into memory (the provider the other tests run without)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_provider(provider)
    try:
        yield exporter
    finally:
        tracing.use_provider(None)
        provider.shutdown()


@pytest.fixture(scope="module")
async def platform(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    async for running in start_platform(stack, tmp_path_factory.mktemp("tracing")):
        yield running


def _parent(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


async def test_a_request_is_one_trace_from_gateway_through_the_service_to_the_consumers(
        platform: Platform, spans: InMemorySpanExporter) -> None:
    request_id = f"trace-{uuid.uuid4().hex[:12]}"
    created = await platform.client.post("/registry/households", json=household_body(commune_code="07207"),
                                         headers={**platform.bearer("commune.07207"), "X-Request-ID": request_id})
    assert created.status_code == 201, created.text

    def by_kind() -> dict[str, list[ReadableSpan]]:
        found: dict[str, list[ReadableSpan]] = {}
        for span in spans.get_finished_spans():
            found.setdefault(span.kind.name, []).append(span)
        return found

    gateway = next(s for s in spans.get_finished_spans() if s.attributes.get("chungtay.service") == "gateway")
    trace_id = gateway.context.trace_id

    async def consumed() -> list[ReadableSpan]:
        return [s for s in by_kind().get("CONSUMER", []) if s.context.trace_id == trace_id
                and s.attributes.get("messaging.consumer.group.name") == "reporting-registry"]

    consumer_spans = await eventually(consumed, timeout=30)
    in_trace = [s for s in spans.get_finished_spans() if s.context.trace_id == trace_id]
    ids = {s.context.span_id: s for s in in_trace}

    assert gateway.name == "POST /registry/households" and gateway.parent is None
    assert gateway.attributes["chungtay.request_id"] == request_id
    assert gateway.attributes["http.response.status_code"] == 201
    service = next(s for s in in_trace
                   if s.attributes.get("chungtay.service") == "registry" and s.kind.name == "SERVER")
    assert _parent(service) == gateway.context.span_id, "the registry's span is the gateway's child"
    assert service.attributes["http.route"] == "/registry/households"
    assert service.attributes["chungtay.request_id"] == request_id
    publications = [s for s in in_trace if s.kind.name == "PRODUCER"]
    assert publications and all(_parent(p) == service.context.span_id for p in publications), \
        "each event's publication continues the request that wrote it"
    for span in consumer_spans:
        assert _parent(span) in ids and ids[_parent(span)].kind.name == "PRODUCER"  # type: ignore[index]
    subjects = {p.attributes["messaging.destination.name"] for p in publications}
    assert any(str(subject).startswith("registry.household.") for subject in subjects), subjects


async def test_consumer_log_lines_carry_the_request_id_and_the_trace(stack: Stack, nats_url: str,
                                                                     spans: InMemorySpanExporter) -> None:
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonFormatter("support"))
    logging.getLogger("shared.consumer").addHandler(handler)
    failed_once: set[str] = set()

    async def flaky(session: AsyncSession, events: list[Event]) -> None:
        for event in events:
            if event.subject_id not in failed_once:
                failed_once.add(event.subject_id)
                raise ValueError("the first attempt fails, to log a line")

    try:
        async with probe_backbone(stack, nats_url) as b:
            request_id = f"req-{uuid.uuid4().hex[:10]}"
            token = request_id_var.set(request_id)  # what the HTTP middleware does for a request
            try:
                with tracing.tracer().start_as_current_span("POST /registry/probe"):  # type: ignore[union-attr]
                    await write_change(b.producer, 1)
            finally:
                request_id_var.reset(token)
            await _relay_and_consume(b, flaky)
    finally:
        logging.getLogger("shared.consumer").removeHandler(handler)
    entries = [json.loads(line) for line in lines.getvalue().splitlines()]
    retry = [e for e in entries if e["msg"] == "event failed, will retry"]
    assert retry, entries
    assert all(e["request_id"] == request_id for e in retry)
    root = next(s for s in spans.get_finished_spans() if s.name == "POST /registry/probe")
    assert all(e["trace_id"] == f"{root.context.trace_id:032x}" for e in retry), "the lines name the trace"


async def _relay_and_consume(b: Backbone, handler: Any) -> None:
    from shared.relay import OutboxRelay

    relay = OutboxRelay(b.producer.url, b.js, "registry", idle_seconds=0.2)
    consumer = runner(b)
    consumer.consumer = Consumer(name="support-probe", producer="registry", handlers={TYPE: handler})
    await relay.start()
    await consumer.start()
    try:
        async def applied() -> bool:
            info = await b.js.consumer_info("REGISTRY", "support-probe")
            return bool(info.num_pending == 0 and info.num_ack_pending == 0 and info.delivered.stream_seq >= 1)

        await eventually(applied, timeout=30)
    finally:
        await consumer.stop()
        await relay.stop()


async def test_tracing_is_off_by_default() -> None:
    assert not tracing.enabled()
    assert tracing.configure_tracing("probe") is False  # no OTEL_EXPORTER_OTLP_ENDPOINT in the tests
    event = Event(type="support.probe", producer="support", subject_id="x", payload={})
    assert "traceparent" not in event.to_dict()


async def test_with_an_otlp_endpoint_a_service_process_exports_its_spans(stack: Stack, nats_url: str,
                                                                          tmp_path: Path) -> None:
    """A real support process with OTEL_EXPORTER_OTLP_ENDPOINT sends its spans (protobuf over HTTP) to
    the collector it names: here a stand-in that records what it receives."""
    received: list[bytes] = []

    async def collect(request: web.Request) -> web.Response:
        received.append(await request.read())
        return web.Response(status=200, content_type="application/x-protobuf", body=b"")

    collector = web.Application()
    collector.router.add_post("/v1/traces", collect)
    runner_ = web.AppRunner(collector)
    await runner_.setup()
    port = free_port()
    await web.TCPSite(runner_, "127.0.0.1", port).start()
    try:
        db = await fresh_database(stack, "support")
        env = service_env("support", db, nats_url) | {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}", "OTEL_BSP_SCHEDULE_DELAY": "200"}
        process = await started(spawn("support", env))
        try:
            request_id = f"otlp-{uuid.uuid4().hex[:8]}"
            async with httpx.AsyncClient() as client:
                ready = await client.get(f"{process.url}/ready", headers={"X-Request-ID": request_id})
                assert ready.status_code == 200

            async def exported() -> bool:
                return any(request_id.encode() in body for body in received)

            await eventually(exported, timeout=20)
        finally:
            process.stop()
        log_lines = [json.loads(line) for line in process.log().splitlines() if line.startswith("{")]
        assert any(line["msg"] == "tracing on: spans exported by OTLP" for line in log_lines)
        assert b"chungtay-support" in b"".join(received), "the spans name their service"
    finally:
        await runner_.cleanup()
        await asyncio.sleep(0)
