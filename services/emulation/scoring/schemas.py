"""Requests and answers of criteria sets, manual points and scores."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.emulation.movements.schemas import Hierarchy, UnitCode
from shared.text import NoteText, PlainText

Source = Literal["poor_rate_reduction", "near_poor_rate_reduction", "households_escaping_poverty",
                 "support_delivered", "temporary_houses_removed", "fund_raised", "propaganda_sessions"]


class CriterionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")]
    name: PlainText
    kind: Literal["auto", "manual"]
    source: Source | None = Field(None, description="auto: what is measured (against the target of the same name)")
    weight: Decimal = Field(gt=0, le=100, max_digits=6, decimal_places=2)


class CriteriaSetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit: UnitCode = Field(description="The scoring unit (its emulation board)")
    hierarchy: Hierarchy | None = None
    year: int = Field(ge=2000, le=2100)
    level: Literal["commune", "district", "province"] = Field(description="The level of the units scored")
    criteria: list[CriterionIn] = Field(min_length=1, max_length=30)


class CriteriaSetOut(BaseModel):
    id: UUID
    movement_id: UUID
    unit_path: str
    year: int
    level: str
    criteria: list[Any]
    version: int
    scores_changed: int | None = None


class ManualScoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit: UnitCode = Field(description="The unit scored")
    hierarchy: Hierarchy | None = None
    criterion: Annotated[str, Field(min_length=1, max_length=40)]
    points: Decimal = Field(ge=0, le=100, max_digits=6, decimal_places=2)
    evidence: Annotated[NoteText, Field(min_length=1)] = Field(description="What the points rest on")


class ManualScoreOut(BaseModel):
    unit_path: str
    criterion: str
    points: Decimal
    evidence: str
    given_by: str
    given_at: datetime
    scores_changed: int


class ScoreOut(BaseModel):
    id: UUID
    criteria_set_id: UUID
    movement_id: UUID
    unit_path: str
    parent_path: str | None
    year: int
    level: str
    total: Decimal
    rank: int | None
    rank_in_parent: int | None
    criteria: list[Any] = Field(description="Each criterion: code, kind, source, weight, value, target, points")
    version: int
    computed_at: datetime
