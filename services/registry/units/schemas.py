"""API shapes of administrative units."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from services.registry.units.models import Unit
from shared.scope import unit_code_of

Hierarchy = Literal["v2008", "v2025"]
Level = Literal["province", "district", "commune"]


class UnitRef(BaseModel):
    code: str
    hierarchy: str
    path: str
    name: str
    type: str
    level: str


class UnitOut(UnitRef):
    parent_path: str | None
    parent_code: str | None
    urban: bool | None
    area: Literal["urban", "rural"] | None  # which income line applies (communes)
    valid_from: date | None
    valid_to: date | None
    poor_district: bool
    difficult_commune: bool
    ethnic_minority_area: bool
    mountainous: bool
    version: int

    @classmethod
    def of(cls, u: Unit) -> UnitOut:
        return cls(
            code=u.code, hierarchy=u.hierarchy, path=u.path, name=u.name, type=u.type, level=u.level,
            parent_path=u.parent_path, parent_code=unit_code_of(u.parent_path) if u.parent_path else None,
            urban=u.urban, area=None if u.urban is None else ("urban" if u.urban else "rural"),
            valid_from=u.valid_from, valid_to=u.valid_to, poor_district=u.poor_district,
            difficult_commune=u.difficult_commune, ethnic_minority_area=u.ethnic_minority_area,
            mountainous=u.mountainous, version=u.version,
        )


class CrosswalkRow(BaseModel):
    old: UnitRef  # before the reform (v2008)
    new: UnitRef  # after it (v2025)
    partial: bool  # only part of the old unit went into the new one


class CrosswalkPage(BaseModel):
    unit: UnitOut
    direction: Literal["successors", "predecessors"]
    items: list[CrosswalkRow]
    total: int
    limit: int
    offset: int


def _flags_schema(schema: dict[str, Any]) -> None:
    """The rules below, in the document too: each flag sent is true or false (never null), at least one."""
    for prop in schema.get("properties", {}).values():
        prop.pop("anyOf", None)
        prop.pop("default", None)
        prop["type"] = "boolean"
    schema["minProperties"] = 1


class FlagsIn(BaseModel):
    """Only the flags sent change; at least one."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_flags_schema)

    poor_district: bool | None = None
    difficult_commune: bool | None = None
    ethnic_minority_area: bool | None = None
    mountainous: bool | None = None

    @model_validator(mode="after")
    def _some(self) -> FlagsIn:
        if not self.model_fields_set:
            raise ValueError("send at least one of poor_district, difficult_commune, ethnic_minority_area, "
                             "mountainous")
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} must be true or false")
        return self
