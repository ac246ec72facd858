"""`/.well-known/jwks.json`: the public keys that verify the gateway's access tokens."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from gateway.dependencies import KeyRingDep

router = APIRouter(tags=["auth"])


@router.get("/.well-known/jwks.json", summary="Public keys that verify the gateway's access tokens")
async def jwks(keyring: KeyRingDep) -> JSONResponse:
    return JSONResponse(keyring.jwks(), headers={"Cache-Control": "max-age=300"})
