"""Events the registry service consumes from other services."""

from __future__ import annotations

from shared.consumer import Consumer

CONSUMERS: list[Consumer] = []
