"""Request and response models of the periodic reports. Text people type goes through the one check
(shared.text): no control characters, no invisible direction marks; one-line fields refuse a leading
formula character too."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.text import MULTILINE_TEXT, TEXT

Line = Annotated[str, Field(max_length=300), TEXT]
Block = Annotated[str, Field(max_length=600), MULTILINE_TEXT]  # the issuing body: two lines
Narrative = Annotated[str, Field(max_length=30_000), MULTILINE_TEXT]
Reason = Annotated[str, Field(min_length=1, max_length=2_000), MULTILINE_TEXT]


class ReportOpen(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit: Annotated[str, Field(min_length=1, max_length=160, description="Unit code (with `hierarchy`) or path")]
    hierarchy: Annotated[str | None, Field(description="v2008 or v2025")] = None
    type: Annotated[str, Field(description="annual, monthly, midterm or final (GET /reporting/report-types)")]
    period: Annotated[str, Field(min_length=1, max_length=64,
                                 description="2024 (annual), 2024-03 (monthly), a movement id (midterm, final)")]


class HeaderIn(BaseModel):
    """The document's header and closing (Decree 30/2020/NĐ-CP); fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    number: Annotated[str, Field(max_length=60), TEXT] | None = None
    place: Line | None = None
    signed_on: date | None = None
    issuing_body: Block | None = None
    parent_body: Block | None = None
    title: Line | None = None
    signer_authority: Line | None = None
    signer_title: Line | None = None
    signer_name: Line | None = None
    recipients: Annotated[list[Line], Field(max_length=40)] | None = None

    @field_validator("signed_on")
    @classmethod
    def _plausible(cls, value: date | None) -> date | None:
        if value is not None and not date(2000, 1, 1) <= value <= date(2100, 12, 31):
            raise ValueError("must be a date between 2000 and 2100")
        return value


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: Annotated[int | str, Field(description="Whole number (VND for amounts), or a decimal string for a "
                                                  "quantity")]
    reason: Reason


class ReportEdit(BaseModel):
    """Changes to a draft: `document` (number, place, date, issuing body, title, signer, recipients),
    narratives per section, overridden figures; `null` removes a narrative or an override. Each edit makes
    a new version."""

    model_config = ConfigDict(extra="forbid")

    document: HeaderIn | None = None
    narratives: dict[Annotated[str, Field(max_length=16)], Narrative | None] | None = None
    overrides: dict[Annotated[str, Field(max_length=300)], OverrideIn | None] | None = None

    def header_changes(self) -> dict[str, Any] | None:
        if self.document is None:
            return None
        changes = self.document.model_dump(exclude_unset=True)
        if "signed_on" in changes and changes["signed_on"] is not None:
            changes["signed_on"] = changes["signed_on"].isoformat()
        return changes

    def override_changes(self) -> dict[str, dict[str, Any] | None] | None:
        if self.overrides is None:
            return None
        return {k: (v.model_dump() if v is not None else None) for k, v in self.overrides.items()}


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: Annotated[str, Field(max_length=4_000), MULTILINE_TEXT] | None = None


class ReportSummary(BaseModel):
    id: str
    unit_path: str
    unit_name: str
    level: str
    type: str
    type_name: str
    period: str
    period_start: str
    period_end: str
    due_on: str
    state: str
    version: int
    row_version: int
    first_submitted_at: str | None
    submitted_at: str | None
    decided_at: str | None
    on_time: bool


class ReportView(ReportSummary):
    """A report at one version: header, narratives, figures (data, consolidated, override, value),
    sections with their tables, the consolidation of the children's reports, versions and actions."""

    model_config = ConfigDict(extra="allow")

    shown_version: int
    frozen: bool
    document: dict[str, Any]
    narratives: dict[str, str]
    figures: dict[str, dict[str, Any]]
    overridden: list[str]
    sections: list[dict[str, Any]]
    consolidation: dict[str, Any] | None
    missing_for_submission: list[dict[str, str]]
    versions: list[dict[str, Any]]
    actions: list[dict[str, Any]]
