"""Opening a fund, donating into it and reading its balance, as the fund tests do it."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support.conftest import DISTRICT_A_OFFICER, Support, housing_repair


async def open_fund(support: Support, unit: str, officer: Any = DISTRICT_A_OFFICER) -> str:
    response = await support.call("POST", "/support/funds", officer, json={"unit": unit, "hierarchy": "v2008"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def donate(support: Support, fund: str, amount: int, day: str = "2024-10-17", **extra: Any) -> Any:
    return await support.call("POST", f"/support/funds/{fund}/donations", DISTRICT_A_OFFICER, json={
        "amount_vnd": amount, "occurred_on": day, "donor_name": "Ngân hàng Nông nghiệp", "donor_kind": "enterprise",
        "campaign_year": 2024, "receipt_number": f"PT-{uuid.uuid4().hex[:4]}", **extra})


async def balance(support: Support, fund: str) -> int:
    return int((await support.call("GET", f"/support/funds/{fund}", DISTRICT_A_OFFICER)).json()["balance_vnd"])


def commune_repair(household_id: str) -> dict[str, Any]:
    """housing_repair (20 M) whose 12 M "Vì người nghèo" part is the commune fund's: what a commune's fund
    may pay (a fund pays only the part of its own level)."""
    return housing_repair(household_id, funding=[{"source": "vnn_fund_commune", "amount_vnd": 12_000_000},
                                                 {"source": "hlhpn_mai_am", "amount_vnd": 8_000_000}])
