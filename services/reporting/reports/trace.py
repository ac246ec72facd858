"""The rows a report's figure sums, as a query `shared.pagination.paginate` pages through.

A figure key `<table>.<row>.<column>` names what it counts; the rows are those of the report's unit
and all its descendants (for a v2025 unit, the old communes the crosswalk rolls into it too) in the
report's period: household-year rows for poverty counts and changes, deliveries for support lines and
bodies, ledger entries for the fund, activities, models, awards and targets for the emulation figures.
They are today's rows: a submitted report's figure is frozen and may differ from what they add up to now.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, literal, or_, select

from services.reporting.emulation import models as emulation
from services.reporting.poverty.models import HouseholdYear
from services.reporting.reports.rules import Period
from services.reporting.support import models as support
from services.reporting.units.models import Crosswalk
from services.reporting.units.subtree import uses_crosswalk
from shared.db import scope_clause
from shared.errors import Problem

Traced = tuple[Any, Callable[[Any], dict[str, Any]]]  # (the Select, how a row is shown)


def _under(column: Any, path: str) -> ColumnElement[bool]:
    """Rows of the unit's subtree, and for a v2025 unit of the old communes rolled into it."""
    own = scope_clause(column, [path])
    if not uses_crosswalk(path):
        return own
    rolled = select(Crosswalk.old_path).where(scope_clause(Crosswalk.new_path, [path]))
    return or_(own, column.in_(rolled))


def _row(row: Any) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in row._mapping.items()}


def _no_rows(key: str) -> Problem:
    return Problem(404, "figure_not_found", "No such figure", f"The report has no figure {key!r} to trace.",
                   figure=key)


def _poverty(path: str, row: str, column: str, years: tuple[int, int]) -> Traced:
    year = years[0] if row == "start" else years[1]
    t = HouseholdYear
    query = select(t.household_id, t.unit_path, t.year, t.status, t.transition, t.members).where(
        _under(t.unit_path, path), t.year == year, t.removed.is_(False))
    if column in ("poor", "near_poor"):
        query = query.where(t.status == column)
    return query.order_by(t.unit_path, t.household_id), _row


def _changes(path: str, row: str, years: tuple[int, int]) -> Traced:
    t = HouseholdYear
    query = select(t.household_id, t.unit_path, t.year, t.status, t.transition, t.members).where(
        _under(t.unit_path, path), t.year > years[0], t.year <= years[1], t.removed.is_(False), t.transition == row)
    return query.order_by(t.year, t.unit_path, t.household_id), _row


def _deliveries(path: str, period: Period, where: list[ColumnElement[bool]]) -> Traced:
    d = support.deliveries
    query = select(d.c.delivery_id, d.c.unit_path, d.c.delivered_on, d.c.programme, d.c.body, d.c.households,
                   d.c.persons, d.c.turns, d.c.amount_vnd, d.c.funding, d.c.quantities, d.c.household_id).where(
        _under(d.c.unit_path, path), d.c.status == "recorded",
        d.c.delivered_on.between(period.start, period.end), *where)
    return query.order_by(d.c.delivered_on, d.c.delivery_id), _row


def _fund(path: str, period: Period, row: str) -> Traced:
    e = support.fund_entries
    kinds = {"donations": "donation", "refunds": "refund", "transfers_in": "transfer_in", "spent": "spend",
             "transfers_out": "transfer_out"}
    when = e.c.occurred_on < period.start if row == "opening" else and_(
        e.c.occurred_on.between(period.start, period.end), e.c.kind == kinds.get(row, ""))
    query = select(e.c.entry_id, e.c.fund_id, e.c.unit_path, e.c.kind, e.c.amount_vnd, e.c.occurred_on,
                   e.c.donor_name, e.c.receipt_number, e.c.purpose, e.c.delivery_id).where(
        _under(e.c.unit_path, path), when)
    return query.order_by(e.c.occurred_on, e.c.entry_id), _row


