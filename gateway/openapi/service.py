"""Each service's OpenAPI document, read at start, every `GATEWAY_OPENAPI_REFRESH_SECONDS` and
when a request finds no route: the route table the proxy matches requests against (in memory; the
hot path never waits on a fetch unless the service's table is missing or the route unknown), and
the services' part of the public document.

A service whose document cannot be read keeps the last table it published; one that never published
one has no table, and requests for it are answered as if it were down (gateway/proxy/pipeline.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.openapi.rules import merge, route_table
from gateway.proxy.rules import RouteTable
from gateway.proxy.upstream import UpstreamFailed, UpstreamTimeout
from shared.tasks import Periodic

log = logging.getLogger(__name__)
DOCUMENT = b"/openapi.json"
FETCH_TIMEOUT = 5.0

Fetch = Callable[[str, bytes, float], Awaitable[tuple[int, bytes]]]


@dataclass
class ServiceState:
    """What the gateway knows of one service's document."""

    table: RouteTable | None = None
    document: dict[str, Any] | None = None
    raw: bytes = b""
    read_at: float = 0.0  # monotonic, last successful read
    tried_at: float = -1e9  # monotonic, last attempt
    problem: str = ""  # why the last attempt failed ("" when it did not)
    reachable: bool = True  # False when the last attempt could not reach the service
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class ServiceDocuments:
    def __init__(self, fetch: Fetch, services: list[str], refresh_seconds: float, retry_seconds: float = 2.0) -> None:
        """`fetch(service, target, timeout)` answers (status, body); `retry_seconds`: how soon a request
        finding no table (or no route) may make the gateway read a document again."""
        self.fetch = fetch
        self.services = services
        self.retry_seconds = retry_seconds
        self.state = {service: ServiceState() for service in services}
        self._refresher = _Refresher(self, refresh_seconds)

    # ---- the hot path -------------------------------------------------------------------------
    def table(self, service: str) -> RouteTable | None:
        return self.state[service].table

    async def reread(self, service: str) -> RouteTable | None:
        """The service's table, read again first unless it was tried within `retry_seconds` (a request
        found no table or no route: the service may have started, or published a new route)."""
        state = self.state[service]
        if time.monotonic() - state.tried_at >= self.retry_seconds:
            await self.refresh(service, at_most_every=self.retry_seconds)
        return state.table

    # ---- reading the documents ------------------------------------------------------------------
    async def refresh(self, service: str, at_most_every: float = 0.0) -> None:
        state = self.state[service]
        async with state.lock:  # one read at a time per service; waiters use its result
            if time.monotonic() - state.tried_at < at_most_every:
                return
            state.tried_at = time.monotonic()
            try:
                status, raw = await self.fetch(service, DOCUMENT, FETCH_TIMEOUT)
            except (UpstreamFailed, UpstreamTimeout) as exc:
                self._failed(service, state, f"cannot be reached ({exc})", reachable=False)
                return
            if status != 200:
                self._failed(service, state, f"answered {status} for {DOCUMENT.decode()}", reachable=True)
                return
            state.read_at, state.problem, state.reachable = time.monotonic(), "", True
            if raw == state.raw and state.table is not None:
                return  # unchanged: nothing to parse
            try:
                document = json.loads(raw)
                table, skipped = route_table(service, document)
            except (ValueError, AttributeError, TypeError) as exc:
                self._failed(service, state, f"published an unreadable {DOCUMENT.decode()} ({exc})", reachable=True)
                return
            for reason in skipped:
                log.warning("service route not forwarded", extra={"service": service, "reason": reason})
            state.table, state.document, state.raw = table, document, raw
            log.info("service routes read", extra={"service": service, "routes": len(table)})

    @staticmethod
    def _failed(service: str, state: ServiceState, problem: str, reachable: bool) -> None:
        if problem != state.problem:
            log.warning("service OpenAPI unavailable", extra={"service": service, "error": problem,
                                                              "keeps_last_table": state.table is not None})
        state.problem, state.reachable = problem, reachable

    async def refresh_all(self) -> None:
        await asyncio.gather(*(self.refresh(s) for s in self.services))

    async def start(self) -> None:
        await self.refresh_all()
        await self._refresher.start()

    async def stop(self) -> None:
        await self._refresher.stop()

    # ---- the public document and the readiness check --------------------------------------------
    async def document(self, gateway_spec: dict[str, Any]) -> dict[str, Any]:
        await asyncio.gather(*(self.reread(s) for s in self.services if self.state[s].table is None))
        documents = {s: self.state[s].document for s in self.services}
        tables = {s: t for s in self.services if (t := self.state[s].table) is not None}
        return merge(gateway_spec, documents, tables)

    def status(self) -> dict[str, Any]:
        """Per service: how many routes it publishes, or why none are known."""
        return {s: len(state.table) if state.table is not None else f"unknown: {state.problem or 'not read yet'}"
                for s, state in self.state.items()}


class _Refresher(Periodic):
    def __init__(self, documents: ServiceDocuments, interval: float) -> None:
        super().__init__("gateway-openapi-refresh", interval)
        self.documents = documents

    async def tick(self) -> None:
        await self.documents.refresh_all()
