"""Response models of the support totals endpoint. Money is integer VND, with the million-VND
figure reports print (two decimals, as a string so no float ever carries money)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class Counts(BaseModel):
    deliveries: int
    households: int
    persons: int
    turns: int
    amount_vnd: int
    amount_million_vnd: str


class Quantity(BaseModel):
    measure: str
    name: str
    quantity: str


class SourceAmount(BaseModel):
    source: str
    name: str
    amount_vnd: int
    amount_million_vnd: str


class BodyCounts(Counts):
    body: str
    name: str


class ProgrammeLine(Counts):
    programme: str
    name: str
    quantities: list[Quantity]
    funding: list[SourceAmount]
    bodies: list[BodyCounts]


class ChildCounts(Counts):
    code: str
    name: str
    level: str
    type: str
    path: str
    hierarchy: str


class SupportTotals(BaseModel):
    unit: dict[str, str]
    year: int
    crosswalk_applied: bool
    programmes: list[ProgrammeLine]
    bodies: list[BodyCounts]
    sources: list[SourceAmount]
    total: Counts
    children: list[ChildCounts]
    current_as_of: dict[str, Any]
