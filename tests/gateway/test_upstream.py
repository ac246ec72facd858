"""The gateway's upstream client against servers that misbehave on purpose: connections are reused,
a connection the service closed while idle is retried once, chunked and close-delimited bodies
arrive whole, timeouts fire, and failures never leak pool slots."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from gateway.proxy.upstream import UpstreamFailed, UpstreamPool, UpstreamTimeout

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[tuple[str, list[int]]]:
    """A TCP server running `handler` per connection; yields its URL and a list counting connections."""
    connections: list[int] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", connections
    finally:
        server.close()
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    body = b""
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            body = await reader.readexactly(int(line.split(b":")[1]))
    if b"transfer-encoding: chunked" in head.lower():
        while True:
            size = int((await reader.readline()).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
    return head, body


def ok(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n%b\r\n%b" % (len(body), extra, body)


async def keep_alive_echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        head, body = await read_request(reader)
        writer.write(ok(head.split(b"\r\n")[0] + b"|" + body))
        await writer.drain()


async def test_connections_are_kept_alive_and_reused() -> None:
    async with raw_server(keep_alive_echo) as (url, connections):
        pool = UpstreamPool(url, 8, 1.0)
        for i in range(5):
            response = await pool.request("POST", b"/x?i=%d" % i, [(b"x-a", b"1")], b"payload", 2.0)
            assert await response.read() == b"POST /x?i=%d HTTP/1.1|payload" % i
        assert len(connections) == 1
        pool.close()


async def test_a_connection_the_service_closed_while_idle_is_retried_on_a_new_one() -> None:
    closed = asyncio.Event()

    async def one_answer_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(ok(b"first"))
        await writer.drain()
        # keep-alive was announced, but the server closes without telling anyone
        writer.close()
        await writer.wait_closed()
        closed.set()

    async with raw_server(one_answer_then_close) as (url, connections):
        pool = UpstreamPool(url, 8, 1.0)
        assert await (await pool.request("GET", b"/", [], None, 2.0)).read() == b"first"
        await closed.wait()
        # Whether the pool has noticed the close yet or finds out by sending: a new connection answers.
        assert await (await pool.request("GET", b"/", [], None, 2.0)).read() == b"first"
        assert len(connections) == 2


async def test_a_request_that_may_have_been_applied_is_not_sent_twice() -> None:
    async def answers_once_then_drops(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(ok(b"first"))
        await writer.drain()
        await read_request(reader)  # the second request arrives; the connection drops unanswered

    async with raw_server(answers_once_then_drops) as (url, connections):
        pool = UpstreamPool(url, 8, 1.0)
        await (await pool.request("GET", b"/", [], None, 2.0)).read()
        # A GET on the broken connection is retried on a new one...
        assert await (await pool.request("GET", b"/", [], None, 2.0)).read() == b"first"
        assert len(connections) == 2
        # ...a POST is not: the service might have applied it before the connection broke.
        with pytest.raises(UpstreamFailed):
            await pool.request("POST", b"/", [], b"{}", 2.0)
        assert len(connections) == 2


async def test_chunked_and_close_delimited_bodies_arrive_whole() -> None:
    async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        for part in (b"alpha", b"beta", b"x" * 70000):
            writer.write(b"%x\r\n%b\r\n" % (len(part), part))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        await reader.read()

    async def until_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nno length here")
        await writer.drain()

    async with raw_server(chunked) as (url, _):
        pool = UpstreamPool(url, 8, 1.0)
        assert await (await pool.request("GET", b"/", [], None, 2.0)).read() == b"alphabeta" + b"x" * 70000
    async with raw_server(until_close) as (url, _):
        pool = UpstreamPool(url, 8, 1.0)
        assert await (await pool.request("GET", b"/", [], None, 2.0)).read() == b"no length here"


async def test_streamed_request_bodies_are_sent_chunked_or_with_their_length() -> None:
    async def parts() -> AsyncIterator[bytes]:
        for i in range(3):
            yield b"part%d;" % i

    async with raw_server(keep_alive_echo) as (url, _):
        pool = UpstreamPool(url, 8, 1.0)
        chunked = await (await pool.request("POST", b"/u", [], parts(), 2.0)).read()
        assert chunked.endswith(b"|part0;part1;part2;")
        sized = await (await pool.request("POST", b"/u", [(b"content-length", b"18")], parts(), 2.0)).read()
        assert sized.endswith(b"|part0;part1;part2;")


async def test_slow_heads_and_stalled_bodies_time_out_and_free_their_slot() -> None:
    async def stalls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head, _ = await read_request(reader)
        if b"/body" in head:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly-part")
            await writer.drain()
        await reader.read()  # says nothing more until the client gives up and closes

    async with raw_server(stalls) as (url, _):
        pool = UpstreamPool(url, 1, 1.0)  # one slot: a leak would block the next request forever
        for _ in range(2):
            with pytest.raises(UpstreamTimeout):
                await pool.request("GET", b"/head", [], None, 0.2)
        response = await pool.request("GET", b"/body", [], None, 0.2)
        with pytest.raises(UpstreamTimeout):
            await response.read()
        response.release()
        with pytest.raises(UpstreamTimeout):
            await pool.request("GET", b"/head", [], None, 0.2)


async def test_a_service_that_is_down_or_breaks_off_fails_cleanly() -> None:
    from devstack.embedded import free_port

    pool = UpstreamPool(f"http://127.0.0.1:{free_port()}", 1, 1.0)
    for _ in range(3):
        with pytest.raises(UpstreamFailed):
            await pool.request("GET", b"/", [], None, 1.0)

    async def breaks(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\nshort")
        await writer.drain()

    async with raw_server(breaks) as (url, _):
        pool = UpstreamPool(url, 1, 1.0)
        response = await pool.request("GET", b"/", [], None, 1.0)
        with pytest.raises(UpstreamFailed):
            await response.read()
        response.release()
        garbage = UpstreamPool(url, 1, 1.0)
        response = await garbage.request("GET", b"/", [], None, 1.0)
        response.release()


async def test_an_answer_before_the_upload_ends_stops_the_upload() -> None:
    answered = asyncio.Event()

    async def refuses_early(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 413 Payload Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        await writer.drain()
        answered.set()
        await reader.read()  # takes what still comes, until the client closes

    sent = []

    async def endless() -> AsyncIterator[bytes]:
        for _ in range(1000):
            sent.append(1)
            yield b"z" * 1000
            await answered.wait()  # the answer is on its way before the rest of the upload
            await asyncio.sleep(0)  # one turn of the loop per chunk: the answer can be read in between

    async with raw_server(refuses_early) as (url, _):
        pool = UpstreamPool(url, 1, 1.0)
        response = await pool.request("POST", b"/upload", [], endless(), 2.0)
        assert response.status == 413
        response.release()
        assert len(sent) < 1000
