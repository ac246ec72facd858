"""The catalogue's entries as the API reads and answers them; each list's fields are checked here
(a programme's category, measures, eligible statuses, period and dated standards)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.support.catalogue.rules import BODY_KINDS, CATEGORIES, ELIGIBLE, LEVELS, MONEY_MEASURES, SOURCE_KINDS
from shared.text import TEXT, PlainText

Code = Annotated[str, Field(pattern=r"^[a-z0-9_]{2,60}$")]


class Standard(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Code
    value: int
    measure: Code | None = None
    valid_from: date
    valid_to: date | None = None
    note: Annotated[str, Field(max_length=300), TEXT] | None = None

    @model_validator(mode="after")
    def _period(self) -> Standard:
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self


class ProgrammeFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: Literal[CATEGORIES]  # type: ignore[valid-type]
    measures: list[Code] = Field(min_length=1)
    eligible: list[Literal[ELIGIBLE]] = Field(min_length=1)  # type: ignore[valid-type]
    escaped_within_years: int | None = Field(None, ge=0, le=10)
    owner_level: Literal[LEVELS]  # type: ignore[valid-type]
    active_from: date
    active_to: date | None = None
    standards: list[Standard] = []
    # The registry's deprivation indicator codes the programme remedies (housing: housing_quality,
    # housing_area): a household deprived in one of them and not reached is a coverage gap.
    deprivations: list[Code] = Field([], max_length=30)

    @field_validator("measures")
    @classmethod
    def _no_money(cls, measures: list[str]) -> list[str]:
        """Money is the delivery's `amount_vnd` (split by source), never a quantity."""
        money = sorted(set(measures) & MONEY_MEASURES)
        if money:
            raise ValueError(f"{', '.join(money)}: money is a delivery's amount_vnd (split by funding source), "
                             "not a measure of a programme")
        return measures

    @field_validator("standards")
    @classmethod
    def _no_overlap(cls, standards: list[Standard]) -> list[Standard]:
        """Two standards of one key in force on the same day would make the amount ambiguous."""
        for i, one in enumerate(standards):
            for j, other in enumerate(standards[:i]):
                if one.key == other.key and one.valid_from <= (other.valid_to or date.max) \
                        and other.valid_from <= (one.valid_to or date.max):
                    raise ValueError(f"standards {j} and {i} ({one.key}) overlap: {other.valid_from} – "
                                     f"{other.valid_to or 'open'} and {one.valid_from} – {one.valid_to or 'open'}; "
                                     f"end the older one (valid_to) the day before the newer one starts")
        return standards

    @model_validator(mode="after")
    def _check(self) -> ProgrammeFields:
        if self.active_to is not None and self.active_to < self.active_from:
            raise ValueError("active_to is before active_from")
        if "escaped" in self.eligible and self.escaped_within_years is None:
            raise ValueError("escaped_within_years is required when 'escaped' households are eligible")
        return self


class SourceFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal[SOURCE_KINDS]  # type: ignore[valid-type]
    level: Literal[LEVELS] | None = None  # type: ignore[valid-type]


class BodyFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal[BODY_KINDS]  # type: ignore[valid-type]


class MeasureFields(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ActivityKindFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    measures: list[Code] = Field(min_length=1)


FIELDS: dict[str, type[BaseModel]] = {"programme": ProgrammeFields, "funding_source": SourceFields,
                                      "body": BodyFields, "measure": MeasureFields,
                                      "activity_kind": ActivityKindFields}


class EntryIn(BaseModel):
    """A new entry, or the whole new state of one (send the ETag you read in If-Match)."""

    model_config = ConfigDict(extra="forbid")
    catalogue: Literal["programme", "funding_source", "body", "measure", "activity_kind"]
    entry: Code = Field(description="the entry's code (e.g. housing_repair)")
    name: PlainText
    active: bool = True
    fields: dict[str, Any] = {}


class EntryOut(BaseModel):
    catalogue: str
    entry: str
    name: str
    active: bool
    version: int
    fields: dict[str, Any]
    owner_path: str | None = Field(description="the unit that owns it and alone may change it; null: national")
