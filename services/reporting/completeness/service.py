"""Completeness and timeliness of one report type and period under a unit: per level, per child unit
(rolled up: the child and every unit below it), and the units whose report is overdue."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.completeness import repository
from services.reporting.completeness.rules import roll_up
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
    now, path = today(), located.unit.path
    rows, late = await repository.counts_and_overdue(session, path, kind.code, period.key, period.due_on, now,
                                                     paging.limit, paging.offset) if period.expected else ([], [])
    rollup = roll_up(rows)
    names = {c.code: c for c in located.children}
    return {
        "unit": located.unit.as_dict(), "type": kind.code, "period": period.key, "due_on": period.due_on.isoformat(),
        "expected_period": period.expected, "as_of": now.isoformat(),
        "totals": rollup.total.as_dict(),
        "by_level": {level: tally.as_dict() for level, tally in sorted(rollup.by_level.items())},
        "children": [{**(names[code].as_dict() if code in names else {"code": code}), **tally.as_dict()}
                     for code, tally in sorted(rollup.by_child.items())],
        "overdue": {"items": [{"path": r["path"], "code": r["code"], "name": r["name"], "level": r["level"],
                               "state": r["state"] or "missing", "report_id": r["report_id"]}
                              for r in late],
                    "total": rollup.total.overdue, "limit": paging.limit, "offset": paging.offset},
    }
