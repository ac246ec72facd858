"""Browse, search and flag administrative units: /registry/units/..."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.registry.units.access import find_visible, find_writable, visible_clause
from services.registry.units.events import unit_changed
from services.registry.units.models import Unit, UnitSuccession
from services.registry.units.names import search_key
from services.registry.units.schemas import CrosswalkPage, CrosswalkRow, FlagsIn, Hierarchy, Level, UnitOut, UnitRef
from shared import permissions
from shared.db import scope_clause
from shared.errors import Problem
from shared.events import record_events
from shared.http import DbSession, require
from shared.pagination import Page, PageParams, page_params
from shared.principal import Principal
from shared.scope import HIERARCHY_BEFORE_REFORM

router = APIRouter(prefix="/registry/units", tags=["units"])
# Reads of the unit tree may name the ancestors of the caller's units (a commune officer needs its
# district's and province's names); writes stay inside the scope.
Lister = Annotated[Principal, Depends(require(permissions.UNITS_READ, query_units=("code",), ancestors_ok=True))]
Reader = Annotated[Principal, Depends(require(permissions.UNITS_READ, units=("code",), ancestors_ok=True))]
Flagger = Annotated[Principal, Depends(require(permissions.UNITS_FLAG, units=("code",)))]
Paging = Annotated[PageParams, Depends(page_params)]
HierarchyQuery = Annotated[Hierarchy | None, Query(description="v2008 (before July 2025) or v2025; default: "
                                                               "the hierarchy of your scope")]
# Which flag makes sense on which level (a poor district is a district, a "135" commune a commune).
FLAG_LEVELS = {"poor_district": {"district"}, "difficult_commune": {"commune"}}


async def _page(session: AsyncSession, query: Select[Unit], paging: PageParams) -> Page[UnitOut]:
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = await session.scalars(query.order_by(Unit.path).limit(paging.limit).offset(paging.offset))
    return Page[UnitOut](items=[UnitOut.of(u) for u in rows], total=total or 0, limit=paging.limit,
                         offset=paging.offset)


@router.get("", summary="Units you can see, filtered and paged", response_model=Page[UnitOut])
async def list_units(
    principal: Lister, session: DbSession, paging: Paging,
    parent: Annotated[str | None, Query(description="code of the parent unit")] = None,
    level: Level | None = None,
    hierarchy: HierarchyQuery = None,
    name: Annotated[str | None, Query(description="part of the name, with or without diacritics")] = None,
    code: str | None = None,
) -> Page[UnitOut]:
    query = select(Unit).where(visible_clause(principal))
    if parent:
        parent_unit = await find_visible(session, principal, parent, hierarchy)
        query = query.where(Unit.parent_path == parent_unit.path)
    if hierarchy:
        query = query.where(Unit.hierarchy == hierarchy)
    if level:
        query = query.where(Unit.level == level)
    if code:
        query = query.where(Unit.code == code)
    if name and (key := search_key(name)):
        query = query.where(Unit.name_search.contains(key, autoescape=True))
    return await _page(session, query, paging)


@router.get("/{code}", summary="One unit", response_model=UnitOut)
async def get_unit(code: str, principal: Reader, session: DbSession, response: Response,
                   hierarchy: HierarchyQuery = None) -> UnitOut:
    unit = await find_visible(session, principal, code, hierarchy)
    response.headers["ETag"] = f'"{unit.version}"'
    return UnitOut.of(unit)


@router.get("/{code}/children", summary="The unit's children you can see", response_model=Page[UnitOut])
async def list_children(code: str, principal: Reader, session: DbSession, paging: Paging,
                        hierarchy: HierarchyQuery = None) -> Page[UnitOut]:
    parent = await find_visible(session, principal, code, hierarchy)
    return await _page(session, select(Unit).where(Unit.parent_path == parent.path, visible_clause(principal)),
                       paging)


@router.get("/{code}/successors", response_model=CrosswalkPage,
            summary="The 2025 crosswalk: where a v2008 unit's communes went, or where a v2025 unit came from")
async def crosswalk(code: str, principal: Reader, session: DbSession, paging: Paging,
                    hierarchy: HierarchyQuery = None) -> CrosswalkPage:
    unit = await find_visible(session, principal, code, hierarchy)
    before = unit.hierarchy == HIERARCHY_BEFORE_REFORM
    old, new = aliased(Unit), aliased(Unit)
    own_side = UnitSuccession.old_path if before else UnitSuccession.new_path
    # Rows of the unit's own communes that lie in the caller's scope; the counterpart is shown whatever
    # its hierarchy, because showing it is the point of the crosswalk.
    query = (select(UnitSuccession.partial, old, new)
             .join(old, old.path == UnitSuccession.old_path).join(new, new.path == UnitSuccession.new_path)
             .where(scope_clause(own_side, [unit.path]), scope_clause(own_side, principal.scope_paths)))
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.execute(query.order_by(UnitSuccession.old_path, UnitSuccession.new_path)
                                 .limit(paging.limit).offset(paging.offset))
    items = [CrosswalkRow(old=_ref(o), new=_ref(n), partial=p) for p, o, n in rows]
    return CrosswalkPage(unit=UnitOut.of(unit), direction="successors" if before else "predecessors",
                         items=items, total=total or 0, limit=paging.limit, offset=paging.offset)


def _ref(u: Unit) -> UnitRef:
    return UnitRef(code=u.code, hierarchy=u.hierarchy, path=u.path, name=u.name, type=u.type, level=u.level)


@router.patch("/{code}/flags", summary="Set poor-district, '135', ethnic-minority or mountainous flags",
              response_model=UnitOut)
async def set_flags(code: str, body: FlagsIn, principal: Flagger, session: DbSession, response: Response,
                    hierarchy: HierarchyQuery = None,
                    if_match: Annotated[str | None, Header(description="ETag of the unit you read")] = None,
                    ) -> UnitOut:
    unit = await find_writable(session, principal, code, hierarchy, lock=True)
    if if_match is not None and if_match.strip().removeprefix("W/") not in (f'"{unit.version}"', "*"):
        raise Problem(412, "precondition_failed", "The unit changed since you read it",
                      f"Unit {code} is at version {unit.version}; read it again.", current_version=unit.version)
    changes = {f: v for f, v in body.model_dump(exclude_unset=True).items() if getattr(unit, f) != v}
    for flag, value in changes.items():
        levels = FLAG_LEVELS.get(flag)
        if value and levels and unit.level not in levels:
            raise Problem(422, "flag_not_applicable", "Flag does not apply to this level",
                          f"{flag} applies to {', '.join(sorted(levels))} units; {code} is a {unit.level}.",
                          errors=[{"field": flag, "reason": f"not applicable to a {unit.level}"}])
    if changes:
        for flag, value in changes.items():
            setattr(unit, flag, value)
        unit.version += 1
        await session.flush()
        successors = await session.execute(select(UnitSuccession.new_path, UnitSuccession.partial)
                                           .where(UnitSuccession.old_path == unit.path)
                                           .order_by(UnitSuccession.new_path))
        row = {c.key: getattr(unit, c.key) for c in Unit.__table__.columns}
        await record_events(session, [unit_changed(row, [{"path": p, "partial": x} for p, x in successors])])
    response.headers["ETag"] = f'"{unit.version}"'
    return UnitOut.of(unit)
