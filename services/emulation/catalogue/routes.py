"""The award catalogue by law and the base salary, as of a date."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.emulation.catalogue import rules
from services.emulation.dependencies import (
    Reader,
)
from shared import clock

router = APIRouter(prefix="/emulation", tags=["award catalogue"])
On = Annotated[date | None, Query(ge=date(2000, 1, 1), le=date(2100, 12, 31), description="Default: today")]


@router.get("/award-forms", summary="Emulation titles and award forms: nominee kinds, awarding levels, prize")
async def award_forms(_: Reader, on: On = None) -> dict[str, Any]:
    """`awarding_levels` as of `on` (the district's powers passed to the commune on 1/7/2025), both
    periods in `before` / `after`, and the prize of each nominee kind at the base salary of that day."""
    day = on or clock.today()
    forms = []
    for f in rules.catalogue().forms.values():
        prizes = {}
        for kind in f.nominee_kinds:
            multiplier, salary, amount = rules.prize(f, kind, day)
            prizes[kind] = {"multiplier": str(multiplier) if multiplier is not None else None,
                            "base_salary": salary, "amount_vnd": amount}
        forms.append({"code": f.code, "name": f.name, "category": f.category, "nominee_kinds": list(f.nominee_kinds),
                      "council_vote": f.council_vote, "awarding_levels": list(rules.awarding_levels(f, day)),
                      "before": list(f.before), "after": list(f.after), "prize": prizes})
    return {"on": day.isoformat(), "powers_change_on": rules.catalogue().powers_change_on.isoformat(),
            "authorities": rules.catalogue().authorities, "forms": forms}


@router.get("/base-salary", summary="The base salary (lương cơ sở) by date, and the one in force on a day")
async def base_salary(_: Reader, on: On = None) -> dict[str, Any]:
    day = on or clock.today()
    return {"on": day.isoformat(), "amount_vnd": rules.base_salary(day),
            "history": [{"from": d.isoformat(), "amount_vnd": a, "source": s}
                        for d, a, s in rules.catalogue().base_salary]}
