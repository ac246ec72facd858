"""The Grafana dashboard and the Prometheus alert rules (deploy/observability/) name only metrics the
apps serve, with the labels they have; and the metrics the alerts rest on move when they should."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import REGISTRY

import gateway.process  # noqa: F401 - registers the gateway's own metrics
import shared.metrics  # noqa: F401
from shared.metrics import OUTBOX_OLDEST, OUTBOX_PENDING
from shared.relay import OutboxRelay
from tests.kit import Stack, auth_headers, fetch, fresh_database, running_app, unreachable
from tests.reporting.conftest import OPERATOR, reporting_app

ROOT = Path(__file__).resolve().parents[2] / "deploy" / "observability"
# Prometheus' own series and PromQL words: everything else in an expression is one of our metrics.
BUILTIN = {"up"}
WORDS = {"sum", "max", "min", "avg", "count", "rate", "increase", "irate", "histogram_quantile", "by", "without",
         "and", "or", "unless", "on", "ignoring", "bool", "label_values", "group_left", "group_right"}
SEVERITIES = {"warning", "critical"}


def served() -> dict[str, set[str]]:
    """Every series name the apps can serve → its label names."""
    found: dict[str, set[str]] = {}
    for collector, names in list(REGISTRY._collector_to_names.items()):  # noqa: SLF001 - no public listing
        labels = set(getattr(collector, "_labelnames", ()))
        for name in names:
            found[name] = labels
    return found


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load((ROOT / "alerts.yaml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    return dict(json.loads((ROOT / "grafana-dashboard.json").read_text()))


def dashboard_expressions() -> Iterator[str]:
    board = dashboard()
    for panel in board["panels"]:
        for target in panel["targets"]:
            yield target["expr"]
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":  # label_values(metric, label): the metric must have the label
            metric, label = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", variable["query"]).groups()  # type: ignore[union-attr]
            yield f"sum by ({label}) ({metric})"


def metrics_in(expr: str) -> dict[str, set[str]]:
    """The metric names of a PromQL expression → the labels it matches or groups them by."""
    grouping = set()
    for labels in re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", expr):
        grouping |= {label.strip() for label in labels.split(",") if label.strip()}
    bare = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", " ", expr)
    bare = re.sub(r"\[[^\]]*\]", " ", bare)  # range selectors
    found: dict[str, set[str]] = {}
    for name, selector in re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?", re.sub(r'"[^"]*"', '""', bare)):
        if name in WORDS or re.fullmatch(r"[0-9.e]+", name):
            continue
        matched = set(re.findall(r"([a-zA-Z_]+)\s*=~?", selector or ""))
        found[name] = matched | grouping
    return found


def test_every_metric_of_the_alerts_and_the_dashboard_is_served_with_its_labels() -> None:
    series = served()
    expressions = [r["expr"] for r in alert_rules()] + list(dashboard_expressions())
    assert len(expressions) > 20
    named = set()
    for expr in expressions:
        assert expr.count("(") == expr.count(")"), expr
        for name, labels in metrics_in(expr).items():
            if name in BUILTIN:
                continue
            named.add(name)
            assert name in series, f"{name} (in {expr!r}) is not a metric the apps serve"
            extra = labels - series[name] - {"le", "job", "instance"}
            assert not extra, f"{name} has no label {extra} (in {expr!r})"
    # The alerts the operators were promised, each over its metric.
    for wanted in ("events_dead_lettered_total", "outbox_oldest_pending_seconds", "consumer_lag", "database_up",
                   "http_request_duration_seconds_count"):
        assert wanted in named


def test_alert_rules_are_complete() -> None:
    rules = alert_rules()
    names = [r["alert"] for r in rules]
    assert len(names) == len(set(names))
    for rule in rules:
        assert rule["labels"]["severity"] in SEVERITIES, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert re.fullmatch(r"\d+[smh]", rule.get("for", "0s")), rule["alert"]
    for wanted in ("ChungtayDeadLetters", "ChungtayRelayLag", "ChungtayConsumerLag", "ChungtayDatabaseUnavailable",
                   "ChungtayHighErrorRate"):
        assert wanted in names


def test_dashboard_panels_are_laid_out_and_use_the_datasource_variable() -> None:
    board = dashboard()
    seen = set()
    for panel in board["panels"]:
        grid = panel["gridPos"]
        place = (grid["x"], grid["y"])
        assert place not in seen and grid["x"] + grid["w"] <= 24, panel["title"]
        seen.add(place)
        assert panel["datasource"]["uid"] == "${datasource}"
        assert panel["targets"], panel["title"]
    assert board["uid"] == "chungtay-platform"


def sample(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


async def test_readiness_and_outage_answers_move_the_database_metrics(stack: Stack, nats_url: str) -> None:
    db = await fresh_database(stack, "reporting")
    async with running_app(reporting_app(db, nats_url)) as client:
        assert (await client.get("/ready")).status_code == 200
        assert sample("database_up", service="reporting") == 1
        before = sample("database_unavailable_total", service="reporting") or 0.0
        async with unreachable(stack, db):
            assert (await client.get("/ready")).status_code == 503
            assert sample("database_up", service="reporting") == 0
            answer = await client.get("/reporting/status", headers=auth_headers(OPERATOR))
            assert answer.status_code == 503 and answer.json()["code"] == "database_unavailable", answer.text
            assert sample("database_unavailable_total", service="reporting") == before + 1
        assert (await client.get("/ready")).status_code == 200
        assert sample("database_up", service="reporting") == 1


async def test_the_relay_reports_its_backlog_and_the_age_of_its_oldest_row(stack: Stack, nats_url: str) -> None:
    db = await fresh_database(stack, "support")
    await fetch(db, "INSERT INTO outbox (id, subject, body, created_at) SELECT gen_random_uuid(), 'support.x', "
                    "'{}'::bytea, now() - make_interval(mins => 90) FROM generate_series(1, 12)")
    relay = OutboxRelay(db, None, "support")  # type: ignore[arg-type] - measures only, publishes nothing
    try:
        await relay._connect()  # noqa: SLF001
        await relay.measure_backlog()
    finally:
        await relay.stop()
    assert OUTBOX_PENDING.labels("support")._value.get() == 12  # noqa: SLF001
    assert OUTBOX_OLDEST.labels("support")._value.get() >= 90 * 60  # noqa: SLF001
