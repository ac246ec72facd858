"""OpenTelemetry traces: gateway → service → outbox event → consumer, one trace per request.

Off by default, at no cost: nothing is created unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, and then spans are exported by OTLP over HTTP in batches
(the exporter reads the standard OTEL_* variables: headers, timeout, ...). `OTEL_SDK_DISABLED=true`
turns it off again. Tests install an in-memory exporter with `use_provider`.

How the context travels: W3C `traceparent` headers between HTTP processes; into an event's envelope
(`traceparent`, written with the event in the outbox, so it survives until the relay publishes); from
the relay into the NATS message's `traceparent` header (the span of the publication); and from that
header to the consumer's span.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer

try:  # the dependency is declared; a process without it simply has tracing off
    from opentelemetry import trace as _trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
except ImportError:  # pragma: no cover
    _trace = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

_tracer: Tracer | None = None
_provider: Any = None
_propagator: Any = TraceContextTextMapPropagator() if _trace is not None else None


def configure_tracing(service: str) -> bool:
    """Export this process's spans by OTLP when an endpoint is configured; returns whether tracing is on."""
    if _tracer is not None:
        return True
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if not endpoint or _trace is None or os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = os.environ.get("OTEL_SERVICE_NAME") or f"chungtay-{service}"
    provider = TracerProvider(resource=Resource.create({"service.name": name, "service.namespace": "chungtay"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    use_provider(provider)
    log.info("tracing on: spans exported by OTLP", extra={"endpoint": endpoint})
    return True


def use_provider(provider: Any) -> None:
    """Trace with this TracerProvider (None: off). The tests pass one with an in-memory exporter."""
    global _tracer, _provider
    _provider = provider
    _tracer = provider.get_tracer("chungtay") if provider is not None else None


def shutdown() -> None:
    """Flush the spans still queued (at process stop)."""
    if _provider is not None:
        with contextlib.suppress(Exception):
            _provider.shutdown()


def enabled() -> bool:
    return _tracer is not None


def tracer() -> Tracer | None:
    return _tracer


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span (None when tracing is off or no span is current)."""
    if _tracer is None:
        return None
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


def context_from(traceparent: str | bytes | None) -> Any:
    """An OpenTelemetry context whose parent is `traceparent` (None: a new trace)."""
    if not traceparent:
        return None
    if isinstance(traceparent, bytes):
        traceparent = traceparent.decode("latin-1")
    return _propagator.extract({"traceparent": traceparent})


def current_ids() -> tuple[str, str] | None:
    """(trace id, span id) of the current span, for log lines; None when there is none."""
    if _tracer is None:
        return None
    ctx = _trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}"


def _header(scope: Any, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


@contextlib.contextmanager
def server_span(scope: Any, service: str, request_id: str) -> Iterator[Span | None]:
    """The span of one HTTP request, child of the caller's `traceparent`; current while it is handled."""
    if _tracer is None:
        yield None
        return
    method = scope["method"]
    with _tracer.start_as_current_span(
        f"{method} {scope['path']}", context=context_from(_header(scope, b"traceparent")),
        kind=_trace.SpanKind.SERVER,
        attributes={"http.request.method": method, "url.path": scope["path"], "chungtay.service": service,
                    "chungtay.request_id": request_id},
    ) as span:
        yield span
        route = scope.get("route")
        if route is not None and getattr(route, "path", None):
            span.update_name(f"{method} {route.path}")
            span.set_attribute("http.route", route.path)


def set_status(span: Span | None, status: int) -> None:
    if span is None:
        return
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(_trace.Status(_trace.StatusCode.ERROR))


def start_span(name: str, parent: str | bytes | None, kind: str, **attributes: Any) -> Span | None:
    """A span not made current (the relay's publications, a consumer's events), child of `parent`."""
    if _tracer is None:
        return None
    return _tracer.start_span(name, context=context_from(parent), kind=getattr(_trace.SpanKind, kind),
                              attributes=attributes)


def current(span: Span | None) -> contextlib.AbstractContextManager[Any]:
    """Make `span` the current one inside the block (log lines name it); nothing when it is None."""
    if span is None:
        return contextlib.nullcontext()
    return _trace.use_span(span, end_on_exit=False)


def span_traceparent(span: Span | None) -> str | None:
    if span is None:
        return None
    carrier: dict[str, str] = {}
    _propagator.inject(carrier, context=_trace.set_span_in_context(span))
    return carrier.get("traceparent")


def end(span: Span | None, error: BaseException | None = None) -> None:
    if span is None:
        return
    if error is not None:
        span.record_exception(error)
        span.set_status(_trace.Status(_trace.StatusCode.ERROR, type(error).__name__))
    span.end()
