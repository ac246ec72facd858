"""`/admin/keys`: the token signing keys (public data only), and rotating them on demand."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gateway.admin.access import NationalAdmin
from gateway.admin.audit import repository as audit
from gateway.dependencies import DatabaseDep, KeyRingDep
from shared.scope import HIERARCHIES

router = APIRouter(prefix="/admin", tags=["admin: platform"])


@router.get("/keys", summary="Token signing keys (public data only)")
async def list_keys(principal: NationalAdmin, keyring: KeyRingDep) -> list[dict[str, Any]]:
    return keyring.describe()


@router.post("/keys/rotate", summary="Start signing with a new key; the old one stays valid until its tokens expire")
async def rotate_keys(principal: NationalAdmin, keyring: KeyRingDep, db: DatabaseDep) -> dict[str, str]:
    kid = await keyring.rotate()
    async with db.session(principal) as session:
        audit.record(session, principal, "keys.rotated", "key", kid, list(HIERARCHIES))
    return {"kid": kid}
