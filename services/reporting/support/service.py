"""Support totals of a unit and its descendants for a year: what reached households, by programme,
delivering body and funding source, as the support service's events told reporting."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.progress.projection import SUPPORT_CONSUMER
from services.reporting.progress.repository import read_progress
from services.reporting.support import repository
from services.reporting.support.rules import million_vnd, support_figures
from services.reporting.units.rules import child_ref
from services.reporting.units.service import locate
from services.reporting.units.subtree import uses_crosswalk
from shared.clock import today
from shared.principal import Principal


async def support_totals(session: AsyncSession, principal: Principal, unit: str | None, hierarchy: str | None,
                         year: int | None) -> dict[str, Any]:
    located = await locate(session, principal, unit, hierarchy)
    ref = located.unit
    year = year or today().year
    rows = await repository.support_rows(session, ref.path, date(year, 1, 1), date(year, 12, 31))
    names = await repository.catalogue_names(session)
    by_child = {r["child"]: r for r in rows.children}
    children = list(located.children)
    listed = {c.code for c in children}
    children += [child_ref(ref, code) for code in sorted(by_child) if code and code not in listed]

    def child_entry(code: str) -> dict[str, Any]:
        row = by_child.get(code)
        counts = {k: int(row[k] or 0) if row else 0 for k in ("deliveries", "households", "persons", "turns",
                                                                "amount_vnd")}
        return {**counts, "amount_million_vnd": million_vnd(counts["amount_vnd"])}

    return {
        "unit": ref.as_dict(), "year": year, "crosswalk_applied": uses_crosswalk(ref.path),
        **support_figures(rows.lines, rows.funding, rows.quantities, names),
        "children": [{**c.as_dict(), **child_entry(c.code)} for c in children],
        "current_as_of": await read_progress(session, SUPPORT_CONSUMER),
    }
