"""The request head on the proxy path: one pass over the headers for what the gateway needs and what
it forwards, refusing a head the gateway and the service could read differently."""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.proxy.rules import ambiguous
from shared.principal import PRINCIPAL_HEADER

HOP_BY_HOP = frozenset({
    b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"proxy-connection",
    b"te", b"trailer", b"trailers", b"transfer-encoding", b"upgrade",
})
# Not forwarded: the gateway sets these itself (or the upstream client does, for the body's length).
_REQUEST_DROP = HOP_BY_HOP | {
    b"host", b"authorization", PRINCIPAL_HEADER.encode(), b"x-request-id", b"content-length", b"expect",
    b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"forwarded",
}


@dataclass(slots=True)
class RequestHead:
    authorization: bytes | None = None
    content_type: bytes | None = None
    content_length: int | None = None
    chunked: bool = False
    host: bytes | None = None
    forwarded: list[tuple[bytes, bytes]] = field(default_factory=list)  # the headers passed on

    @property
    def has_body(self) -> bool:
        return self.chunked or bool(self.content_length)


def read_head(headers: list[tuple[bytes, bytes]]) -> RequestHead:
    """What the request's headers say; Refusal (400) when its framing or type is ambiguous: the
    gateway would inspect one body and the service read another (request smuggling, a form the
    gateway checks while the service parses JSON)."""
    head = RequestHead()
    forwarded = head.forwarded
    connection = length = None
    types = lengths = encodings = 0
    for key, value in headers:
        if key == b"authorization":
            head.authorization = value
        elif key == b"content-type":
            head.content_type = value
            types += 1
        elif key == b"content-length":
            length = value
            lengths += 1
        elif key == b"transfer-encoding":
            head.chunked = value.strip().lower() == b"chunked"
            encodings += 1
            if not head.chunked:
                raise ambiguous("Transfer-Encoding must be exactly 'chunked'.")
        elif key == b"connection":
            connection = value
        elif key == b"host":
            head.host = value
        if key not in _REQUEST_DROP:
            forwarded.append((key, value))
    if types > 1:
        raise ambiguous("Several Content-Type headers: send one.")
    if lengths > 1 or encodings > 1:
        raise ambiguous("Several Content-Length or Transfer-Encoding headers: send one.")
    if length is not None:
        if encodings:
            raise ambiguous("Content-Length and Transfer-Encoding together: send one.")
        if not length.isdigit():
            raise ambiguous("Content-Length must be a number of bytes.")
        head.content_length = int(length)
    if connection is not None:  # headers the client marked hop-by-hop go no further
        marked = {n.strip().lower() for n in connection.split(b",")} - {b"", b"close", b"keep-alive"}
        head.forwarded = [(k, v) for k, v in forwarded if k not in marked]
    return head
