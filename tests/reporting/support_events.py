"""Support-shaped events (docs/events.md "support"), so reporting tests need no support code.

`delivery` builds one delivery's state; `seed_003_deliveries` records in the district's communes
the policy lines of seed 003 (Bắc Giang city, 2018), split over two communes so that roll-ups show.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.events import Event
from tests.reporting.registry_events import COMMUNES_A, DISTRICT_A

CATALOGUE = {
    ("programme", "nhcsxh_credit"): "Tín dụng ưu đãi Ngân hàng Chính sách xã hội",
    ("programme", "bhyt_poor"): "Thẻ bảo hiểm y tế hộ nghèo",
    ("programme", "education_costs"): "Miễn giảm học phí, hỗ trợ chi phí học tập",
    ("programme", "electricity"): "Hỗ trợ tiền điện hộ nghèo",
    ("programme", "housing_repair"): "Hỗ trợ sửa chữa nhà ở",
    ("programme", "monthly_rice"): "Hỗ trợ gạo hàng tháng",
    ("funding_source", "state_central"): "Ngân sách trung ương",
    ("funding_source", "vnn_fund_district"): "Quỹ Vì người nghèo thành phố",
    ("funding_source", "hlhpn_mai_am"): "Quỹ \"Mái ấm tình thương\" Hội LHPN",
    ("funding_source", "nhcsxh"): "Ngân hàng Chính sách xã hội",
    ("funding_source", "enterprise"): "Doanh nghiệp",
    ("body", "phong_ldtbxh"): "Phòng Lao động - Thương binh và Xã hội",
    ("body", "hlhpn"): "Hội Liên hiệp Phụ nữ",
    ("body", "hctd"): "Hội Chữ thập đỏ",
    ("body", "nhcsxh"): "Ngân hàng Chính sách xã hội",
    ("measure", "card"): "thẻ",
    ("measure", "kg"): "kg",
    ("measure", "house"): "nhà",
}


def catalogue_events() -> list[Event]:
    return [Event(type="support.catalogue.changed", producer="support", subject_id=f"{cat}:{code}", version=1,
                  payload={"catalogue": cat, "code": code, "name": name, "active": True})
            for (cat, code), name in CATALOGUE.items()]


def delivery(unit_path: str, programme: str, amount_vnd: int, *, body: str = "phong_ldtbxh",
             funding: Sequence[tuple[str, int]] = (), households: int = 1, persons: int | None = None,
             turns: int | None = None, quantities: Sequence[tuple[str, str]] = (), delivered_on: str = "2024-03-15",
             kind: str = "aggregate", status: str = "recorded", delivery_id: str | None = None,
             version: int = 1) -> dict[str, Any]:
    hierarchy, *codes = unit_path.split(".")
    return {
        "delivery_id": delivery_id or str(uuid.uuid4()), "version": version, "kind": kind, "status": status,
        "unit_code": codes[-1], "unit_path": unit_path, "unit_level": "commune" if len(codes) == 3 else "district",
        "hierarchy": hierarchy, "programme": programme, "programme_category": "other",
        "delivered_on": delivered_on, "period_from": None, "year": int(delivered_on[:4]),
        "households": households, "persons": persons, "turns": turns,
        "quantities": [{"measure": m, "quantity": q} for m, q in quantities], "amount_vnd": amount_vnd,
        "funding": [{"source": s, "source_kind": "other", "source_level": None, "amount_vnd": a} for s, a in funding],
        "body": body, "body_kind": "government", "body_detail": None, "household_id": None, "household_status": None,
        "member_ids": [], "eligibility_exception": False, "eligibility_rule": None, "sponsorship_id": None,
        "import_job_id": None, "recorded_at": f"{delivered_on}T08:00:00+00:00", "void_reason": None,
    }


def delivery_event(state: dict[str, Any], type_: str = "support.delivery.recorded") -> Event:
    return Event(type=type_, producer="support", subject_id=state["delivery_id"], unit_code=state["unit_code"],
                 unit_path=state["unit_path"], version=state["version"], payload=state)


def batch_event(states: Sequence[dict[str, Any]], job: str = "job-1") -> Event:
    return Event(type="support.delivery.recorded_batch", producer="support", subject_id=job,
                 unit_path=states[0]["unit_path"], unit_code=states[0]["unit_code"], version=1,
                 payload={"job_id": job, "items": list(states)})


@dataclass
class SupportData:
    events: list[Event] = field(default_factory=list)
    states: dict[str, dict[str, Any]] = field(default_factory=dict)

    def record(self, state: dict[str, Any], type_: str = "support.delivery.recorded") -> dict[str, Any]:
        self.events.append(delivery_event(state, type_))
        held = self.states.get(state["delivery_id"])
        if held is None or held["version"] < state["version"]:
            self.states[state["delivery_id"]] = state
        return state

    def counted(self, under: str, year: int) -> list[dict[str, Any]]:
        return [s for s in self.states.values() if s["status"] == "recorded" and s["year"] == year
                and (s["unit_path"] == under or s["unit_path"].startswith(under + "."))]


def seed_003_deliveries() -> SupportData:
    """Seed 003's policy lines (2018 there; 2024 here), split over two communes of district A."""
    first, second = COMMUNES_A[0], COMMUNES_A[1]
    data = SupportData()
    data.record(delivery(first, "nhcsxh_credit", 4_000_000_000, body="nhcsxh", households=110,
                         funding=[("nhcsxh", 4_000_000_000)]))
    data.record(delivery(second, "nhcsxh_credit", 2_896_000_000, body="nhcsxh", households=85,
                         funding=[("nhcsxh", 2_896_000_000)]))
    data.record(delivery(first, "bhyt_poor", 0, households=800, quantities=[("card", "800")]))
    data.record(delivery(second, "bhyt_poor", 0, households=605, quantities=[("card", "605")]))
    data.record(delivery(first, "education_costs", 504_180_000, households=900, turns=1326,
                         funding=[("state_central", 504_180_000)]))
    data.record(delivery(second, "electricity", 349_860_000, households=794, turns=794,
                         funding=[("state_central", 349_860_000)]))
    data.record(delivery(first, "housing_repair", 189_000_000, households=10, quantities=[("house", "10")],
                         funding=[("vnn_fund_district", 189_000_000)]))
    data.record(delivery(second, "housing_repair", 124_800_000, body="hlhpn", households=7,
                         quantities=[("house", "7")], funding=[("hlhpn_mai_am", 124_800_000)]))
    data.record(delivery(DISTRICT_A, "monthly_rice", 81_150_000, body="hctd", households=45, persons=108,
                         quantities=[("kg", "5410")], funding=[("enterprise", 81_150_000)]))
    return data


