"""JetStream streams: one per producing service, plus the dead-letter stream. Provisioned at start."""

from __future__ import annotations

import logging
import os

from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from shared.services import SERVICES

log = logging.getLogger(__name__)

DEAD_LETTER_STREAM = "DEADLETTER"
DEAD_LETTER_PREFIX = "deadletter"
PRODUCERS = SERVICES
DUPLICATE_WINDOW_SECONDS = 300.0


def stream_replicas() -> int:
    """NATS_STREAM_REPLICAS: copies of every stream in a JetStream cluster (1 on one server, the
    default; 3 on Kubernetes). Every process that creates streams must agree — else they would set
    the count back and forth at each start — hence one unprefixed variable for all."""
    value = os.environ.get("NATS_STREAM_REPLICAS", "1")
    try:
        replicas = int(value)
    except ValueError:
        replicas = 0
    if not 1 <= replicas <= 5:
        raise ValueError(f"NATS_STREAM_REPLICAS must be a whole number from 1 to 5, not {value!r}")
    return replicas


def stream_name(producer: str) -> str:
    return producer.upper()


def stream_config(producer: str) -> StreamConfig:
    return StreamConfig(
        name=stream_name(producer),
        subjects=[f"{producer}.>"],
        retention=RetentionPolicy.LIMITS,  # kept so read models can be rebuilt by replay
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        num_replicas=stream_replicas(),
    )


def dead_letter_config() -> StreamConfig:
    return StreamConfig(
        name=DEAD_LETTER_STREAM, subjects=[f"{DEAD_LETTER_PREFIX}.>"],
        retention=RetentionPolicy.LIMITS, storage=StorageType.FILE, num_replicas=stream_replicas(),
    )


async def ensure_stream(js: JetStreamContext, config: StreamConfig) -> None:
    assert config.name is not None
    try:
        await js.stream_info(config.name)
    except NotFoundError:
        await js.add_stream(config)
        log.info("created stream", extra={"stream": config.name})
        return
    await js.update_stream(config)


async def ensure_streams(js: JetStreamContext, producers: tuple[str, ...] = PRODUCERS) -> None:
    for producer in producers:
        await ensure_stream(js, stream_config(producer))
    await ensure_stream(js, dead_letter_config())
