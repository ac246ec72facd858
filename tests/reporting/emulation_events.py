"""Emulation-shaped events (docs/events.md "emulation"), so reporting tests need no emulation code:
seed 003's leadership documents and propaganda counts, a target handed down, models and awards."""

from __future__ import annotations

import uuid
from typing import Any

from shared.events import Event

MOVEMENT = "mv-2017-bg"


def _event(type_: str, subject: str, unit_path: str, payload: dict[str, Any], version: int = 1) -> Event:
    return Event(type=type_, producer="emulation", subject_id=subject, unit_code=unit_path.rsplit(".", 1)[-1],
                 unit_path=unit_path, version=version, payload=payload)


def movement(unit_path: str, movement_id: str = MOVEMENT) -> Event:
    return _event("emulation.movement.launched", movement_id, unit_path, {
        "movement_id": movement_id, "name": "Bắc Giang chung tay vì người nghèo - Không để ai bị bỏ lại phía sau",
        "hierarchy": unit_path.split(".")[0], "level": "province", "issuing_body": "UBND tỉnh Bắc Giang",
        "starts_on": "2023-01-01", "ends_on": "2025-12-31", "description": "", "objectives": [],
        "phases": [{"kind": "launch", "name": "Phát động", "starts_on": "2023-01-01", "ends_on": None,
                    "held_on": "2023-01-15"},
                   {"kind": "midterm_review", "name": "Sơ kết", "starts_on": None, "ends_on": None,
                    "held_on": "2024-06-30"},
                   {"kind": "final_review", "name": "Tổng kết", "starts_on": None, "ends_on": None,
                    "held_on": "2027-12-15"}]})


def document(unit_path: str, number: str, issued_on: str, doc_type_name: str, summary: str) -> Event:
    document_id = str(uuid.uuid4())
    return _event("emulation.document.issued", document_id, unit_path, {
        "document_id": document_id, "movement_id": MOVEMENT, "doc_type": "plan", "doc_type_name": doc_type_name,
        "number": number, "issued_on": issued_on, "issuing_body": "UBND", "summary": summary, "signer": "Chủ tịch",
        "launches_movement": False})


def activity(unit_path: str, kind: str, kind_name: str, measure: str, count: int, held_on: str,
             participants: int | None = None, activity_id: str | None = None, version: int = 1) -> Event:
    activity_id = activity_id or str(uuid.uuid4())
    return _event("emulation.activity.recorded", activity_id, unit_path, {
        "activity_id": activity_id, "movement_id": MOVEMENT, "year": int(held_on[:4]), "quarter": None,
        "held_on": held_on, "kind": kind, "kind_name": kind_name, "group": "propaganda", "measure": measure,
        "count": count, "participants": participants, "title": kind_name}, version)


def target(unit_path: str, indicator: str, value: str, year: int, measure_unit: str) -> Event:
    target_id = str(uuid.uuid4())
    return _event("emulation.target.set", target_id, unit_path, {
        "target_id": target_id, "movement_id": MOVEMENT, "year": year, "indicator": indicator,
        "measure_unit": measure_unit, "value": value, "upper": None, "parent_path": None, "parent_value": None})


def exemplar(unit_path: str, name: str, recognised_on: str) -> Event:
    exemplar_id = str(uuid.uuid4())
    return _event("emulation.exemplar.recognised", exemplar_id, unit_path, {
        "exemplar_id": exemplar_id, "movement_id": MOVEMENT, "kind": "model", "name": name,
        "summary": "Tổ thu gom phế liệu giúp hộ nghèo", "recognised_by": "UBND", "recognised_on": recognised_on,
        "document_number": "15/QĐ-UBND"})


def award(unit_path: str, nominee: str, decision_date: str, award_id: str | None = None) -> Event:
    nomination_id, award_id = str(uuid.uuid4()), award_id or str(uuid.uuid4())
    return _event("emulation.nomination.decided", nomination_id, unit_path, {
        "nomination_id": nomination_id, "movement_id": MOVEMENT, "year": int(decision_date[:4]), "form": "giay_khen",
        "form_name": "Giấy khen", "category": "award", "nominee_kind": "individual", "nominee_name": nominee,
        "state": "decided", "handler_path": unit_path, "comment": None,
        "award": {"award_id": award_id, "decision_number": "120/QĐ-UBND", "decision_date": decision_date,
                  "signer": "Chủ tịch", "awarding_path": unit_path, "awarding_level": "commune",
                  "awarding_authority": "Chủ tịch UBND", "prize_multiplier": "0.3", "base_salary": 2340000,
                  "prize_amount": 702000, "certificate_number": "GK-1"}}, version=3)


def revoked(unit_path: str, award_id: str) -> Event:
    return _event("emulation.award.revoked", award_id, unit_path, {
        "award_id": award_id, "nomination_id": None, "form": "giay_khen", "year": 2024, "reason": "khai man",
        "decision_number": "130/QĐ-UBND", "decision_date": "2024-10-01", "recovered_amount": 702000})


def seed_003_emulation(commune: str) -> list[Event]:
    """Seed 003's leadership documents and propaganda counts (2018 there; 2024 here), in one commune."""
    kept_award = award(commune, "Nguyễn Thị Hoa", "2024-09-10")
    gone = str(uuid.uuid4())
    return [
        movement(commune.rsplit(".", 2)[0]),
        document(commune, "108/KH-UBND", "2024-01-19", "Kế hoạch",
                 "Tổ chức phát động phong trào thi đua “Chung tay vì người nghèo”"),
        document(commune, "2222/QĐ-UBND", "2024-02-26", "Quyết định", "Giao chỉ tiêu giảm nghèo năm 2024"),
        activity(commune, "broadcast", "Tuyên truyền trên Đài truyền thanh", "broadcasts", 57, "2024-03-10"),
        activity(commune, "news", "Tin, bài phản ánh", "news_items", 128, "2024-05-10"),
        activity(commune, "portal", "Tin trên Trang điện tử", "articles", 33, "2024-06-10"),
        activity(commune, "conference", "Hội nghị quán triệt", "sessions", 4, "2024-04-02", participants=200),
        target(commune, "poor_rate_reduction", "1.5", 2024, "percentage_points"),
        exemplar(commune, "Tổ thu gom phế liệu phường Ngô Quyền", "2024-08-01"),
        kept_award,
        award(commune, "Trần Văn Nam", "2024-09-12", award_id=gone),
        revoked(commune, gone),
    ]


def score(unit_path: str, total: str, year: int = 2024, movement_id: str = MOVEMENT, version: int = 2,
          scored_by: str | None = None) -> Event:
    """A unit's score; `scored_by`, the unit whose criteria set scored it (as emulation publishes it), or
    None for an event published before `scored_by` and `criteria_set_id` were carried."""
    if scored_by is None:
        return _event("emulation.score.computed", f"{movement_id}:{year}:{unit_path}", unit_path, {
            "movement_id": movement_id, "year": year, "level": "commune", "total": total, "criteria": []}, version)
    criteria_set = f"set-{movement_id}-{year}-{scored_by}"
    return _event("emulation.score.computed", f"{criteria_set}:{unit_path}", unit_path, {
        "movement_id": movement_id, "criteria_set_id": criteria_set, "scored_by": scored_by, "year": year,
        "level": "commune", "total": total, "criteria": []}, version)