def fund_event(kind: str, unit_path: str, fund_id: str, amount_vnd: int, occurred_on: str, entry_id: str,
               version: int, **extra: Any) -> Event:
    hierarchy, *codes = unit_path.split(".")
    payload = {"fund_id": fund_id, "entry_id": entry_id, "unit_code": codes[-1], "unit_path": unit_path,
               "unit_level": "commune" if len(codes) == 3 else "district", "hierarchy": hierarchy,
               "amount_vnd": amount_vnd, "occurred_on": occurred_on, "year": int(occurred_on[:4]),
               "balance_after": 0, **extra}
    return Event(type=f"support.fund.{kind}", producer="support", subject_id=entry_id, unit_code=codes[-1],
                 unit_path=unit_path, version=version, payload=payload)


def fund_events() -> list[Event]:
    """The district's fund receives 100 M, transfers 20 M to commune A0's fund, which spends 30 M; A0's own
    donors gave 15 M the year before."""
    district, commune = DISTRICT_A, COMMUNES_A[0]
    return [
        fund_event("donation_received", commune, "fund-a0", 15_000_000, "2023-12-20", "e0", 1,
                   donor_name="Công ty May Bắc Giang", donor_kind="enterprise", receipt_number="PT-01",
                   campaign_year=2023),
        fund_event("donation_received", district, "fund-213", 100_000_000, "2024-10-17", "e1", 1,
                   donor_name="Ngân hàng Nông nghiệp", donor_kind="enterprise", receipt_number="PT-11",
                   campaign_year=2024),
        fund_event("transferred", district, "fund-213", 20_000_000, "2024-10-20", "e2", 2, to_fund_id="fund-a0",
                   to_entry_id="e3", to_unit_code=commune.rsplit(".", 1)[-1], to_unit_path=commune,
                   to_unit_level="commune", note="Hỗ trợ xây nhà", to_balance_after=35_000_000),
        fund_event("spent", commune, "fund-a0", 30_000_000, "2024-11-02", "e4", 3, purpose="Sửa nhà hộ nghèo",
                   delivery_id=None, programme="housing_repair"),
    ]
