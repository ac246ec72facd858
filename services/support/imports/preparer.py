"""A delivery import file → its rows read and checked → placed in their households → COPY lines and
event items (build.py). Needs no database: the service answers its two questions (the households of
the file's communes in the caller's scope; the transitions of households whose status a programme
does not serve by itself), so it runs in the import's worker process (worker.py).

Steps, in order: `read()` (the communes named), `place(households)` (the households whose
transitions are needed), `check(transitions)`, then `batches()` (everything to store). A refused file
raises `Refused` at the first step that can tell: with every problem of every row, as the 422 lists
them; nothing is built before every row passed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.support.catalogue.rules import Transition, eligibility_refusal
from services.support.imports import reader, rules
from services.support.imports.build import EVENT_ITEMS, Built, DeliveryBuilder

BATCH_ROWS = 20 * EVENT_ITEMS  # a whole number of events
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
    batch_rows: int = BATCH_ROWS  # a multiple of EVENT_ITEMS, or a batch's events start afresh


class Preparer:
    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        self._rows: list[rules.Row] = []
        self._errors: list[tuple[int, str, str]] = []
        self._placed: list[tuple[rules.Row, HouseholdRow]] = []

    def read(self) -> set[str]:
        """Reads and checks every row; the communes the good rows name."""
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
            row_reader = rules.RowReader(fields, setup.catalogue, setup.today)
            read, good, errors = row_reader.read, self._rows, self._errors
            for number, cells in enumerate(lines, start=2):
                if not any(c is not None and c != "" for c in cells):
                    continue
                row, problems_of_row = read(number, cells)
                if row is not None:
                    good.append(row)
                else:
                    errors.extend(problems_of_row)
        except reader.FileRejected as exc:
            raise Refused(str(exc)) from exc
        return {r.commune_code for r in self._rows}

    def place(self, households: list[HouseholdRow]) -> list[str]:
        """Each row's household (in the caller's scope, not removed); the ids of households whose status
        the row's programme does not serve by itself (their transitions decide)."""
        found: dict[tuple[str, str | None], list[HouseholdRow]] = {}
        for h in households:
            found.setdefault((h[1], h[2]), []).append(h)
        errors, placed = self._errors, self._placed
        doubtful: set[str] = set()
        for row in self._rows:
            matches = found.get((row.commune_code, row.household_code), [])
            if len(matches) != 1:
                reason = "no such household in your scope" if not matches else "the code names two households"
                errors.append((row.number, "Mã hộ", f"{row.commune_code}/{row.household_code}: {reason}"))
            elif matches[0][5]:
                errors.append((row.number, "Mã hộ", "the registry removed this household"))
            else:
                household = matches[0]
                placed.append((row, household))
                eligible = row.delivery.programme.eligible
                if "all" not in eligible and household[4] not in eligible:
                    doubtful.add(household[0])
        return sorted(doubtful)

    def check(self, transitions: Mapping[str, list[Transition]]) -> None:
        """Refuses the file if any row has a problem (eligibility included)."""
        errors = self._errors
        for row, household in self._placed:
            programme = row.delivery.programme
            if "all" not in programme.eligible and household[4] not in programme.eligible:
                refusal = eligibility_refusal(programme, household[4], transitions.get(household[0], []),
                                              row.delivery.delivered_on)
                if refusal is not None:
                    errors.append((row.number, "Mã chương trình", refusal))
        if errors:
            errors.sort()
            raise Refused(f"{len(errors)} problem(s) in the file; nothing was recorded.", {
                "error_count": len(errors),
                "errors": [{"row": r, "column": c, "reason": m} for r, c, m in errors[:rules.MAX_ERRORS_LISTED]]})
        if not self._placed:
            raise Refused("The file has no delivery rows.")

    def batches(self) -> Iterator[Built]:
        """The checked rows' COPY lines and event items, `batch_rows` at a time (the service stores one
        while the next is built)."""
        setup = self.setup
        builder = DeliveryBuilder(setup.job_id, setup.stamp, setup.actor_id, setup.actor_role, setup.entries)
        add, placed, size = builder.add, self._placed, setup.batch_rows
        for start in range(0, len(placed), size):
            for row, (household_id, _, _, unit_path, status, _) in placed[start:start + size]:
                add(row.delivery, household_id, unit_path, status)
            yield builder.take(last=start + size >= len(placed))
