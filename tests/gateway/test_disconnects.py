"""A client that disconnects mid-request is a normal event: logged as such, no stray exception (issue 16:
a disconnect mid-upload left "Future exception was never retrieved" in the gateway's log)."""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any

import pytest
from starlette.types import Message

from gateway.proxy.upstream import _Connection
from tests.gateway.conftest import GatewayUnderTest
from tests.kit import eventually


def _scope(path: str, token: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
            "client": ("198.51.100.7", 50000), "server": ("gateway", 80),
            "headers": [(b"host", b"gateway"), (b"authorization", f"Bearer {token}".encode()), *headers]}


@pytest.mark.parametrize(("path", "headers", "streamed"), [
    ("/support/test/upload", [(b"content-type", b"text/csv"), (b"transfer-encoding", b"chunked")], True),
    ("/support/test/json", [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")], False),
])
async def test_a_client_leaving_mid_upload_is_logged_as_such_and_leaves_no_stray_exception(
        gw: GatewayUnderTest, caplog: pytest.LogCaptureFixture, path: str, headers: list[tuple[bytes, bytes]],
        streamed: bool) -> None:
    loop = asyncio.get_running_loop()
    unhandled: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: unhandled.append(context))
    token = await gw.token("commune.07207")
    sent: list[Message] = []
    parts = 0
    leave = asyncio.Event()

    async def receive() -> Message:
        nonlocal parts
        parts += 1
        if parts <= 3:
            return {"type": "http.request", "body": b"a,b\n" * 5000, "more_body": True}
        if parts == 4:  # the upload has started to flow upstream; then the client goes away
            await leave.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    try:
        with caplog.at_level(logging.INFO, logger="gateway"):
            request = asyncio.create_task(gw.front(_scope(path, token, headers), receive, send))
            await eventually(lambda: _asked_for_more(parts), timeout=10)
            leave.set()
            await request
            if streamed:  # the upload had reached the service: wait until its connection is closed
                await eventually(lambda: _service_saw_the_end(gw), timeout=10)
            # The pooled connection may date from the gateway's start (it read the service's routes),
            # whose objects are frozen out of collections: put them back, then collect. A future whose
            # exception nobody retrieved reports it when collected.
            gc.unfreeze()
            gc.collect()
    finally:
        loop.set_exception_handler(previous)
    assert sent == []  # nobody is left to answer
    assert [c.get("message") for c in unhandled] == []
    # The upstream connection the upload was on is closed and freed, not kept in memory for good.
    assert [c for c in gc.get_objects() if isinstance(c, _Connection) and not c.alive] == []
    assert any("client disconnected" in r.getMessage() and r.levelno == logging.INFO for r in caplog.records)
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)


async def _asked_for_more(parts: int) -> bool:
    return parts >= 4


async def _service_saw_the_end(gw: GatewayUnderTest) -> bool:
    return len(gw.echo.seen) == 1
