"""How far behind its streams each projection consumer is, as operators and officers may see it.

Operators (`reporting.operations.read`: `admin`) see the platform-wide counters per consumer: the
stream's last sequence, what JetStream delivered and saw acknowledged, messages pending (not yet
delivered) and awaiting acknowledgement, the last event applied (from the same transaction as the
projections), and how many events were parked as dead letters. Everyone else sees only whether the
figures they read are caught up and when the last event was applied: no counts, sequences or event
ids, which describe the whole platform's activity, not the caller's units.
"""

from __future__ import annotations

from typing import Any

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.operations.repository import dead_letters
from services.reporting.progress.repository import read_progress
from shared.consumer import ConsumerRunner
from shared.permissions import OPERATIONS_READ
from shared.principal import Principal


async def _stream_state(js: JetStreamContext, runner: ConsumerRunner) -> dict[str, Any]:
    consumer = runner.consumer
    state: dict[str, Any] = {"stream": consumer.stream}
    try:
        stream = await js.stream_info(consumer.stream)
    except Exception as exc:  # NATS down or stream missing: say so instead of failing the page
        return {**state, "state": "unreachable", "error": f"stream: {type(exc).__name__}", "lag": None}
    state["stream_last_seq"] = int(stream.state.last_seq or 0)
    state["stream_messages"] = int(stream.state.messages or 0)
    try:
        info = await js.consumer_info(consumer.stream, consumer.name)
    except NotFoundError:
        # Not created yet (consumers not started): it will start from the stream's first message.
        return {**state, "state": "not_created", "pending": state["stream_messages"], "ack_pending": 0,
                "lag": state["stream_messages"]}
    except Exception as exc:
        return {**state, "state": "unreachable", "error": f"consumer: {type(exc).__name__}", "lag": None}
    state["state"] = "running"
    state["delivered_stream_seq"] = int(info.delivered.stream_seq or 0) if info.delivered else 0
    state["ack_floor_stream_seq"] = int(info.ack_floor.stream_seq or 0) if info.ack_floor else 0
    state["pending"] = int(info.num_pending or 0)
    state["ack_pending"] = int(info.num_ack_pending or 0)
    state["redelivered"] = int(info.num_redelivered or 0)
    # Lag: events in the stream not yet applied here (not delivered, or delivered but unacknowledged).
    state["lag"] = state["pending"] + state["ack_pending"]
    return state


async def _consumer_status(session: AsyncSession, js: JetStreamContext, runner: ConsumerRunner) -> dict[str, Any]:
    name = runner.consumer.name
    state = await _stream_state(js, runner)
    applied = await read_progress(session, name)
    last = state.get("stream_last_seq")
    lag = state["lag"]
    return {
        "consumer": name, "producer": runner.consumer.producer, **state,
        "caught_up": lag == 0 if lag is not None else None,
        # Stream messages after the last applied event (events of types reporting ignores count too).
        "behind_by_seq": (last - (applied["stream_seq"] or 0)) if last is not None else None,
        "applied": applied,
        "dead_letters": await dead_letters(session, name),
    }


def _for_officers(status: dict[str, Any]) -> dict[str, Any]:
    """What a consumer's status tells about the caller's own figures: fresh or not, and since when."""
    applied = status["applied"]
    return {"consumer": status["consumer"], "producer": status["producer"], "caught_up": status["caught_up"],
            "applied": {"occurred_at": applied["occurred_at"], "applied_at": applied["applied_at"]}}


async def consumers_status(session: AsyncSession, js: JetStreamContext, runners: list[ConsumerRunner],
                           principal: Principal) -> dict[str, Any]:
    consumers = [await _consumer_status(session, js, r) for r in runners]
    caught_up = all(c["caught_up"] for c in consumers)
    if principal.has(OPERATIONS_READ):
        return {"view": "operator", "consumers": consumers, "caught_up": caught_up}
    return {"view": "officer", "consumers": [_for_officers(c) for c in consumers], "caught_up": caught_up}
