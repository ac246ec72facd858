"""The periodic reports as rules: their types and periods, due dates, who reports to whom, the
workflow's states and transitions as data, and what a report must hold to be submitted. Pure: no I/O,
no clock (today is passed in), no environment.

Types (seed 001, seed 003, seed 004, DOMAIN.md "Reports"): the annual report of the movement (due
before 20 November: on time when submitted by 20/11), the monthly review report (due on the 5th of the
next month; expected for January–August, the months whose reports fall due on the 5th of February to
September), and the mid-term (sơ kết) and final (tổng kết) review of a movement (due on the day of
the phase in the movement's plan). A unit reports to its parent: a commune to its district (before
the July 2025 reform) or its province (after it), a district to its province.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from shared.errors import Problem

# ---- sections (seed 003) ----------------------------------------------------------------------
CHAPTERS = {
    "I": "CÔNG TÁC LÃNH ĐẠO, TRIỂN KHAI THỰC HIỆN",
    "II": "KẾT QUẢ THỰC HIỆN",
    "III": "ĐÁNH GIÁ CHUNG",
    "IV": "NHIỆM VỤ, GIẢI PHÁP TRONG THỜI GIAN TỚI",
}
SUBSECTIONS = {
    "I.1": "Văn bản lãnh đạo, chỉ đạo đã ban hành",
    "I.2": "Tổ chức triển khai thực hiện",
    "II.1": "Công tác tuyên truyền",
    "II.2": "Kết quả thực hiện các chính sách giảm nghèo",
    "II.3": "Kết quả giảm nghèo",
    "II.4": "Hoạt động của Ủy ban MTTQ và các tổ chức chính trị - xã hội",
    "II.5": "Điển hình tiên tiến, mô hình hay và khen thưởng",
    "III.1": "Ưu điểm",
    "III.2": "Tồn tại, hạn chế và nguyên nhân",
    "IV.1": "Nhiệm vụ",
    "IV.2": "Giải pháp",
}

# ---- types and periods ------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportType:
    code: str
    name: str  # as the document's summary line opens
    period_kind: str  # year | month | phase
    sections: tuple[str, ...]  # the subsections shown (layout.SUBSECTIONS)
    required: tuple[str, ...]  # narratives that must be written before submitting
    phase: str | None = None  # the movement phase a review report belongs to


_ALL_SECTIONS = ("I.1", "I.2", "II.1", "II.2", "II.3", "II.4", "II.5", "III.1", "III.2", "IV.1", "IV.2")
_REQUIRED = ("III.1", "III.2", "IV.1", "IV.2")

REPORT_TYPES: dict[str, ReportType] = {t.code: t for t in (
    ReportType("annual", "Kết quả thực hiện phong trào thi đua “Vì người nghèo - Không để ai bị bỏ lại phía sau”",
               "year", _ALL_SECTIONS, _REQUIRED),
    ReportType("monthly",
               "Kết quả rà soát thường xuyên hộ nghèo, hộ cận nghèo và thực hiện chính sách giảm nghèo",
               "month", ("II.2", "II.3", "III.1", "III.2", "IV.1"), ("III.2", "IV.1")),
    ReportType("midterm", "Sơ kết giữa kỳ phong trào thi đua", "phase", _ALL_SECTIONS, _REQUIRED,
               phase="midterm_review"),
    ReportType("final", "Tổng kết phong trào thi đua", "phase", _ALL_SECTIONS, _REQUIRED,
               phase="final_review"),
)}
ANNUAL_DUE = (11, 20)  # seed 004: "báo cáo định kỳ hàng năm trước ngày 20/11"
MONTHLY_DUE_DAY = 5  # DOMAIN.md: monthly on the 5th, February–September
MONTHLY_EXPECTED_MONTHS = range(1, 9)


@dataclass(frozen=True)
class Period:
    key: str  # "2024", "2024-03", or a movement id
    start: date
    end: date
    due_on: date
    label: str  # as the document says it: "năm 2024", "tháng 3 năm 2024", the movement's name
    expected: bool = True  # whether units are expected to report for it (monthly: January–August)
    movement_id: str | None = None


def _bad_period(detail: str) -> Problem:
    return Problem(422, "invalid_period", "Invalid period", detail, errors=[{"field": "period", "reason": detail}])


def report_type(code: str) -> ReportType:
    found = REPORT_TYPES.get(code)
    if found is None:
        raise Problem(422, "validation_error", "Invalid request", f"Unknown report type {code!r}.",
                      errors=[{"field": "type", "reason": f"one of {', '.join(REPORT_TYPES)}"}])
    return found


def period_of(kind: ReportType, key: str, movement: dict[str, Any] | None = None) -> Period:
    """The period a report type's key names; `movement` (from the read model) for review reports."""
    if kind.period_kind == "year":
        if not (len(key) == 4 and key.isdigit() and 2000 <= int(key) <= 2100):
            raise _bad_period(f"An annual report's period is a year such as 2024, not {key!r}.")
        year = int(key)
        return Period(key, date(year, 1, 1), date(year, 12, 31), date(year, *ANNUAL_DUE), f"năm {year}")
    if kind.period_kind == "month":
        try:
            year, month = (int(part) for part in key.split("-"))
            start = date(year, month, 1)
        except ValueError:
            raise _bad_period(f"A monthly report's period is a month such as 2024-03, not {key!r}.") from None
        if not 2000 <= year <= 2100:
            raise _bad_period(f"A monthly report's period is a month such as 2024-03, not {key!r}.")
        end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        due = end + timedelta(days=MONTHLY_DUE_DAY)
        return Period(key, start, end, due, f"tháng {month} năm {year}", expected=month in MONTHLY_EXPECTED_MONTHS)
    if movement is None:
        raise Problem(422, "unknown_movement", "Unknown movement",
                      f"No movement {key!r} is known to reporting (emulation.movement.launched).",
                      errors=[{"field": "period", "reason": "a movement id"}])
    phase = next((p for p in movement.get("phases") or [] if p.get("kind") == kind.phase), None)
    held = (phase or {}).get("held_on") or (phase or {}).get("ends_on")
    if not held or not movement.get("starts_on"):
        raise Problem(422, "no_review_phase", "The movement has no such review",
                      f"Movement {movement.get('name')!r} plans no {kind.phase} with a date.",
                      errors=[{"field": "period", "reason": f"no {kind.phase} phase"}])
    start, due = date.fromisoformat(str(movement["starts_on"])), date.fromisoformat(str(held)[:10])
    return Period(key, start, due, due, f"“{movement.get('name') or key}”", movement_id=key)


