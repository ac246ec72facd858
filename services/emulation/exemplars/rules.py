"""Exemplary models (điển hình tiên tiến, mô hình hay): the kinds, and the recognition date. Pure."""

from __future__ import annotations

from datetime import date

from shared.errors import Problem

KINDS = {"model": "Mô hình hay", "initiative": "Sáng kiến, cách làm hay", "person": "Cá nhân điển hình",
         "household": "Hộ gia đình điển hình", "collective": "Tập thể điển hình"}


def check_recognised_on(recognised_on: date, today: date) -> None:
    if recognised_on > today:
        raise Problem(422, "validation_error", "Invalid request", "recognised_on cannot be in the future.",
                      errors=[{"field": "recognised_on", "reason": "in the future"}])
