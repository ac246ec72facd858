"""Browse, search and flag administrative units: /registry/units/..."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response

from services.registry.units import repository, service
from services.registry.units.schemas import CrosswalkPage, FlagsIn, Hierarchy, Level, UnitOut
from shared import permissions
from shared.etag import set_etag
from shared.http import DbSession, require
from shared.openapi import problems
from shared.pagination import Page, PageParams, page_params
from shared.principal import Principal

router = APIRouter(prefix="/registry/units", tags=["units"])
# Reads of the unit tree may name the ancestors of the caller's units (a commune officer needs its
# district's and province's names); writes stay inside the scope.
Lister = Annotated[Principal, Depends(require(permissions.UNITS_READ, query_units=("code",), ancestors_ok=True))]
Reader = Annotated[Principal, Depends(require(permissions.UNITS_READ, units=("code",), ancestors_ok=True))]
Flagger = Annotated[Principal, Depends(require(permissions.UNITS_FLAG, units=("code",)))]
Paging = Annotated[PageParams, Depends(page_params)]
HierarchyQuery = Annotated[Hierarchy | None, Query(description="v2008 (before July 2025) or v2025; default: "
                                                               "the hierarchy of your scope")]


@router.get("", summary="Units you can see, filtered and paged", response_model=Page[UnitOut],
            responses=problems(404))
async def list_units(
    principal: Lister, session: DbSession, paging: Paging,
    parent: Annotated[str | None, Query(description="code of the parent unit")] = None,
    level: Level | None = None,
    hierarchy: HierarchyQuery = None,
    name: Annotated[str | None, Query(description="part of the name, with or without diacritics")] = None,
    code: str | None = None,
) -> Page[UnitOut]:
    return await service.list_units(session, principal, paging, parent=parent, hierarchy=hierarchy, level=level,
                                    code=code, name=name)


@router.get("/{code}", summary="One unit", response_model=UnitOut, responses=problems(404))
async def get_unit(code: str, principal: Reader, session: DbSession, response: Response,
                   hierarchy: HierarchyQuery = None) -> UnitOut:
    unit = await repository.find_visible(session, principal, code, hierarchy)
    set_etag(response, unit.version)
    return UnitOut.of(unit)


@router.get("/{code}/children", summary="The unit's children you can see", response_model=Page[UnitOut],
            responses=problems(404))
async def list_children(code: str, principal: Reader, session: DbSession, paging: Paging,
                        hierarchy: HierarchyQuery = None) -> Page[UnitOut]:
    return await service.list_children(session, principal, code, hierarchy, paging)


@router.get("/{code}/successors", response_model=CrosswalkPage, responses=problems(404),
            summary="The 2025 crosswalk: where a v2008 unit's communes went, or where a v2025 unit came from")
async def crosswalk(code: str, principal: Reader, session: DbSession, paging: Paging,
                    hierarchy: HierarchyQuery = None) -> CrosswalkPage:
    return await service.crosswalk(session, principal, code, hierarchy, paging)


@router.patch("/{code}/flags", summary="Set poor-district, '135', ethnic-minority or mountainous flags",
              response_model=UnitOut, responses=problems(404, 412, 428))
async def set_flags(code: str, body: FlagsIn, principal: Flagger, session: DbSession, response: Response,
                    hierarchy: HierarchyQuery = None,
                    if_match: Annotated[str | None, Header(description="ETag of the unit you read (required; "
                                                                       "`*` for any version)")] = None,
                    ) -> UnitOut:
    unit = await service.set_flags(session, principal, code, hierarchy, body, if_match)
    set_etag(response, unit.version)
    return UnitOut.of(unit)
