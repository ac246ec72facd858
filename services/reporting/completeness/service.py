"""Completeness and timeliness of one report type and period under a unit: per level, per child unit
(rolled up: the child and every unit below it), and the units whose report is overdue."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.completeness import repository
from services.reporting.completeness.rules import overdue, roll_up
from services.reporting.reports import figures as gathering
from services.reporting.reports.rules import period_of, report_type
from services.reporting.units.service import locate
from shared.clock import today
from shared.pagination import PageParams
from shared.principal import Principal


async def completeness(session: AsyncSession, principal: Principal, unit: str | None, hierarchy: str | None,
                       type_code: str, period_key: str, paging: PageParams) -> dict[str, Any]:
    kind = report_type(type_code)
    located = await locate(session, principal, unit, hierarchy)
    movement = await gathering.movement(session, period_key) if kind.period_kind == "phase" else None
    period = period_of(kind, period_key, movement)
    rows = await repository.expected_units(session, located.unit.path, kind.code, period.key, period.due_on) \
        if period.expected else []
    rollup = roll_up([(r["child"], r["level"], r["state"], r["first_submitted_on"]) for r in rows], period.due_on)
    now = today()
    late = sorted((r for r in rows if overdue(r["state"], r["first_submitted_on"], period.due_on, now)),
                  key=lambda r: r["path"])
    names = {c.code: c for c in located.children}
    return {
        "unit": located.unit.as_dict(), "type": kind.code, "period": period.key, "due_on": period.due_on.isoformat(),
        "expected_period": period.expected, "as_of": now.isoformat(),
        "totals": rollup.total.as_dict(),
        "by_level": {level: tally.as_dict() for level, tally in sorted(rollup.by_level.items())},
        "children": [{**(names[code].as_dict() if code in names else {"code": code}), **tally.as_dict()}
                     for code, tally in sorted(rollup.by_child.items())],
        "overdue": {"items": [{"path": r["path"], "code": r["code"], "name": r["name"], "level": r["level"],
                               "state": r["state"] or "missing", "report_id": str(r["report_id"]) if r["report_id"]
                               else None}
                              for r in late[paging.offset:paging.offset + paging.limit]],
                    "total": len(late), "limit": paging.limit, "offset": paging.offset},
    }
