"""The fault harness, short: one kill -9 each of the relay, the consumer, NATS and PostgreSQL during an
import and a stream of single writes (bench/faults.py; `python -m bench.faults` runs 20 trials and
prints the recovery times). Nothing may be lost or applied twice."""

from __future__ import annotations

from bench.faults import TARGETS, Options, run


async def test_kill_9_of_relay_consumer_nats_and_postgres_loses_and_doubles_nothing() -> None:
    summary = await run(Options(trials=len(TARGETS), households=300, writers=1, restart_delay=0.2,
                                settle_timeout=60, seed=7, settle_first=False,
                                stale_after=10))
    assert summary["trials"] == 4 and set(summary["by_target"]) == set(TARGETS)
    assert summary["lost_events"] == 0, summary
    assert summary["phantom_events"] == 0, summary
    assert summary["lost_acknowledged_writes"] == 0, summary
    assert summary["projection_differences"] == 0, summary  # an event applied twice would count twice
    assert summary["writes_acknowledged"] > 0
    assert summary["events_in_stream"] > 0
