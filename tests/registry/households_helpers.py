"""Geography, principals, bodies and database look-ups shared by the household, review and personal-data tests."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import orjson

from shared.permissions import ROLE_PERMISSIONS
from shared.principal import Principal
from tests.kit import auth_headers, fetch, make_principal, scalar

# Home: a rural commune (Xã Quỳnh Sơn) of Bắc Giang city, before the 2025 reform.
HOME = "v2008.24.213.07702"
HOME_CODE = "07702"
URBAN_HOME = "v2008.24.213.07207"  # Phường Ngô Quyền, same city
URBAN_CODE = "07207"
DISTRICT = "v2008.24.213"
PROVINCE = "v2008.24"
# Foreigners: another commune of the same district, another district, another province.
OTHER_COMMUNE = "v2008.24.213.07714"
OTHER_COMMUNE_CODE = "07714"
OTHER_DISTRICT = "v2008.24.215"
OTHER_PROVINCE = "v2008.01"
OTHER_PROVINCE_COMMUNE_CODE = "00001"

_serial = itertools.count(1)


def officer(role: str, *paths: str, principal_id: str | None = None) -> Principal:
    return make_principal(role, paths, ROLE_PERMISSIONS[role], principal_id=principal_id)


def as_(role: str, *paths: str, principal_id: str | None = None) -> dict[str, str]:
    return auth_headers(officer(role, *paths, principal_id=principal_id))


def commune_officer(path: str = HOME, principal_id: str | None = None) -> dict[str, str]:
    return as_("commune_officer", path, principal_id=principal_id)


def foreigners() -> list[tuple[str, dict[str, str]]]:
    """Officers of another commune, another district and another province, with every power of their role."""
    return [("other commune", as_("commune_officer", OTHER_COMMUNE)),
            ("other district", as_("district_officer", OTHER_DISTRICT)),
            ("other province", as_("province_officer", OTHER_PROVINCE))]


def citizen_id() -> str:
    """A distinct, well-formed 12-digit citizen ID per call."""
    return f"024{next(_serial) + 100_000_000:09d}"


def household_body(code: str | None = None, commune_code: str = HOME_CODE, members: int = 3,
                   **extra: Any) -> dict[str, Any]:
    people: list[dict[str, Any]] = [{"full_name": "Nguyễn Văn Hùng", "citizen_id": citizen_id(),
                                     "birth_date": "1975-04-12", "sex": "male", "ethnicity": "Kinh",
                                     "relation": "head"}]
    for i in range(1, members):
        people.append({"full_name": f"Nguyễn Thị Lan {i}", "citizen_id": citizen_id(), "birth_date": "2001-09-02",
                       "sex": "female", "ethnicity": "Kinh", "relation": "child"})
    return {"household_code": code or f"HH-{next(_serial):05d}", "commune_code": commune_code,
            "village": "Thôn Đông", "members": people, **extra}


async def register(client: httpx.AsyncClient, headers: dict[str, str] | None = None, **body: Any) -> dict[str, Any]:
    response = await client.post("/registry/households", json=household_body(**body),
                                 headers=headers or commune_officer())
    assert response.status_code == 201, response.text
    return response.json()


async def events(url: str, subject: str) -> list[dict[str, Any]]:
    rows = await fetch(url, "SELECT body FROM outbox WHERE subject = $1 ORDER BY seq", subject)
    return [orjson.loads(r["body"]) for r in rows]


async def table_counts(url: str) -> dict[str, int]:
    """Rows per table the household and review endpoints write: 'nothing changed' compares these."""
    tables = ("households", "household_members", "household_assessments", "household_history",
              "personal_data_access_log", "reviews", "review_meetings", "regular_reviews", "certificates", "outbox",
              "idempotency_keys")
    counts = {}
    for table in tables:
        counts[table] = await scalar(url, f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed names
    counts["versions"] = await scalar(url, "SELECT coalesce(sum(version), 0) FROM households")
    counts["review_versions"] = await scalar(url, "SELECT coalesce(sum(version), 0) FROM reviews")
    return counts
