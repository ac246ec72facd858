"""What the units routes do: browse the tree, the 2025 crosswalk, set flags (with their event)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.units import repository
from services.registry.units.events import FLAG_FIELDS, unit_changed
from services.registry.units.models import Unit, UnitSuccession
from services.registry.units.rules import flag_changes
from services.registry.units.schemas import CrosswalkPage, CrosswalkRow, FlagsIn, UnitOut, UnitRef
from shared.etag import check_if_match
from shared.events import record_events
from shared.pagination import Page, PageParams, paginate
from shared.principal import Principal
from shared.scope import HIERARCHY_BEFORE_REFORM


async def list_units(session: AsyncSession, principal: Principal, paging: PageParams, *, parent: str | None,
                     hierarchy: str | None, level: str | None, code: str | None, name: str | None) -> Page[UnitOut]:
    parent_path = (await repository.find_visible(session, principal, parent, hierarchy)).path if parent else None
    query = repository.units_query(principal, parent_path=parent_path, hierarchy=hierarchy, level=level, code=code,
                                   name=name)
    return await paginate(session, query, paging, UnitOut.of)


async def list_children(session: AsyncSession, principal: Principal, code: str, hierarchy: str | None,
                        paging: PageParams) -> Page[UnitOut]:
    parent = await repository.find_visible(session, principal, code, hierarchy)
    return await paginate(session, repository.units_query(principal, parent_path=parent.path), paging, UnitOut.of)


def _ref(u: Unit) -> UnitRef:
    return UnitRef(code=u.code, hierarchy=u.hierarchy, path=u.path, name=u.name, type=u.type, level=u.level)


async def crosswalk(session: AsyncSession, principal: Principal, code: str, hierarchy: str | None,
                    paging: PageParams) -> CrosswalkPage:
    unit = await repository.find_visible(session, principal, code, hierarchy)
    before = unit.hierarchy == HIERARCHY_BEFORE_REFORM
    own_side = UnitSuccession.old_path if before else UnitSuccession.new_path
    page = await paginate(session, repository.crosswalk_query(unit, own_side, principal), paging,
                          lambda row: CrosswalkRow(old=_ref(row[1]), new=_ref(row[2]), partial=row[0]))
    return CrosswalkPage(unit=UnitOut.of(unit), direction="successors" if before else "predecessors",
                         items=page.items, total=page.total, limit=page.limit, offset=page.offset)


async def set_flags(session: AsyncSession, principal: Principal, code: str, hierarchy: str | None,
                    body: FlagsIn, if_match: str | None) -> Unit:
    """Changes the flags sent (If-Match required, as for every write); one event when something changed."""
    unit = await repository.find_writable(session, principal, code, hierarchy, lock=True)
    check_if_match(if_match, unit.version)
    current = {f: getattr(unit, f) for f in FLAG_FIELDS}
    changes = flag_changes(code, unit.level, current, body.model_dump(exclude_unset=True))
    if changes:
        for flag, value in changes.items():
            setattr(unit, flag, value)
        unit.version += 1
        await session.flush()
        row: dict[str, Any] = {c.key: getattr(unit, c.key) for c in Unit.__table__.columns}
        await record_events(session, [unit_changed(row, await repository.successors_of(session, unit.path))])
    return unit
