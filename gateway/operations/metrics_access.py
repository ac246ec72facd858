"""Who may read the gateway's /metrics: the gateway is the internet-facing door, its figures are not
for everyone (request rates per route, consumer lag, internal errors)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

from fastapi import Request
from fastapi.responses import Response

from gateway.settings import GatewaySettings
from shared.errors import problem_response


def metrics_refusal(settings: GatewaySettings, request: Request) -> Response | None:
    """None when the caller may read /metrics, else the problem+json answer refusing it.

    With `GATEWAY_METRICS_TOKEN`: `Authorization: Bearer <token>` from anyone, nothing else (compared
    in constant time). Without it: only a client on a loopback address, and only when every address a
    proxy names for it (X-Forwarded-For, Forwarded, X-Real-IP) is loopback too — a request relayed by a
    proxy on this host is not local just because the proxy is; `trust_forwarded_for` does not widen this.
    """
    token = settings.metrics_token.strip()
    if token:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and given.strip() and hmac.compare_digest(
                hashlib.sha256(given.strip().encode()).digest(), hashlib.sha256(token.encode()).digest()):
            return None
        response = problem_response(401, "unauthorized", "Unauthorized",
                                    "/metrics needs Authorization: Bearer <GATEWAY_METRICS_TOKEN>.")
        response.headers["WWW-Authenticate"] = 'Bearer realm="chungtay-metrics"'
        return response
    peer = request.client.host if request.client else None
    relayed = _forwarded_addresses(request)
    if _is_loopback(peer) and all(_is_loopback(a) for a in relayed):
        return None
    return problem_response(403, "forbidden", "Forbidden",
                            "/metrics answers loopback clients only; set GATEWAY_METRICS_TOKEN to scrape "
                            "it from elsewhere with a bearer token.")


def _forwarded_addresses(request: Request) -> list[str]:
    """Every client address the proxies in front name, whatever `trust_forwarded_for` says."""
    found: list[str] = []
    for value in request.headers.getlist("x-forwarded-for") + request.headers.getlist("x-real-ip"):
        found += [part.strip() for part in value.split(",")]
    for value in request.headers.getlist("forwarded"):  # RFC 7239: for=192.0.2.1;proto=http, for="[::1]:80"
        for element in value.split(","):
            for pair in element.split(";"):
                name, _, item = pair.strip().partition("=")
                if name.strip().lower() == "for":
                    found.append(item.strip().strip('"'))
    return found


def _is_loopback(address: str | None) -> bool:
    if not address:
        return False
    text = address.strip()
    if text.startswith("["):  # [v6] or [v6]:port
        text = text[1:text.find("]")] if "]" in text else text[1:]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return False  # "unknown", obfuscated identifiers, garbage: not provably local
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback
