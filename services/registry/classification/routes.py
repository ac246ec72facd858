"""POST /registry/classify (stateless preview) and GET /registry/standards."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.registry.classification.classifier import NoStandardForYear, UnknownIndicator
from services.registry.classification.schemas import ClassifyIn, ClassifyOut, CommuneRef, StandardOut
from services.registry.classification.service import CurrentStandards, years_covered
from services.registry.units.repository import find_writable
from shared import permissions
from shared.errors import Problem
from shared.http import DbSession, require
from shared.openapi import problems
from shared.pagination import Page, PageParams, page_params
from shared.principal import Principal

router = APIRouter(prefix="/registry", tags=["classification"])
Classifier = Annotated[Principal, Depends(require(permissions.CLASSIFY))]


@router.post("/classify", response_model=ClassifyOut, responses=problems(404),
             summary="Classify a household by the standard of its review year (nothing is stored)")
async def classify_preview(body: ClassifyIn, principal: Classifier, session: DbSession,
                           standards: CurrentStandards) -> ClassifyOut:
    commune = None
    area = body.area
    if body.commune_code is not None:
        unit = await find_writable(session, principal, body.commune_code, body.hierarchy)
        if unit.level != "commune" or unit.urban is None:
            raise Problem(422, "not_a_commune", "Not a commune",
                          f"{body.commune_code} is a {unit.level}; the area is decided by a commune.",
                          errors=[{"field": "commune_code", "reason": f"{body.commune_code} is a {unit.level}"}])
        area = "urban" if unit.urban else "rural"
        commune = CommuneRef(code=unit.code, hierarchy=unit.hierarchy, path=unit.path, name=unit.name)
    assert area is not None
    try:
        result = standards.classify(body.review_year, area, body.income_per_capita, body.deprived_indicators)
    except UnknownIndicator as exc:
        raise Problem(422, "unknown_indicator", "Unknown deprivation indicator",
                      f"Unknown indicator code(s) {', '.join(exc.codes)} for review year {body.review_year} "
                      f"({exc.standard}); allowed: {', '.join(exc.allowed)}.",
                      errors=[{"field": "deprived_indicators", "reason": f"unknown code {c}"} for c in exc.codes],
                      unknown=exc.codes, allowed=exc.allowed) from exc
    except NoStandardForYear as exc:
        raise Problem(422, "no_standard_for_year", "No poverty standard for this year", str(exc),
                      errors=[{"field": "review_year", "reason": str(exc)}], years=years_covered(standards)) from exc
    return ClassifyOut.of(result, body.review_year, body.income_per_capita, commune)


@router.get("/standards", response_model=Page[StandardOut], summary="The versioned poverty standards")
async def list_standards(
    _: Classifier, standards: CurrentStandards, paging: Annotated[PageParams, Depends(page_params)],
    year: Annotated[int | None, Query(ge=1900, le=2100, description="only the standard covering this year")] = None,
) -> Page[StandardOut]:
    chosen = [s for s in standards.all if year is None or s.covers(year)]
    items = [StandardOut.of(s) for s in chosen[paging.offset:paging.offset + paging.limit]]
    return Page[StandardOut](items=items, total=len(chosen), limit=paging.limit, offset=paging.offset)
