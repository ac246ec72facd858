"""The platform's services, named once: the gateway proxies them, JetStream keeps a stream for each,
`make run` starts them in this order."""

from __future__ import annotations

SERVICES: tuple[str, ...] = ("registry", "support", "emulation", "reporting")
