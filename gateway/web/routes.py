"""The officers' web pages the gateway serves itself: `/dashboard/` (gateway/web/static/).

The page is static: it signs in with `/auth/token` and reads `/reporting/dashboard` through the gateway
like any other client, so the scope checks are the API's. Its files, the vendored Chart.js among them,
are read once at start and served from memory with a strict Content-Security-Policy (scripts, styles
and connections to this origin only: nothing from a CDN, no inline script), so the page works on an
offline government network and an injected string cannot run as script.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

STATIC = Path(__file__).parent / "static"
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".md": "text/plain; charset=utf-8", ".svg": "image/svg+xml",
         ".png": "image/png", ".ico": "image/x-icon"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {"content-security-policy": CSP, "x-content-type-options": "nosniff",
                    "x-frame-options": "DENY", "referrer-policy": "no-referrer",
                    "cross-origin-opener-policy": "same-origin"}


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


def _load() -> dict[str, Asset]:
    assets = {}
    for file in sorted(STATIC.rglob("*")):
        if file.is_file() and file.suffix in TYPES:
            body = file.read_bytes()
            name = file.relative_to(STATIC).as_posix()
            assets[name] = Asset(body, TYPES[file.suffix], '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
    return assets


ASSETS = _load()
router = APIRouter(tags=["web"], include_in_schema=False)


def _serve(request: Request, name: str) -> Response:
    asset = ASSETS.get(name)
    if asset is None:
        return Response(b"Not found", status_code=404, media_type="text/plain", headers=SECURITY_HEADERS)
    # Revalidated on every load (a new release is picked up at once), answered 304 when unchanged.
    headers = {**SECURITY_HEADERS, "etag": asset.etag, "cache-control": "no-cache"}
    if asset.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


@router.api_route("/dashboard", methods=["GET", "HEAD"])
async def dashboard_root() -> RedirectResponse:
    return RedirectResponse("/dashboard/", status_code=308)


@router.api_route("/dashboard/", methods=["GET", "HEAD"])
async def dashboard_page(request: Request) -> Response:
    return _serve(request, "index.html")


@router.api_route("/dashboard/{name:path}", methods=["GET", "HEAD"])
async def dashboard_asset(request: Request, name: str) -> Response:
    return _serve(request, name)
