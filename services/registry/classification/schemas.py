"""API shapes of the classification preview and the standards list."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.registry.classification.classifier import Classification
from services.registry.classification.standards import Standard


class ClassifyIn(BaseModel):
    # The rule of `_area_or_commune`, in the document too: exactly one of area and commune_code.
    model_config = ConfigDict(json_schema_extra={"oneOf": [
        {"required": ["area"], "properties": {"area": {"type": "string"}}, "not": {"required": ["commune_code"]}},
        {"required": ["commune_code"], "properties": {"commune_code": {"type": "string"}},
         "not": {"required": ["area"]}}]})

    review_year: int = Field(ge=1900, le=2200)
    area: Literal["urban", "rural"] | None = None
    commune_code: str | None = Field(None, description="instead of area: the commune's urban flag decides",
                                     min_length=1, max_length=20)
    hierarchy: Literal["v2008", "v2025"] | None = Field(None, description="of commune_code, when ambiguous")
    income_per_capita: int = Field(ge=0, description="VND per person per month")
    deprived_indicators: list[str] = Field(default_factory=list, description="canonical indicator codes")

    @model_validator(mode="after")
    def _area_or_commune(self) -> ClassifyIn:
        if (self.area is None) == (self.commune_code is None):
            raise ValueError("give either area or commune_code")
        return self


class CommuneRef(BaseModel):
    code: str
    hierarchy: str
    path: str
    name: str


class ClassifyOut(BaseModel):
    review_year: int
    income_per_capita: int
    commune: CommuneRef | None
    status: str
    standard: str
    standard_name: str
    area: str
    poverty_line: int
    near_poverty_line: int | None
    middle_income_line: int | None
    deprived_count: int
    deprived_indicators: list[str]
    deprivation_threshold: int
    explanation: str

    @classmethod
    def of(cls, c: Classification, review_year: int, income: int, commune: CommuneRef | None) -> ClassifyOut:
        return cls(review_year=review_year, income_per_capita=income, commune=commune, status=c.status,
                   standard=c.standard, standard_name=c.standard_name, area=c.area, poverty_line=c.poverty_line,
                   near_poverty_line=c.near_poverty_line, middle_income_line=c.middle_income_line,
                   deprived_count=c.deprived_count, deprived_indicators=list(c.deprived_indicators),
                   deprivation_threshold=c.deprivation_threshold, explanation=c.explanation)


class IndicatorOut(BaseModel):
    code: str
    dimension: str
    name: str
    name_vi: str


class LinesOut(BaseModel):
    poverty_line: int
    near_poverty_line: int | None
    middle_income_line: int | None


class StandardOut(BaseModel):
    code: str
    name: str
    legal_basis: str
    year_from: int
    year_to: int
    lines: dict[str, LinesOut]
    deprivation_threshold: int
    income_alone_poor: bool
    indicators: list[IndicatorOut]
    to_verify: list[str]

    @classmethod
    def of(cls, s: Standard) -> StandardOut:
        return cls(code=s.code, name=s.name, legal_basis=s.legal_basis, year_from=s.year_from, year_to=s.year_to,
                   lines={a: LinesOut(**vars(al)) for a, al in s.lines.items()},
                   deprivation_threshold=s.deprivation_threshold, income_alone_poor=s.income_alone_poor,
                   indicators=[IndicatorOut(**vars(i)) for i in s.indicators], to_verify=list(s.to_verify))
