"""A reporting service loaded with registry, support and emulation events for the report tests, and
the principals of each level of province 24 (v2008)."""

from __future__ import annotations

from typing import Any

import httpx

from shared.principal import Principal
from tests.kit import auth_headers, make_principal
from tests.reporting.conftest import Reporting
from tests.reporting.emulation_events import seed_003_emulation
from tests.reporting.registry_events import (
    COMMUNES_A,
    COMMUNES_B,
    DISTRICT_A,
    DISTRICT_B,
    PROVINCE,
    Dataset,
    all_unit_events,
    province_dataset,
)
from tests.reporting.support_events import SupportData, catalogue_events, seed_003_deliveries

OFFICER_PERMISSIONS = ["reporting.indicators.read", "reporting.reports.read", "reporting.reports.write",
                       "reporting.reports.approve"]


def officer(path: str, role: str | None = None) -> Principal:
    level = {2: "province", 3: "district", 4: "commune"}[len(path.split("."))]
    return make_principal(role or f"{level}_officer", [path], permissions=OFFICER_PERMISSIONS,
                          principal_id=f"officer-{path}")


COMMUNE = officer(COMMUNES_A[0])
SISTER_COMMUNE = officer(COMMUNES_A[1])
THIRD_COMMUNE = officer(COMMUNES_A[2])
OTHER_DISTRICT_COMMUNE = officer(COMMUNES_B[0])
DISTRICT = officer(DISTRICT_A)
OTHER_DISTRICT = officer(DISTRICT_B)
PROVINCE_OFFICER = officer(PROVINCE)
OTHER_PROVINCE = officer("v2008.27")
VIEWER = make_principal("viewer", [PROVINCE], permissions=["reporting.reports.read"])

NARRATIVES = {
    "III.1": "- Công tác giảm nghèo luôn có sự quan tâm lãnh đạo, chỉ đạo của cấp ủy, chính quyền.",
    "III.2": "- Việc triển khai phong trào ở một số tổ dân phố còn chậm.\n- Nguyên nhân: nguồn lực còn hạn chế.",
    "IV.1": "- Tiếp tục triển khai có hiệu quả Kế hoạch số 108/KH-UBND.",
    "IV.2": "- Đẩy mạnh công tác tuyên truyền; vận động Quỹ \"Vì người nghèo\".",
}
HEADER = {"number": "12/BC-UBND", "signer_name": "Nguyễn Tiên Dũng", "signer_title": "PHÓ CHỦ TỊCH",
          "signer_authority": "KT. CHỦ TỊCH", "place": "Bắc Giang", "signed_on": "2024-11-15"}


async def load_everything(reporting: Reporting, households: int = 600) -> tuple[Dataset, SupportData]:
    data = province_dataset(households=households, seed=31)
    support = seed_003_deliveries()
    await reporting.settled(await reporting.publish(all_unit_events() + data.events))
    await reporting.settled(await reporting.publish(catalogue_events() + support.events), consumer="reporting-support")
    await reporting.settled(await reporting.publish(seed_003_emulation(COMMUNES_A[0])),
                            consumer="reporting-emulation")
    return data, support


async def call(reporting: Reporting, method: str, path: str, principal: Principal, etag: str | None = None,
               **kwargs: Any) -> httpx.Response:
    headers = {**auth_headers(principal), **kwargs.pop("headers", {})}
    if etag is not None:
        headers["If-Match"] = etag
    return await reporting.client.request(method, path, headers=headers, **kwargs)


async def open_report(reporting: Reporting, principal: Principal, unit: str, type_: str = "annual",
                      period: str = "2024") -> httpx.Response:
    return await call(reporting, "POST", "/reporting/reports", principal,
                      json={"unit": unit, "type": type_, "period": period})


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


def value(report: dict[str, Any], key: str) -> Any:
    """A figure's value as the report shows it."""
    return report["figures"][key]["value"]


async def write_and_submit(reporting: Reporting, principal: Principal, report_id: str, etag: str) -> dict[str, Any]:
    edited = await call(reporting, "PATCH", f"/reporting/reports/{report_id}", principal, etag,
                        json={"narratives": NARRATIVES, "document": HEADER})
    assert edited.status_code == 200, edited.text
    return await ok(await call(reporting, "POST", f"/reporting/reports/{report_id}/submit", principal,
                               edited.headers["etag"]))
