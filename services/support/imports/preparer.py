"""A delivery import file → its rows read and checked → placed in their households → COPY lines and
packed events (build.py), batch after batch. Needs no database: it asks the service (`ask`) for the
households of each commune the file names as it meets them (in the caller's scope) and for the
transitions of households whose status a programme does not serve by itself, so it runs in the
import's worker process (worker.py).

The rows are read BATCH_ROWS at a time (the first batch: one event's worth, so that storing starts at
once) and each batch is built and handed over (`emit`) while the next is read: the service stores it
meanwhile, in its one transaction. Once a row has a problem
nothing more is built, but every row is still read and checked; at the end `Refused` lists every
problem of every row (as the 422 does) and the service rolls back what it stored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.support.catalogue.rules import Transition, eligibility_refusal
from services.support.imports import reader, rules
from services.support.imports.build import EVENT_ITEMS, Built, DeliveryBuilder

BATCH_ROWS = 10 * EVENT_ITEMS  # a whole number of events
# (id, commune code, household code, unit path, status, removed) as the service read it.
HouseholdRow = tuple[str, str, str | None, str, str | None, bool]


class Refused(Exception):
    """The file is refused: the 422's detail and its other members (errors, error_count)."""

    def __init__(self, detail: str, extras: Mapping[str, Any] | None = None) -> None:
        super().__init__(detail, dict(extras or {}))
        self.detail, self.extras = detail, dict(extras or {})


@dataclass(frozen=True)
class Setup:
    data: bytes
    catalogue: rules.Catalogue
    entries: dict[tuple[str, str], dict[str, Any]]  # (catalogue, code) → fields, for categories and kinds
    today: date
    job_id: str
    stamp: str
    actor_id: str
    actor_role: str | None
    batch_rows: int = BATCH_ROWS
    event_items: int = EVENT_ITEMS  # deliveries per event (BATCH_ROWS holds a whole number of them)
    correlation_id: str | None = None  # the request's, for the events' envelopes
    traceparent: str | None = None


Ask = Callable[[str, list[str]], Any]  # ("households", commune codes) / ("transitions", household ids)
Emit = Callable[[Built], None]


class Preparer:
    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        self._errors: list[tuple[int, str, str]] = []
        self._communes: set[str] = set()
        self._households: dict[tuple[str, str | None], list[HouseholdRow]] = {}
        self._transitions: dict[str, list[Transition]] = {}
        self._asked: set[str] = set()  # households whose transitions are known
        self._served: dict[tuple[str, str | None], bool] = {}  # (programme, status): served by the status alone
        self._placed = 0
        # Rows placed and built at a time: the first batch is one event's worth, so that the service starts
        # storing at once, the next ones setup.batch_rows.
        self._batch_rows = setup.event_items
        self._builder = DeliveryBuilder(setup.job_id, setup.stamp, setup.actor_id, setup.actor_role, setup.entries,
                                        setup.event_items, setup.correlation_id, setup.traceparent)

    def run(self, ask: Ask, emit: Emit) -> None:
        """Reads the whole file, emitting its batches (the last one with `last` set, possibly empty)
        unless a row has a problem; Refused at the end if one had."""
        setup = self.setup
        try:
            lines = reader.rows(setup.data)
            try:
                header = next(lines)
            except StopIteration:
                raise Refused("The file is empty.") from None
            fields, problems = rules.header_fields(header)
            if problems:
                raise Refused("; ".join(problems), {"errors": [{"row": 1, "column": None, "reason": p}
                                                               for p in problems]})
            read = rules.RowReader(fields, setup.catalogue, setup.today, plain=not setup.data.startswith(
                reader.ZIP_MAGIC)).read
            errors = self._errors
            batch: list[rules.Row] = []
            for number, cells in enumerate(lines, start=2):
                row, problems_of_row = read(number, cells)
                if row is not None:
                    batch.append(row)
                    if len(batch) >= self._batch_rows:
                        self._place(batch, ask, emit)
                        batch = []
                elif any(c is not None and c != "" for c in cells):  # a blank row is no row
                    errors.extend(problems_of_row)
            self._place(batch, ask, emit)
        except reader.FileRejected as exc:
            raise Refused(str(exc)) from exc
        if errors:
            errors.sort()
            raise Refused(f"{len(errors)} problem(s) in the file; nothing was recorded.", {
                "error_count": len(errors),
                "errors": [{"row": r, "column": c, "reason": m} for r, c, m in errors[:rules.MAX_ERRORS_LISTED]]})
        if not self._placed:
            raise Refused("The file has no delivery rows.")
        emit(self._builder.take(last=True))

    def _place(self, batch: list[rules.Row], ask: Ask, emit: Emit) -> None:
        """Each row's household (in the caller's scope, not removed) and its eligibility; the batch built
        and emitted if no row so far had a problem."""
        if new := {r.commune_code for r in batch} - self._communes:
            for h in ask("households", sorted(new)):
                self._households.setdefault((h[1], h[2]), []).append(h)
            self._communes |= new
        errors, found, served = self._errors, self._households, self._served
        placed: list[tuple[rules.Delivery, HouseholdRow]] = []
        unserved: list[tuple[rules.Row, HouseholdRow]] = []  # their programme does not serve their status alone
        for row in batch:
            matches = found.get((row.commune_code, row.household_code))
            if matches is None or len(matches) != 1:
                reason = "no such household in your scope" if not matches else "the code names two households"
                errors.append((row.number, "Mã hộ", f"{row.commune_code}/{row.household_code}: {reason}"))
            elif matches[0][5]:
                errors.append((row.number, "Mã hộ", "the registry removed this household"))
            else:
                household = matches[0]
                delivery = row.delivery
                placed.append((delivery, household))
                key = (delivery.programme.code, household[4])
                if (by_status := served.get(key)) is None:
                    eligible = delivery.programme.eligible
                    by_status = served[key] = "all" in eligible or household[4] in eligible
                if not by_status:
                    unserved.append((row, household))
        if unserved:
            if doubtful := {household[0] for _, household in unserved} - self._asked:
                self._transitions.update(ask("transitions", sorted(doubtful)))
                self._asked |= doubtful
            for row, household in unserved:
                refusal = eligibility_refusal(row.delivery.programme, household[4],
                                              self._transitions.get(household[0], []), row.delivery.delivered_on)
                if refusal is not None:
                    errors.append((row.number, "Mã chương trình", refusal))
        self._placed += len(placed)
        if errors:
            return  # nothing more is built: the file will be refused
        add = self._builder.add
        for delivery, (household_id, _, _, unit_path, status, _) in placed:
            add(delivery, household_id, unit_path, status)
        if len(self._builder) >= self._batch_rows:
            emit(self._builder.take(last=False))  # whole events only: the rest waits for the next batch
            self._batch_rows = self.setup.batch_rows
