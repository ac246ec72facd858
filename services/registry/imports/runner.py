"""An import job from the spooled file to the committed households, batch by batch.

Per batch, in a worker thread: read and validate rows, place them in their commune (scope checked),
refuse duplicates inside the batch, classify, encrypt, build the COPY records. Then on the job's
connection: COPY into households, members, assessments and history, write an event every
`event_items` households, and report progress. The worker prepares the next batch while the
database stores the current one. Everything is stored in ONE transaction: a rejected file commits
nothing; its errors and state are written on the progress connection, which does not roll back.

Duplicates across batches and households or citizens already registered are refused by the unique
indexes. The first pass is optimistic and looks nothing up (a clean file pays no look-ups); if an
index refuses a row, the pass rolls back and the file is read again with look-ups before each COPY
(this transaction included, so earlier batches of the same file count), which name every such row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg

from services.registry.classification.classifier import indicator_codes
from services.registry.imports import storage
from services.registry.imports.build import EventBatcher, RecordBuilder, Records
from services.registry.imports.models import COMPLETED, FAILED, REJECTED
from services.registry.imports.progress import Progress
from services.registry.imports.reader import FileRejected, Sheet, open_sheet
from services.registry.imports.settings import ImportSettings
from services.registry.imports.storage import Commune
from services.registry.imports.validation import HouseholdRow, RowError, RowValidator
from services.registry.personal_data import PersonalDataCipher
from shared.principal import Principal
from shared.scope import path_in_any

log = logging.getLogger(__name__)
LOCK_RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class JobSpec:
    job_id: UUID
    file: Path
    keep_valid: bool
    hierarchy: str | None
    principal: Principal
    correlation_id: str | None = None


@dataclass
class Batch:
    """A batch read, validated and built by the worker thread; the database checks come next."""

    records: Records
    hashes: list[bytes]  # citizen-ID hashes, aligned with records.rows
    errors: list[RowError]
    read: int  # data rows read, valid or not
    last: bool


@dataclass
class Outcome:
    rows_read: int = 0
    rows_stored: int = 0
    rows_rejected: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    fatal: bool = False  # a reason that rejects the file whatever keep_valid says (a foreign commune)


class _Recheck(Exception):
    """The optimistic pass met a duplicate: the file is read again with look-ups."""


@dataclass(frozen=True)
class Refusal:
    """Why rows naming a commune code cannot be stored."""

    reason: str
    fatal: bool = False


class ImportJobRunner:
    def __init__(self, spec: JobSpec, dsn: str, settings: ImportSettings, cipher: PersonalDataCipher) -> None:
        self.spec = spec
        self.dsn = dsn
        self.settings = settings
        self.cipher = cipher
        self.outcome = Outcome()
        self._communes: dict[str, Commune | Refusal] = {}  # commune code → unit, or why not
        self._paths: set[str] = set()  # communes stored into (for the job's unit path)
        self._units: dict[str, list[Commune]] = {}  # every commune by code, read at the start
        # One thread of its own: batches are prepared in order, and one thread keeps one malloc arena.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"import-{spec.job_id}")
        self._transaction: Any = None

    # --- the job

    async def run(self) -> str:
        progress_conn = await asyncpg.connect(self.dsn)
        main = await asyncpg.connect(self.dsn)
        progress = Progress(progress_conn, self.spec.job_id)
        try:
            try:
                return await self._attempt(main, progress, checking=False)
            except _Recheck:
                # A unique index refused a row: start again, looking up every batch to say which rows.
                await progress.reset()
                self.outcome, self._paths = Outcome(), set()
                return await self._attempt(main, progress, checking=True)
        except asyncpg.UniqueViolationError:
            # Someone registered one of the file's households or citizens between our look-up and COPY.
            await _rollback(self._transaction)
            await progress.errors([RowError(None, None, "A household code or citizen ID of this file was registered "
                                            "by someone else while the import ran; nothing was stored. Upload "
                                            "the file again to see which.")])
            await progress.finished(REJECTED, rows_total=self.outcome.rows_read, rows_done=self.outcome.rows_read)
            return REJECTED
        except FileRejected as exc:
            await _rollback(self._transaction)
            await progress.errors([RowError(exc.row, exc.column, exc.reason)])
            await progress.finished(REJECTED, rows_total=self.outcome.rows_read, rows_done=self.outcome.rows_read)
            return REJECTED
        except asyncio.CancelledError:
            await _rollback(self._transaction)
            with contextlib.suppress(Exception):
                await asyncio.shield(progress.finished(
                    FAILED, rows_total=self.outcome.rows_read, rows_done=self.outcome.rows_read,
                    failure="The service stopped while the import ran; nothing was stored. Upload the file again."))
            raise
        except Exception as exc:
            log.exception("import job failed", extra={"job_id": str(self.spec.job_id)})
            await _rollback(self._transaction)
            with contextlib.suppress(Exception):
                await progress.finished(FAILED, rows_total=self.outcome.rows_read, rows_done=self.outcome.rows_read,
                                        failure=f"Internal error ({type(exc).__name__}); nothing was stored.")
            return FAILED
        finally:
            self._worker.shutdown(wait=False, cancel_futures=True)
            for conn in (main, progress_conn):
                with contextlib.suppress(Exception):
                    await conn.close()

    async def _attempt(self, main: asyncpg.Connection, progress: Progress, checking: bool) -> str:
        """One pass over the file in one transaction. Optimistic (`checking` false): no look-ups, the
        unique indexes refuse a duplicate and the pass ends with _Recheck; checking: look-ups per batch."""
        sheet, header_problems = await asyncio.to_thread(open_sheet, self.spec.file)
        try:
            if header_problems:
                await progress.started(sheet.format, 0)
                await progress.errors([RowError(p.row, p.column, p.reason) for p in header_problems])
                await progress.finished(REJECTED, rows_total=0, rows_done=0)
                return REJECTED
            self._transaction = main.transaction()
            await self._transaction.start()
            await self._lock(main, progress)
            await progress.started(sheet.format, sheet.estimated_rows)
            try:
                await self._batches(main, progress, sheet, checking)
            except asyncpg.UniqueViolationError:
                if checking:
                    raise
                await _rollback(self._transaction)
                raise _Recheck from None
        finally:
            sheet.close()
        return await self._finish(main, self._transaction, progress)

    async def _lock(self, main: asyncpg.Connection, progress: Progress) -> None:
        """Waits (still `pending`) while another import holds the tables."""
        while not await storage.lock_tables(main):
            await progress.heartbeat()
            await asyncio.sleep(LOCK_RETRY_SECONDS)

    async def _finish(self, main: asyncpg.Connection, transaction: Any, progress: Progress) -> str:
        out = self.outcome
        total = out.rows_read
        rejected_rows = out.rows_rejected
        if total == 0:
            await _rollback(transaction)
            await progress.errors([RowError(None, None, "The file has a header but no household rows.")])
            await progress.finished(REJECTED, rows_total=0, rows_done=0)
            return REJECTED
        if out.fatal or progress.errors_total and (not self.spec.keep_valid or out.rows_stored == 0):
            await _rollback(transaction)
            await progress.finished(REJECTED, rows_total=total, rows_done=total, rows_rejected=rejected_rows,
                                    unit_path=self._narrowed_path())
            return REJECTED
        await progress.finished(COMPLETED, rows_total=total, rows_done=total, rows_stored=out.rows_stored,
                                rows_rejected=rejected_rows, counts=dict(out.counts),
                                unit_path=self._narrowed_path(), conn=main)
        await transaction.commit()
        return COMPLETED

    # --- batches

    async def _batches(self, main: asyncpg.Connection, progress: Progress, sheet: Sheet, checking: bool) -> None:
        self._units = await storage.communes(main)
        validator = RowValidator(sheet.index, sheet.width, indicator_codes)
        builder = RecordBuilder(self.spec.job_id, self.spec.principal, self.cipher, self.spec.correlation_id)
        batcher = EventBatcher(self.spec.job_id, self.settings.event_items)
        out = self.outcome
        total, done = sheet.estimated_rows, 0

        def prepare() -> asyncio.Task[Batch]:
            loop = asyncio.get_running_loop()
            return asyncio.ensure_future(loop.run_in_executor(self._worker, self._prepare, sheet.rows, validator,
                                                              builder))

        preparing = prepare()
        try:
            while True:
                batch = await preparing
                if not batch.last:  # the worker prepares the next batch while the database stores this one
                    preparing = prepare()
                errors = batch.errors
                records = batch.records
                if checking:
                    records.drop(await self._registered(main, records, batch.hashes, errors))
                await storage.copy_batch(main, records.households, records.members, records.assessments,
                                         records.history)
                await storage.write_events(main, batcher.add(records.items))
                out.rows_stored += len(records.rows)
                out.counts.update(records.statuses())
                self._paths.update(records.paths())
                out.rows_rejected += len({e.row for e in errors if e.row is not None})
                done += batch.read
                errors.sort(key=lambda e: (e.row or 0))
                await progress.advance(done, total, errors)
                if batch.last:
                    break
        finally:
            # A batch being prepared finishes first (the thread cannot be stopped midway, and it counts rows).
            with contextlib.suppress(BaseException):
                await preparing
        await storage.write_events(main, batcher.rest())

    def _prepare(self, rows: Iterator[tuple[int, list[Any]]], validator: RowValidator,
                 builder: RecordBuilder) -> Batch:
        """Worker thread: up to `batch_rows` rows read, validated, placed in their commune and built;
        duplicates inside the batch refused (across batches the database look-ups find them)."""
        placed: list[tuple[HouseholdRow, bytes, Commune]] = []
        errors: list[RowError] = []
        codes: dict[tuple[str, str], int] = {}
        citizens: dict[bytes, int] = {}
        limit, size = self.settings.max_rows, self.settings.batch_rows
        hash_of = self.cipher.hash
        read = 0
        last = True
        for number, cells in rows:
            read += 1
            if self.outcome.rows_read + read > limit:
                raise FileRejected(f"The file has more than {limit} household rows; split it into several files.",
                                   number)
            row = validator.check(number, cells)
            if isinstance(row, list):
                errors.extend(row)
            elif isinstance(commune := self._commune(row.commune_code), Refusal):
                errors.append(RowError(number, "commune_code", commune.reason))
                self.outcome.fatal = self.outcome.fatal or commune.fatal
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
        self.outcome.rows_read += read
        # In index order: six of the eleven indexes the COPY maintains lead with the unit path.
        placed.sort(key=lambda p: (p[2].path, p[0].household_code))
        return Batch(builder.build(placed), [p[1] for p in placed], errors, read, last)

    async def _registered(self, conn: asyncpg.Connection, records: Records, hashes: list[bytes],
                          errors: list[RowError]) -> list[int]:
        """Positions of rows whose household code or citizen ID is already registered — by someone else,
        or by an earlier batch of this file (rows this transaction wrote)."""
        keys = [(h[1], h[3]) for h in records.households]  # (unit path, household code)
        codes = await storage.existing_codes(conn, keys)
        citizens = await storage.existing_citizens(conn, hashes)
        for i in sorted(codes.keys() | citizens.keys()):
            row = records.rows[i]
            if i in codes:
                errors.append(RowError(row.row, "household_code", (
                    f"The household code {row.household_code} appears earlier in this file." if codes[i] else
                    f"The household code {row.household_code} is already registered in commune "
                    f"{row.commune_code}.")))
            else:
                errors.append(RowError(row.row, "head_citizen_id", _citizen_reason(citizens[i])))
        return sorted(codes.keys() | citizens.keys())

    def _commune(self, code: str) -> Commune | Refusal:
        known = self._communes.get(code)
        if known is None:
            known = self._communes[code] = self._resolve(code, self._units.get(code, []))
        return known

    def _resolve(self, code: str, candidates: list[Commune]) -> Commune | Refusal:
        scopes = self.spec.principal.scope_paths
        if self.spec.hierarchy:
            candidates = [c for c in candidates if c.hierarchy == self.spec.hierarchy]
        if not candidates:
            where = f" in hierarchy {self.spec.hierarchy}" if self.spec.hierarchy else ""
            return Refusal(f"No commune has the code {code}{where}.")
        inside = [c for c in candidates if path_in_any(c.path, scopes)]
        if not inside:
            # A foreign commune rejects the whole file, keep_valid or not: nothing is stored outside scope.
            return Refusal(f"Commune {code} ({candidates[0].name}) is outside your scope.", fatal=True)
        if len(inside) > 1:
            return Refusal(f"The code {code} names a commune in each hierarchy "
                           f"({', '.join(c.name for c in inside)}); send hierarchy=v2008 or hierarchy=v2025.")
        return inside[0]

    def _narrowed_path(self) -> str | None:
        """The lowest unit holding every commune stored into, when it lies in the caller's scope."""
        if not self._paths:
            return None
        parts = [p.split(".") for p in self._paths]
        common: list[str] = []
        for segment in zip(*parts, strict=False):
            if len(set(segment)) != 1:
                break
            common.append(segment[0])
        path = ".".join(common)
        return path if len(common) > 1 and path_in_any(path, self.spec.principal.scope_paths) else None


def _citizen_reason(citizen: storage.ExistingCitizen) -> str:
    if citizen.in_this_file:
        return f"The citizen ID appears earlier in this file (household {citizen.household_code})."
    name = f" ({citizen.commune_name})" if citizen.commune_name else ""
    return (f"The citizen ID is already registered in a household of commune {citizen.commune_code}{name}; "
            "it was not merged.")


async def _rollback(transaction: Any) -> None:
    if transaction is None:
        return
    with contextlib.suppress(Exception):
        await transaction.rollback()
