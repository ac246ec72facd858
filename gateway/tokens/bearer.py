"""Who is calling the gateway's own routes (/auth, /admin): the verified bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gateway.dependencies import TokensDep
from gateway.tokens.service import TokenRejected, VerifiedToken
from shared.errors import unauthorized


async def verified_token(request: Request, tokens: TokensDep) -> VerifiedToken:
    header = request.headers.get("authorization", "")
    if header[:7].lower() != "bearer ":
        raise unauthorized("Send an access token: Authorization: Bearer <token>.")
    try:
        return await tokens.verify(header[7:].strip())
    except TokenRejected as exc:
        raise unauthorized(str(exc)) from exc


Bearer = Annotated[VerifiedToken, Depends(verified_token)]
