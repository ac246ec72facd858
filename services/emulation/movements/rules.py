"""Movements, their documents and counted activities: catalogues and checks of a whole object. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from shared.errors import Problem

# Document types that launch or steer a movement (chỉ thị, kế hoạch, quyết định, công văn, kết luận, hướng dẫn).
DOC_TYPES = {"directive": "Chỉ thị", "plan": "Kế hoạch", "decision": "Quyết định", "official_letter": "Công văn",
             "conclusion": "Kết luận", "guidance": "Hướng dẫn"}
# "05/CT-UBND", "108/KH-UBND", "2222/QĐ-UBND", "15/2024/QĐ-UBND": number, optional year, symbol.
DOC_NUMBER = r"^\d{1,6}(/\d{4})?/[0-9A-Za-zĐđ]+(-[0-9A-Za-zĐđ]+)*$"
PHASE_KINDS = {"launch": "Phát động", "midterm_review": "Sơ kết", "final_review": "Tổng kết", "other": "Khác"}


@dataclass(frozen=True)
class ActivityKind:
    name: str
    group: str  # propaganda | conference | training | inspection
    measure: str  # what `count` counts
    participants: bool  # sessions record how many took part


# Seed 003, sections I-II: broadcasts, news items, portal articles, TV reports, conferences, sessions.
ACTIVITY_KINDS = {
    "broadcast": ActivityKind("Tuyên truyền trên Đài truyền thanh", "propaganda", "broadcasts", False),
    "news": ActivityKind("Tin, bài phản ánh", "propaganda", "news_items", False),
    "portal": ActivityKind("Tin trên Trang thông tin điện tử", "propaganda", "articles", False),
    "tv_report": ActivityKind("Phóng sự truyền hình", "propaganda", "reports", False),
    "leaflet": ActivityKind("Tờ rơi, pa nô, áp phích", "propaganda", "copies", False),
    "propaganda_session": ActivityKind("Buổi tuyên truyền", "propaganda", "sessions", True),
    "conference": ActivityKind("Hội nghị quán triệt, triển khai", "conference", "sessions", True),
    "training": ActivityKind("Lớp tập huấn", "training", "classes", True),
    "inspection": ActivityKind("Kiểm tra, giám sát", "inspection", "visits", False),
}


def normalise_number(number: str) -> str:
    """"05 /CT - UBND" (as typed in seed 001) → "05/CT-UBND"."""
    return re.sub(r"\s+", "", number)


def check_number(number: str) -> str:
    cleaned = normalise_number(number)
    if not re.match(DOC_NUMBER, cleaned):
        raise Problem(422, "validation_error", "Invalid request",
                      "number must be a number and symbol such as 108/KH-UBND",
                      errors=[{"field": "number", "reason": "not a number and symbol such as 108/KH-UBND"}])
    return cleaned


def check_period(starts_on: date, ends_on: date, phases: list[dict[str, Any]]) -> None:
    """The period is ordered; each phase lies inside it; the final review follows the mid-term one."""
    errors = []
    if ends_on < starts_on:
        errors.append({"field": "ends_on", "reason": "before starts_on"})
    held = {}
    for i, phase in enumerate(phases):
        for key in ("starts_on", "ends_on", "held_on"):
            day = phase.get(key)
            if day is not None and not starts_on <= day <= date(ends_on.year + 1, 12, 31):
                errors.append({"field": f"phases[{i}].{key}", "reason": "outside the movement's period (and the "
                               "year after it, when the final review is held)"})
        if phase.get("starts_on") and phase.get("ends_on") and phase["ends_on"] < phase["starts_on"]:
            errors.append({"field": f"phases[{i}].ends_on", "reason": "before starts_on"})
        if phase.get("held_on"):
            held[phase["kind"]] = phase["held_on"]
    if "midterm_review" in held and "final_review" in held and held["final_review"] <= held["midterm_review"]:
        errors.append({"field": "phases", "reason": "the final review must be held after the mid-term review"})
    if errors:
        raise Problem(422, "validation_error", "Invalid request", "The movement's dates do not fit.", errors=errors)


def check_activity(kind: str, held_on: date, participants: int | None, starts_on: date, ends_on: date) -> None:
    errors = []
    if not starts_on <= held_on <= ends_on:
        errors.append({"field": "held_on", "reason": f"outside the movement's period {starts_on}–{ends_on}"})
    if participants is not None and not ACTIVITY_KINDS[kind].participants:
        errors.append({"field": "participants", "reason": f"a {kind} has no participants"})
    if errors:
        raise Problem(422, "validation_error", "Invalid request", "The activity does not fit.", errors=errors)
