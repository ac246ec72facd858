"""Prometheus metrics shared by every service's event machinery."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

OUTBOX_PUBLISHED = Counter("outbox_published_total", "Events published and acknowledged by JetStream", ["service"])
OUTBOX_PENDING = Gauge("outbox_pending", "Outbox rows not yet acknowledged by JetStream", ["service"])
OUTBOX_OLDEST = Gauge("outbox_oldest_pending_seconds",
                      "Age of the oldest outbox row not yet acknowledged by JetStream (0 when none waits)",
                      ["service"])
OUTBOX_ERRORS = Counter("outbox_publish_errors_total", "Relay attempts that failed", ["service"])
EVENTS_APPLIED = Counter("events_applied_total", "Events applied by a consumer", ["consumer"])
EVENTS_DUPLICATE = Counter("events_duplicate_total", "Redelivered events skipped by the inbox", ["consumer"])
EVENTS_FAILED = Counter("events_failed_total", "Event handling attempts that failed", ["consumer"])
EVENTS_DEAD = Counter("events_dead_lettered_total", "Events parked in the dead-letter stream", ["consumer"])
CONSUMER_LAG = Gauge("consumer_lag", "Messages in the stream not yet delivered to the consumer", ["consumer"])
CONSUMER_ACK_PENDING = Gauge("consumer_ack_pending", "Messages delivered but not yet acknowledged", ["consumer"])
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds", "HTTP request latency", ["service", "method", "status"],
    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DATABASE_UP = Gauge("database_up", "1 when the last readiness check (/ready) reached the database, else 0",
                    ["service"])
DATABASE_UNAVAILABLE = Counter(
    "database_unavailable_total",
    "Requests answered 503 database_unavailable and event batches put back while the database was unreachable",
    ["service"])
