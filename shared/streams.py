"""JetStream streams: one per producing service, plus the dead-letter stream. Provisioned at start."""

from __future__ import annotations

import logging

from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from shared.services import SERVICES

log = logging.getLogger(__name__)

DEAD_LETTER_STREAM = "DEADLETTER"
DEAD_LETTER_PREFIX = "deadletter"
PRODUCERS = SERVICES
DUPLICATE_WINDOW_SECONDS = 300.0


def stream_name(producer: str) -> str:
    return producer.upper()


def stream_config(producer: str) -> StreamConfig:
    return StreamConfig(
        name=stream_name(producer),
        subjects=[f"{producer}.>"],
        retention=RetentionPolicy.LIMITS,  # kept so read models can be rebuilt by replay
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
    )


def dead_letter_config() -> StreamConfig:
    return StreamConfig(
        name=DEAD_LETTER_STREAM, subjects=[f"{DEAD_LETTER_PREFIX}.>"],
        retention=RetentionPolicy.LIMITS, storage=StorageType.FILE,
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