def _activities(path: str, period: Period, row: str) -> Traced:
    a = emulation.emulation_activities
    group, kind, measure = (row.split(":") + ["", "", ""])[:3]
    when = a.c.held_on.between(period.start, period.end) | (
        a.c.held_on.is_(None) & a.c.year.between(period.start.year, period.end.year))
    query = select(a.c.activity_id, a.c.unit_path, a.c.held_on, a.c.year, a.c.kind, a.c.kind_name, a.c.measure,
                   a.c.count, a.c.participants, a.c.title).where(
        _under(a.c.unit_path, path), a.c.removed.is_(False), when, a.c.kind == kind, a.c.measure == measure,
        a.c.group_name == group)
    return query.order_by(a.c.held_on, a.c.activity_id), _row


def _body(path: str, period: Period, row: str, column: str) -> Traced:
    if column.startswith(("sponsorships.", "sponsored_households.")):
        s = support.sponsorships
        kind = column.split(".", 1)[1]
        query = select(s.c.sponsorship_id, s.c.unit_path, s.c.kind, s.c.helper_name, s.c.households, s.c.started_on,
                       s.c.ended_on, s.c.status).where(
            _under(s.c.unit_path, path), s.c.body == row, s.c.kind == kind,
            s.c.started_on <= period.end, (s.c.ended_on.is_(None)) | (s.c.ended_on >= period.start))
        return query.order_by(s.c.started_on, s.c.sponsorship_id), _row
    if column.startswith("activity."):
        a = support.activities
        kind = column.split(".", 1)[1].split(":")[0]
        query = select(a.c.activity_id, a.c.unit_path, a.c.kind, a.c.title, a.c.period_from, a.c.period_to,
                       a.c.measures, a.c.amount_vnd).where(
            _under(a.c.unit_path, path), a.c.body == row, a.c.kind == kind, a.c.status == "recorded",
            a.c.year.between(period.start.year, period.end.year))
        return query.order_by(a.c.period_to, a.c.activity_id), _row
    return _deliveries(path, period, [support.deliveries.c.body == row])


def rows_of(key: str, path: str, period: Period, years: tuple[int, int]) -> Traced:
    """The query of the rows figure `key` sums, and how each row is shown."""
    parts = key.split(".", 2)
    if len(parts) != 3:
        raise _no_rows(key)
    table, row, column = parts
    if table == "poverty":
        return _poverty(path, row, column, years)
    if table == "changes":
        return _changes(path, row, years)
    if table == "support":
        return _deliveries(path, period, [support.deliveries.c.programme == row])
    if table == "fund":
        return _fund(path, period, row)
    if table == "propaganda":
        return _activities(path, period, row)
    if table == "bodies":
        return _body(path, period, row, column)
    if table == "awards" and row == "exemplars":
        x = emulation.exemplars
        return (select(x.c.exemplar_id, x.c.unit_path, x.c.name, x.c.kind, x.c.recognised_on, x.c.document_number)
                .where(_under(x.c.unit_path, path), x.c.withdrawn.is_(False),
                       x.c.recognised_on.between(period.start, period.end)).order_by(x.c.recognised_on), _row)
    if table == "awards":
        w, r = emulation.awards, emulation.award_revocations
        return (select(w.c.nomination_id, w.c.unit_path, w.c.nominee_name, w.c.form_name, w.c.decision_number,
                       w.c.decision_date).where(
            _under(w.c.unit_path, path), w.c.decision_date.between(period.start, period.end),
            ~select(literal(1)).where(r.c.award_id == w.c.award_id).exists()).order_by(w.c.decision_date), _row)
    if table == "targets":
        t = emulation.targets
        indicator = row.split(":")[0]
        return (select(t.c.target_id, t.c.unit_path, t.c.year, t.c.indicator, t.c.value, t.c.upper, t.c.parent_path)
                .where(t.c.unit_path == path, t.c.indicator == indicator,
                       t.c.year.between(period.start.year, period.end.year)).order_by(t.c.year), _row)
    raise _no_rows(key)
