"""Principals and database look-ups shared by the unit and classification tests."""

from __future__ import annotations

from typing import Any

import orjson

from shared.permissions import ROLE_PERMISSIONS
from shared.principal import Principal
from tests.kit import auth_headers, fetch, make_principal

PROVINCE = "v2008.24"  # Bắc Giang before the reform
DISTRICT = "v2008.24.213"  # Bắc Giang city
COMMUNE = "v2008.24.213.07207"  # Ngô Quyền ward
OTHER_COMMUNE = "v2008.24.213.07210"  # Hoàng Văn Thụ ward, same city
OTHER_DISTRICT = "v2008.24.215"  # Yên Thế district, same province
OTHER_PROVINCE = "v2008.01"  # Hà Nội


def officer(role: str, *paths: str) -> Principal:
    return make_principal(role, paths, ROLE_PERMISSIONS[role])


def headers(role: str, *paths: str) -> dict[str, str]:
    return auth_headers(officer(role, *paths))


def all_powers(*paths: str) -> dict[str, str]:
    """Every permission, so only the scope can refuse."""
    return auth_headers(make_principal("admin", paths, ("*",)))


async def unit_events(url: str) -> list[dict[str, Any]]:
    rows = await fetch(url, "SELECT body FROM outbox WHERE subject = 'registry.unit.changed' ORDER BY seq")
    return [orjson.loads(r["body"]) for r in rows]
