"""Request and response models of the poverty indicator endpoints."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class PovertyQuery(BaseModel):
    unit: str | None = None
    hierarchy: str | None = None
    year: int | None = None
    year_from: int | None = None
    year_to: int | None = None


class Figures(BaseModel):
    code: str
    name: str
    level: str
    path: str
    year: int
    households: int
    poor: int
    near_poor: int
    poor_rate: float | None
    near_poor_rate: float | None
    poor_rate_change_pp: float | None
    near_poor_rate_change_pp: float | None
    members: int
    breakdowns: dict[str, dict[str, Any]]
    transitions: dict[str, int]
    series: list[dict[str, Any]] | None = None


class PovertyAnswer(BaseModel):
    hierarchy: str
    year: int
    year_from: int
    year_to: int
    crosswalk_applied: bool
    unit: Figures
    children: list[Figures]
    current_as_of: dict[str, Any]
