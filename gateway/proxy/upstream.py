"""A minimal HTTP/1.1 client for the gateway's hop to the services: keep-alive connections pooled per
service, responses parsed by httptools (the parser uvicorn itself uses), bodies streamed both ways
with flow control.

Why not aiohttp: measured on this machine against a trivial upstream, aiohttp spends about 110 µs of
CPU per proxied request and this client about 28 µs; the gateway's whole budget is a few hundred
(bench/gateway.py). It only has to speak to our own services (uvicorn), so it stays small: one
request per connection at a time, no redirects, no cookies, no decompression, no TLS.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httptools

IDLE_SECONDS = 4.0  # below uvicorn's 5 s keep-alive: we drop an idle connection before the server does
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_HIGH_WATER = 1 << 20  # buffered response bytes before reading from the service pauses


class UpstreamTimeout(Exception):
    pass


class UpstreamFailed(Exception):
    """The connection failed or broke; `received` says whether any response byte had arrived, `sent`
    whether the request had been written."""

    def __init__(self, message: str, received: bool = False, sent: bool = True) -> None:
        super().__init__(message)
        self.received = received
        self.sent = sent


def _fail_future(future: asyncio.Future[None] | None, exc: Exception) -> None:
    """Fails a future the connection was to resolve, and marks the failure seen: whoever awaits it still
    gets the exception, and one nobody awaits any more (the client left mid-upload, the request was
    cancelled) is an expected end, not "Future exception was never retrieved" in the log."""
    if future is not None and not future.done():
        future.set_exception(exc)
        future.exception()


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser: httptools.HttpResponseParser | None = httptools.HttpResponseParser(self)
        self.loop = asyncio.get_running_loop()
        self.alive = True
        self.idle_since = 0.0
        self._head: asyncio.Future[None] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._drain: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._reset()

    def _reset(self) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: collections.deque[bytes] = collections.deque()
        self.buffered = 0
        self.complete = False
        self.received = False
        self.eof_body = False  # no length, not chunked: the body ends when the service closes
        self.keep_alive = False
        self.error: Exception | None = None
        self.paused = False

    # ---- asyncio.Protocol ----------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.received = True
        if self.parser is None:  # data after the connection was lost: nothing to read it into
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamFailed(f"invalid response: {exc}", received=True))

    def connection_lost(self, exc: Exception | None) -> None:
        self.alive = False
        if self.eof_body and not self.complete and self.status:
            self.on_message_complete()
        else:
            if not self.complete:
                self._fail(UpstreamFailed("connection closed by the service", received=self.received))
            _fail_future(self._drain, UpstreamFailed("connection closed while sending", self.received))
        # The parser holds this protocol: cutting the cycle frees a closed connection at once, even
        # one opened at start (reading the services' routes), which gc.freeze() leaves out of collections.
        self.parser = None

    def pause_writing(self) -> None:
        self._drain = self.loop.create_future()

    def resume_writing(self) -> None:
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)
        self._drain = None

    # ---- httptools callbacks -------------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        assert self.parser is not None  # called by the parser itself
        self.status = self.parser.get_status_code()
        self.keep_alive = self.parser.should_keep_alive()  # read now: the parser resets after the message
        names = {n for n, _ in self.headers}
        self.eof_body = b"content-length" not in names and b"transfer-encoding" not in names
        if self._head is not None and not self._head.done():
            self._head.set_result(None)

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > _HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        self.complete = True
        self._wake()

    # ---- plumbing ------------------------------------------------------------------------------
    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _fail(self, exc: Exception) -> None:
        if self.error is None:
            self.error = exc
        self.alive = False
        for future in (self._head, self._waiter):
            _fail_future(future, exc)
        if self.transport is not None:
            self.transport.close()

    def _arm(self, seconds: float) -> None:
        self._timer = self.loop.call_later(seconds, self._fail, UpstreamTimeout(f"no answer within {seconds:g}s"))

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def close(self) -> None:
        self.alive = False
        self._disarm()
        if self.transport is not None:
            self.transport.close()


class UpstreamResponse:
    def __init__(self, pool: UpstreamPool, conn: _Connection, head_only: bool, read_timeout: float) -> None:
        self._pool, self._conn, self._head_only, self._timeout = pool, conn, head_only, read_timeout
        self.status = conn.status
        self.headers = conn.headers
        self._released = False

    @property
    def content_length(self) -> int | None:
        for name, value in self.headers:
            if name == b"content-length":
                try:
                    return int(value)
                except ValueError:
                    return None
        return None

    @property
    def complete(self) -> bool:
        return self._head_only or self._conn.complete

    async def chunks(self) -> AsyncIterator[bytes]:
        conn = self._conn
        while not self._head_only:
            if conn.chunks:
                chunk = conn.chunks.popleft()
                conn.buffered -= len(chunk)
                if conn.paused and conn.buffered < _HIGH_WATER // 2 and conn.transport is not None:
                    conn.paused = False
                    conn.transport.resume_reading()
                yield chunk
                continue
            if conn.complete:
                break
            if conn.error is not None:
                raise conn.error
            conn._waiter = conn.loop.create_future()
            conn._arm(self._timeout)
            try:
                await conn._waiter
            finally:
                conn._waiter = None
                conn._disarm()
        self.release()

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.chunks()])

    def release(self) -> None:
        """Back to the pool when the exchange ended cleanly, else closed."""
        if self._released:
            return
        self._released = True
        conn = self._conn
        if not self._head_only and conn.complete and conn.alive and not conn.chunks and conn.keep_alive:
            self._pool.put_back(conn)
        else:
            conn.close()
        self._pool.slots.release()


class UpstreamPool:
    """Keep-alive connections to one service (host:port of a plain-HTTP base URL)."""

    def __init__(self, base_url: str, size: int, connect_timeout: float) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream must be a plain http:// URL: {base_url!r}")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.host_header = f"{self.host}:{self.port}".encode() if parts.port else self.host.encode()
        self.prefix = parts.path.rstrip("/").encode()
        self.connect_timeout = connect_timeout
        self.slots = asyncio.Semaphore(size)
        self._idle: list[_Connection] = []

    def put_back(self, conn: _Connection) -> None:
        conn._reset()  # the parser goes on to the next message by itself
        conn.idle_since = time.monotonic()
        self._idle.append(conn)

    async def _connection(self) -> tuple[_Connection, bool]:
        """An idle connection (reused=True) or a new one."""
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if conn.alive and now - conn.idle_since < IDLE_SECONDS:
                return conn, True
            conn.close()
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(loop.create_connection(_Connection, self.host, self.port),
                                             self.connect_timeout)
        except TimeoutError as exc:
            raise UpstreamFailed(f"connecting took more than {self.connect_timeout:g}s") from exc
        except OSError as exc:
            raise UpstreamFailed(f"cannot connect: {exc.strerror or exc}") from exc
        return conn, False

    async def request(self, method: str, target: bytes, headers: list[tuple[bytes, bytes]],
                      body: bytes | AsyncIterator[bytes] | None, read_timeout: float) -> UpstreamResponse:
        """Send a request and wait for the response head. A reused connection that the service had
        already closed is retried once on a new one, when the body can be sent again and the request
        cannot have been applied twice (idempotent, or never written)."""
        await self.slots.acquire()
        try:
            for attempt in (1, 2):
                conn, reused = await self._connection()
                try:
                    return await self._exchange(conn, method, target, headers, body, read_timeout)
                except UpstreamFailed as exc:
                    conn.close()
                    replayable = body is None or isinstance(body, bytes)
                    safe = method in _IDEMPOTENT or not exc.sent
                    if attempt == 1 and reused and not exc.received and replayable and safe:
                        continue
                    raise
                except BaseException:
                    conn.close()
                    raise
            raise AssertionError("unreachable")
        except BaseException:
            self.slots.release()
            raise

    async def _exchange(self, conn: _Connection, method: str, target: bytes, headers: list[tuple[bytes, bytes]],
                        body: bytes | AsyncIterator[bytes] | None, read_timeout: float) -> UpstreamResponse:
        transport = conn.transport
        if transport is None or transport.is_closing() or not conn.alive:
            raise UpstreamFailed("connection already closed", sent=False)
        streamed = body is not None and not isinstance(body, bytes)
        has_length = any(n == b"content-length" for n, _ in headers)
        lines = [method.encode(), b" ", self.prefix, target, b" HTTP/1.1\r\nhost: ", self.host_header, b"\r\n"]
        for name, value in headers:
            lines += [name, b": ", value, b"\r\n"]
        if isinstance(body, bytes):
            lines += [b"content-length: ", str(len(body)).encode(), b"\r\n\r\n", body]
        elif streamed and not has_length:
            lines.append(b"transfer-encoding: chunked\r\n\r\n")
        elif body is None and method in ("POST", "PUT", "PATCH"):
            lines.append(b"content-length: 0\r\n\r\n")
        else:
            lines.append(b"\r\n")
        conn._head = conn.loop.create_future()
        transport.write(b"".join(lines))
        if streamed:
            assert not isinstance(body, bytes) and body is not None
            async for chunk in body:
                if conn._head.done() or not conn.alive:
                    # The service answered (or failed) before reading everything: the connection
                    # is out of step and is never reused.
                    conn.alive = False
                    break
                if chunk:
                    transport.write(chunk if has_length else b"%x\r\n%b\r\n" % (len(chunk), chunk))
                if conn._drain is not None:
                    await conn._drain
            else:
                if not has_length and conn.alive:
                    transport.write(b"0\r\n\r\n")
        if not conn._head.done():
            conn._arm(read_timeout)
        try:
            await conn._head
        finally:
            conn._disarm()
            conn._head = None
        return UpstreamResponse(self, conn, method == "HEAD", read_timeout)

    def close(self) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()
