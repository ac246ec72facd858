"""Forwarding to the services over pooled keep-alive connections (gateway/proxy/upstream.py): request
bodies streamed or passed as read, response bodies streamed back, hop-by-hop headers dropped, an
upstream that is down → 502, one too slow → 504.
"""

from __future__ import annotations

from starlette.types import Send

from gateway.proxy.bodies import BodyTooLarge, ClientGone, StreamedBody
from gateway.proxy.headers import HOP_BY_HOP
from gateway.proxy.upstream import UpstreamFailed, UpstreamPool, UpstreamResponse, UpstreamTimeout

# Dropped from upstream responses: the gateway's own server sets these (and the request id).
RESPONSE_DROP = HOP_BY_HOP | {b"server", b"date", b"x-request-id"}
_READ_WHOLE = 256 * 1024  # responses up to this size are read whole and sent in one message


class UpstreamError(Exception):
    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


class Forwarder:
    def __init__(self, upstreams: dict[str, str], pool_size: int, connect_timeout: float) -> None:
        self.upstreams = upstreams
        self.pool_size = pool_size
        self.connect_timeout = connect_timeout
        self.pools: dict[str, UpstreamPool] = {}

    async def start(self) -> None:
        self.pools = {name: UpstreamPool(url, self.pool_size, self.connect_timeout)
                      for name, url in self.upstreams.items()}

    async def stop(self) -> None:
        for pool in self.pools.values():
            pool.close()

    async def get(self, service: str, target: bytes, timeout: float) -> tuple[int, bytes]:
        """A whole small answer (the services' OpenAPI documents)."""
        response = await self.pools[service].request("GET", target, [], None, timeout)
        try:
            return response.status, await response.read()
        finally:
            response.release()

    async def forward(self, service: str, method: str, target: bytes, headers: list[tuple[bytes, bytes]],
                      body: bytes | StreamedBody | None, timeout: float, send: Send,
                      extra_headers: list[tuple[bytes, bytes]]) -> int:
        """Send the request upstream and stream the answer to the client; returns the status."""
        streamed = body if isinstance(body, StreamedBody) else None
        data = streamed.chunks() if streamed is not None else body
        try:
            response = await self.pools[service].request(method, target, headers, data, timeout)  # type: ignore[arg-type]
        except UpstreamTimeout as exc:
            raise UpstreamError(504, "upstream_timeout",
                                f"The {service} service did not answer within {timeout:g}s.") from exc
        except UpstreamFailed as exc:
            raise UpstreamError(502, "upstream_unavailable",
                                f"The {service} service cannot be reached ({exc}).") from exc
        try:
            if streamed is not None and (streamed.too_large or streamed.client_gone):
                raise BodyTooLarge() if streamed.too_large else ClientGone()
            await self._relay(response, method, send, extra_headers)
        finally:
            response.release()
        return response.status

    @staticmethod
    async def _relay(response: UpstreamResponse, method: str, send: Send,
                     extra_headers: list[tuple[bytes, bytes]]) -> None:
        headers = [(k, v) for k, v in response.headers if k not in RESPONSE_DROP]
        headers.extend(extra_headers)
        length = response.content_length
        if method == "HEAD" or (length is not None and length <= _READ_WHOLE):
            try:
                body = b"" if method == "HEAD" else await response.read()
            except UpstreamTimeout as exc:
                raise UpstreamError(504, "upstream_timeout", "The service stopped answering mid-response.") from exc
            except UpstreamFailed as exc:
                raise UpstreamError(502, "upstream_failed", f"The service broke off its answer ({exc}).") from exc
            await send({"type": "http.response.start", "status": response.status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        # Once the status line is out, an upstream failure can only cut the response short: the
        # exception propagates so the server closes the connection instead of ending it cleanly.
        async for chunk in response.chunks():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
