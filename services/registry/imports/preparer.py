"""An import file → batches ready for COPY: rows read, validated, placed in their commune (scope
checked), refused when they repeat a household code or citizen ID of the same batch, classified,
encrypted and built.

Needs no database: the communes arrive with the setup, and duplicates across batches or with
households already registered are the database's business (runner.py). Runs in the import's
worker process (worker.py), which therefore imports nothing of the web or database stack; the bench
and tests also run it in-process.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from uuid import UUID

from services.registry.classification.classifier import Standards
from services.registry.classification.standards import Standard
from services.registry.imports.build import RecordBuilder, Records
from services.registry.imports.places import Commune, CommunePlacer, Refusal
from services.registry.imports.reader import FileRejected, Sheet, open_sheet
from services.registry.imports.validation import HouseholdRow, RowError, RowValidator
from services.registry.personal_data import PersonalDataCipher


@dataclass(frozen=True)
class PreparerSetup:
    job_id: UUID
    file: Path
    actor_id: str  # the caller, as history and created_by name it
    actor_role: str | None
    scope_paths: tuple[str, ...]  # the caller's scope: a row outside it rejects the file
    hierarchy: str | None
    communes: dict[str, list[Commune]]  # every commune of both hierarchies, by code
    cipher: PersonalDataCipher
    batch_rows: int
    max_rows: int
    correlation_id: str | None
    checking: bool  # the batches will be looked up before COPY: carry their look-up keys
    standards: tuple[Standard, ...] = ()  # the service's poverty standards (loaded once at its start)
    today: date | None = None  # birth dates after it are refused (tests pin it)


@dataclass
class Opened:
    format: str  # csv | xlsx
    estimated_rows: int | None
    problems: list[RowError]  # of the header: the file is rejected and no batch follows


@dataclass
class PreparedBatch:
    records: Records
    errors: list[RowError]
    read: int  # data rows read, valid or not
    last: bool
    fatal: bool  # a row named a commune outside the caller's scope: the file is rejected


class BatchPreparer:
    def __init__(self, setup: PreparerSetup) -> None:
        self.setup = setup
        self._sheet: Sheet | None = None
        self._validator: RowValidator | None = None
        self._standards = Standards(setup.standards)
        self._placer = CommunePlacer(setup.communes, setup.scope_paths, setup.hierarchy)
        self._builder = RecordBuilder(setup.job_id, setup.actor_id, setup.actor_role, setup.cipher,
                                      setup.correlation_id, self._standards,
                                      with_keys=setup.checking)
        self._rows_read = 0

    def open(self) -> Opened:
        """Opens the file and maps its header; FileRejected when it cannot be read at all."""
        sheet, problems = open_sheet(self.setup.file)
        self._sheet = sheet
        if not problems:  # a header with problems reads no rows
            self._validator = RowValidator(sheet.index, sheet.width, self._standards.indicator_codes,
                                           self.setup.today)
        return Opened(sheet.format, sheet.estimated_rows, [RowError(p.row, p.column, p.reason) for p in problems])

    def close(self) -> None:
        if self._sheet is not None:
            self._sheet.close()

    def next_batch(self) -> PreparedBatch:
        """Up to `batch_rows` rows, built in index order (by commune path and household code: six of the
        eleven indexes the COPY maintains lead with the unit path)."""
        assert self._sheet is not None and self._validator is not None, "open() first"
        validator, place, hash_of = self._validator, self._placer.place, self.setup.cipher.hash
        placed: list[tuple[HouseholdRow, bytes, Commune]] = []
        errors: list[RowError] = []
        codes: dict[tuple[str, str], int] = {}
        citizens: dict[bytes, int] = {}
        limit, size = self.setup.max_rows, self.setup.batch_rows
        read, last, fatal = 0, True, False
        for number, cells in self._sheet.rows:
            read += 1
            if self._rows_read + read > limit:
                raise FileRejected(f"The file has more than {limit} household rows; split it into several files.",
                                   number)
            row = validator.check(number, cells)
            if isinstance(row, list):
                errors.extend(row)
            elif isinstance(commune := place(row.commune_code), Refusal):
                errors.append(RowError(number, "commune_code", commune.reason))
                fatal = fatal or commune.fatal
            elif (first := codes.get(key := (commune.path, row.household_code))) is not None:
                errors.append(RowError(number, "household_code", f"The household code {row.household_code} "
                                       f"appears twice in this file (rows {first} and {number})."))
            elif (first := citizens.get(digest := hash_of(row.head_citizen_id))) is not None:
                errors.append(RowError(number, "head_citizen_id", "The citizen ID appears twice in this file "
                                       f"(rows {first} and {number})."))
            else:
                codes[key] = citizens[digest] = number
                placed.append((row, digest, commune))
            if read >= size:
                last = False
                break
        self._rows_read += read
        placed.sort(key=lambda p: (p[2].path, p[0].household_code))
        return PreparedBatch(self._builder.build(placed), errors, read, last, fatal)
