"""`/auth/*` and the discovery document: the OAuth2 token endpoint (password, client_credentials,
refresh_token), who am I, logout, revocation (RFC 7009)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, Response

from gateway.dependencies import IdentitiesDep, LimiterDep, SettingsDep
from gateway.identity.service import Grant, LoginRefused
from gateway.settings import GatewaySettings
from gateway.tokens.bearer import Bearer
from shared.errors import problem_response

router = APIRouter(tags=["auth"])
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def client_ip(request: Request, settings: GatewaySettings) -> str:
    if settings.trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded:
            return forwarded.split(",", 1)[0].strip()
    return request.client.host if request.client else "unknown"


def _oauth_error(exc: LoginRefused) -> JSONResponse:
    response = problem_response(exc.status, exc.code, "Sign-in refused", exc.detail, error=exc.error,
                                error_description=exc.detail)
    response.headers.update(NO_STORE)
    if exc.retry_after:
        response.headers["Retry-After"] = str(exc.retry_after)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="chungtay"'
    return response


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, _, secret = decoded.partition(":")
    return client_id, secret


@router.post("/auth/token", summary="Get an access token (OAuth2 password, client_credentials, refresh_token)",
             responses={400: {"description": "invalid_grant"}, 401: {"description": "invalid_client"},
                        429: {"description": "too many attempts, or the account is locked"}})
async def token(
    request: Request,
    identities: IdentitiesDep,
    limiter: LimiterDep,
    settings: SettingsDep,
    grant_type: Annotated[str, Form(description="password | client_credentials | refresh_token")],
    username: Annotated[str | None, Form()] = None,
    password: Annotated[str | None, Form()] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    refresh_token: Annotated[str | None, Form()] = None,
    scope: Annotated[str | None, Form(description="Ignored: a token carries the account's own scope")] = None,
) -> Response:
    wait = await limiter.hit("ip:" + client_ip(request, settings), settings.token_requests_per_ip_per_minute, 60)
    if wait > 0:
        return _oauth_error(LoginRefused(429, "slow_down", "rate_limited",
                                         "Too many token requests from your address; slow down.", int(wait) + 1))
    try:
        if grant_type == "password":
            if not username or password is None:
                raise LoginRefused(400, "invalid_request", "invalid_request", "username and password are required.")
            grant: Grant = await identities.password_grant(username, password)
        elif grant_type == "client_credentials":
            basic = _basic_credentials(request)
            if basic is not None:
                client_id, client_secret = basic
            if not client_id or not client_secret:
                raise LoginRefused(401, "invalid_client", "invalid_client",
                                   "client_id and client_secret are required (form fields or HTTP Basic).")
            grant = await identities.client_grant(client_id, client_secret)
        elif grant_type == "refresh_token":
            if not refresh_token:
                raise LoginRefused(400, "invalid_request", "invalid_request", "refresh_token is required.")
            grant = await identities.refresh_grant(refresh_token)
        else:
            raise LoginRefused(400, "unsupported_grant_type", "unsupported_grant_type",
                               "grant_type must be password, client_credentials or refresh_token.")
    except LoginRefused as exc:
        return _oauth_error(exc)
    return JSONResponse(grant.as_dict(), headers=NO_STORE)


@router.get("/auth/me", summary="The signed-in user or client, its role, permissions and scope")
async def me(token: Bearer) -> dict[str, Any]:
    p = token.principal
    return {"id": p.id, "kind": p.kind, "username": p.name, "display_name": token.claims.get("display_name", ""),
            "role": p.role, "permissions": sorted(p.permissions), "scopes": [s.as_dict() for s in p.scopes],
            "session_id": token.sid, "expires_at": int(token.exp)}


@router.post("/auth/logout", status_code=204, summary="End this session: its access and refresh tokens stop working")
async def logout(token: Bearer, identities: IdentitiesDep) -> Response:
    await identities.logout(token)
    return Response(status_code=204)


@router.post("/auth/revoke", summary="Revoke a refresh or access token (RFC 7009); always 200",
             response_class=Response,  # an empty answer: the document must not promise a JSON body
             responses={200: {"description": "Revoked, or unknown (RFC 7009 answers the same): an empty body"}})
async def revoke(identities: IdentitiesDep, token: Annotated[str, Form()],
                 token_type_hint: Annotated[str | None, Form()] = None) -> Response:
    await identities.revoke(token)
    return Response(status_code=200, headers=NO_STORE)


@router.get("/.well-known/openid-configuration", summary="Discovery document for other systems")
async def discovery(request: Request, settings: SettingsDep) -> dict[str, Any]:
    base = str(request.base_url).rstrip("/")
    return {
        "issuer": settings.token_issuer,
        "token_endpoint": f"{base}/auth/token",
        "revocation_endpoint": f"{base}/auth/revoke",
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "grant_types_supported": ["password", "client_credentials", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "id_token_signing_alg_values_supported": ["ES256"],
    }
