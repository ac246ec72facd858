"""Request bodies on the proxy path: read whole (JSON and forms, which the gateway inspects) or
passed through as they arrive (uploads), each within a size limit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.types import Receive


class BodyTooLarge(Exception):
    pass


class ClientGone(Exception):
    """The client disconnected before its request was answered: a normal event, not a failure."""


def body_kind(content_type: bytes | None) -> str:
    """`json` when the service will parse the body as JSON (FastAPI also does so with no content
    type at all), `form` for urlencoded forms, `stream` for anything else."""
    if content_type is None:
        return "json"
    main = content_type.split(b";", 1)[0].strip().lower()
    if main.startswith(b"application/"):
        subtype = main[12:]
        if subtype == b"json" or subtype.endswith(b"+json"):
            return "json"
        if subtype == b"x-www-form-urlencoded":
            return "form"
    return "stream"


async def read_body(receive: Receive, limit: int) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        total += len(chunk)
        if total > limit:
            raise BodyTooLarge()
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


@dataclass
class StreamedBody:
    """The client's request body, passed through as it arrives, within a size limit."""

    receive: Receive
    limit: int
    too_large: bool = False
    client_gone: bool = False

    async def chunks(self) -> AsyncIterator[bytes]:
        total = 0
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                self.client_gone = True
                raise ClientGone()
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.limit:
                self.too_large = True
                raise BodyTooLarge()
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                return