def refuse_future(period: Period, today: date) -> None:
    """A report cannot be opened for a period that has not started."""
    if period.start > today:
        raise Problem(422, "period_in_future", "The period has not started",
                      f"The period {period.key} starts on {period.start.isoformat()}, after today "
                      f"({today.isoformat()}): its report cannot be opened yet.",
                      errors=[{"field": "period", "reason": "starts in the future"}])


# ---- who reports to whom ----------------------------------------------------------------------
REPORTING_LEVELS = ("commune", "district", "province")


def parent_of(path: str) -> str:
    """The unit a unit reports to: its parent in the path (for a province, its hierarchy: the ministry)."""
    return path.rsplit(".", 1)[0]


def valid_for(unit: dict[str, Any], due_on: date) -> bool:
    """Whether a unit existed on the period's due date (units of a hierarchy are valid from/to dates)."""
    starts, ends = unit.get("valid_from"), unit.get("valid_to")
    return (starts is None or starts <= due_on) and (ends is None or ends >= due_on)


def on_time(first_submitted_on: date | None, due_on: date) -> bool:
    return first_submitted_on is not None and first_submitted_on <= due_on


# ---- the workflow -----------------------------------------------------------------------------
DRAFT, SUBMITTED, RETURNED, ACCEPTED = "draft", "submitted", "returned", "accepted"
STATES = (DRAFT, SUBMITTED, RETURNED, ACCEPTED)
# action → (states it may start from, state it leads to). Editing a returned report opens a new draft
# version; the level above may return an accepted report too (DHIS2's "unapprove").
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "edit": (frozenset({DRAFT, RETURNED}), DRAFT),
    "submit": (frozenset({DRAFT}), SUBMITTED),
    "accept": (frozenset({SUBMITTED}), ACCEPTED),
    "return": (frozenset({SUBMITTED, ACCEPTED}), RETURNED),
}
# Who may take each action: the report's own unit, or the unit it reports to.
ACTORS = {"edit": "own", "submit": "own", "accept": "above", "return": "above"}


