"""Events the support service consumes from other services."""

from __future__ import annotations

from shared.consumer import Consumer

CONSUMERS: list[Consumer] = []