def next_state(action: str, state: str) -> str:
    allowed, to = TRANSITIONS[action]
    if state not in allowed:
        codes = {"edit": "version_locked", "submit": "not_a_draft", "accept": "not_submitted",
                 "return": "not_submitted"}
        detail = {"edit": f"The report is {state}: its version is locked until the level above returns it.",
                  "submit": f"The report is {state}, not a draft.",
                  "accept": f"The report is {state}: only a submitted report can be accepted.",
                  "return": f"The report is {state}: only a submitted or accepted report can be returned."}
        raise Problem(409, codes[action], "Conflict", detail[action], state=state)
    return to


# ---- what a report holds ----------------------------------------------------------------------
@dataclass
class Content:
    """What officers write: the document's header fields, narratives per section, overridden figures."""

    header: dict[str, Any] = field(default_factory=dict)
    narratives: dict[str, str] = field(default_factory=dict)
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"header": self.header, "narratives": self.narratives, "overrides": self.overrides}

    @classmethod
    def of(cls, data: dict[str, Any] | None) -> Content:
        data = data or {}
        return cls(dict(data.get("header") or {}), dict(data.get("narratives") or {}),
                   dict(data.get("overrides") or {}))


UNIT_TYPES = ("Thành phố ", "Thị xã ", "Thị trấn ", "Đặc khu ", "Xã ", "Phường ", "Huyện ", "Quận ", "Tỉnh ")


def place_of(unit_name: str) -> str:
    """The place a document is dated at: the unit's name without its type ("Phường Ngô Quyền" → "Ngô Quyền")."""
    for prefix in UNIT_TYPES:
        if unit_name.startswith(prefix):
            return unit_name[len(prefix):]
    return unit_name


def default_document(unit_name: str, type_name: str, period_label: str, parent_name: str | None) -> dict[str, Any]:
    """The document fields a new draft starts with (Decree 30/2020/NĐ-CP); the officers edit any of them."""
    return {"issuing_body": f"ỦY BAN NHÂN DÂN\n{unit_name.upper()}", "parent_body": "", "number": "",
            "place": place_of(unit_name), "signed_on": None, "title": f"{type_name} {period_label}".strip(),
            "signer_authority": "TM. ỦY BAN NHÂN DÂN", "signer_title": "CHỦ TỊCH", "signer_name": "",
            "recipients": [f"UBND {parent_name} (để b/c)" if parent_name else "Cấp trên (để b/c)", "Lưu: VT."]}



REQUIRED_HEADER = {"number": "Số văn bản", "signer_name": "Người ký", "signer_title": "Chức vụ người ký"}


def merge(content: Content, header: dict[str, Any] | None, narratives: dict[str, str | None] | None,
          overrides: dict[str, dict[str, Any] | None] | None, sections: tuple[str, ...],
          figure_keys: set[str]) -> Content:
    """The content with the changes applied (None removes a narrative or an override); 422 naming a
    narrative of a section the type does not have, or an override of a figure the report does not show."""
    errors = []
    for key in narratives or {}:
        if key not in (*sections, "intro", "closing"):
            errors.append({"field": f"narratives.{key}", "reason": "no such section in this report type"})
    for key in overrides or {}:
        if key not in figure_keys:
            errors.append({"field": f"overrides.{key}", "reason": "no such figure in this report"})
    if errors:
        raise Problem(422, "validation_error", "Invalid request", "; ".join(f"{e['field']}: {e['reason']}"
                                                                            for e in errors), errors=errors)
    out = Content(dict(content.header), dict(content.narratives), dict(content.overrides))
    out.header.update({k: v for k, v in (header or {}).items()})
    for key, text in (narratives or {}).items():
        if text is None or not text.strip():
            out.narratives.pop(key, None)
        else:
            out.narratives[key] = text
    for key, override in (overrides or {}).items():
        if override is None:
            out.overrides.pop(key, None)
        else:
            out.overrides[key] = override
    return out


def missing_for_submission(kind: ReportType, content: Content) -> list[dict[str, str]]:
    """What a report lacks to be submitted: required narratives and header fields, as problem errors."""
    missing = [{"field": f"narratives.{key}", "reason": f"section {key} “{SUBSECTIONS[key]}” is empty"}
               for key in kind.required if not (content.narratives.get(key) or "").strip()]
    missing += [{"field": f"document.{key}", "reason": f"{label} is empty"}
                for key, label in REQUIRED_HEADER.items() if not str(content.header.get(key) or "").strip()]
    return missing
