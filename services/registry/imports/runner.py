"""An import job from the spooled file to the committed households, batch by batch.

Per batch, in the job's worker process (worker.py, preparer.py): read and validate rows, place them
in their commune (scope checked), refuse duplicates inside the batch, classify, encrypt, build the
COPY lines. Then here, on the job's connection: COPY into households, members, assessments and
history, write an event every `event_items` households, and report progress. The worker prepares
the next batch while the database stores the current one. Everything is stored in ONE transaction:
a rejected file commits nothing; its errors and state are written on the progress connection, which
does not roll back.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg

from services.registry.classification.classifier import Standards
from services.registry.imports import storage
from services.registry.imports.batch_events import EventBatcher
from services.registry.imports.build import Records
from services.registry.imports.models import COMPLETED, FAILED, REJECTED
from services.registry.imports.preparer import PreparerSetup
from services.registry.imports.progress import SERVER_SETTINGS, Progress, record_failure
from services.registry.imports.reader import FileRejected
from services.registry.imports.settings import ImportSettings
from services.registry.imports.validation import RowError
from services.registry.imports.worker import PreparerProcess, WorkerFailed
from services.registry.personal_data import PersonalDataCipher
from shared.principal import Principal
from shared.scope import path_in_any

log = logging.getLogger(__name__)
LOCK_RETRY_SECONDS = 1.0
CONNECTION_LOST = ("The database connection was lost while the import ran; nothing was stored. "
                   "Upload the file again.")
# The database went away under the job (a restart, a failover, the network): not a fault of the file.
CONNECTION_ERRORS = (OSError, asyncpg.PostgresConnectionError, asyncpg.exceptions.AdminShutdownError,
                     asyncpg.exceptions.CrashShutdownError, asyncpg.exceptions.CannotConnectNowError)


@dataclass(frozen=True)
class JobSpec:
    job_id: UUID
    file: Path
    keep_valid: bool
    hierarchy: str | None
    principal: Principal
    correlation_id: str | None = None


@dataclass
class Outcome:
    rows_read: int = 0
    rows_stored: int = 0
    rows_rejected: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    fatal: bool = False  # a reason that rejects the file whatever keep_valid says (a foreign commune)


class _Recheck(Exception):
    """The optimistic pass met a duplicate: the file is read again with look-ups."""


class ImportJobRunner:
    def __init__(self, spec: JobSpec, dsn: str, settings: ImportSettings, cipher: PersonalDataCipher,
                 standards: Standards) -> None:
        self.spec = spec
        self.standards = standards
        self.dsn = dsn
        self.settings = settings
        self.cipher = cipher
        self.outcome = Outcome()
        self._paths: set[str] = set()  # communes stored into (for the job's unit path)
        self._transaction: Any = None

    # --- the job

    async def run(self) -> str:
        progress_conn = await asyncpg.connect(self.dsn, server_settings=SERVER_SETTINGS)
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
            return await self._reject(progress, RowError(None, None, (
                "A household code or citizen ID of this file was registered by someone else while the import "
                "ran; nothing was stored. Upload the file again to see which.")))
        except FileRejected as exc:
            return await self._reject(progress, RowError(exc.row, exc.column, exc.reason))
        except asyncio.CancelledError:
            await asyncio.shield(self._fail(progress, "The service stopped while the import ran; nothing was stored. "
                                                      "Upload the file again.", retry=False))
            raise
        except WorkerFailed as exc:
            log.error("import job failed: %s", exc, extra={"job_id": str(self.spec.job_id)})
            return await self._fail(progress, f"{exc} Nothing was stored; upload the file again.")
        except Exception as exc:
            # A closed connection (asyncpg's InterfaceError "connection is closed" after a kill) counts too.
            if isinstance(exc, CONNECTION_ERRORS) or main.is_closed() or progress_conn.is_closed():
                log.warning("import job lost its database connection: %s", type(exc).__name__,
                            extra={"job_id": str(self.spec.job_id)})
                return await self._fail(progress, CONNECTION_LOST)
            log.exception("import job failed", extra={"job_id": str(self.spec.job_id)})
            return await self._fail(progress, f"Internal error ({type(exc).__name__}); nothing was stored.")
        finally:
            for conn in (main, progress_conn):
                with contextlib.suppress(Exception):
                    await conn.close()

    async def _reject(self, progress: Progress, error: RowError) -> str:
        await _rollback(self._transaction)
        await progress.errors([error])
        await progress.finished(REJECTED, rows_total=self.outcome.rows_read, rows_done=self.outcome.rows_read)
        return REJECTED

    async def _fail(self, progress: Progress, failure: str, retry: bool = True) -> str:
        """Records the failure at once: on the progress connection, else (the database may be what failed)
        on new connections as soon as the database answers again (unless `retry` is off: shutting down)."""
        await _rollback(self._transaction)
        try:
            await progress.finished(FAILED, rows_total=self.outcome.rows_read, rows_done=self.outcome.rows_read,
                                    failure=failure)
        except Exception:
            if retry:
                await record_failure(self.dsn, self.spec.job_id, failure, self.settings.stale_after_seconds)
        return FAILED

    async def _attempt(self, main: asyncpg.Connection, progress: Progress, checking: bool) -> str:
        """One pass over the file in one transaction. Optimistic (`checking` false): no look-ups, the
        unique indexes refuse a duplicate and the pass ends with _Recheck; checking: look-ups per batch."""
        principal = self.spec.principal
        worker = PreparerProcess(PreparerSetup(
            job_id=self.spec.job_id, file=self.spec.file, actor_id=principal.id, actor_role=principal.role,
            scope_paths=tuple(principal.scope_paths), hierarchy=self.spec.hierarchy,
            communes=await storage.communes(main), cipher=self.cipher, batch_rows=self.settings.batch_rows,
            max_rows=self.settings.max_rows, correlation_id=self.spec.correlation_id, checking=checking,
            standards=self.standards.all))
        try:
            opened = await worker.start()
            if opened.problems:
                await progress.started(opened.format, 0)
                await progress.errors(opened.problems)
                await progress.finished(REJECTED, rows_total=0, rows_done=0)
                return REJECTED
            self._transaction = main.transaction()
            await self._transaction.start()
            await self._lock(main, progress)
            await progress.started(opened.format, opened.estimated_rows)
            try:
                await self._batches(main, progress, worker, opened.estimated_rows, checking)
            except asyncpg.UniqueViolationError:
                if checking:
                    raise
                await _rollback(self._transaction)
                raise _Recheck from None
        finally:
            await worker.stop()
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

    async def _batches(self, main: asyncpg.Connection, progress: Progress, worker: PreparerProcess,
                       total: int | None, checking: bool) -> None:
        batcher = EventBatcher(self.spec.job_id, self.settings.event_items)
        out = self.outcome
        done = 0
        while True:
            batch = await worker.next_batch()  # the worker prepares the next batch while the database stores this one
            errors, records = batch.errors, batch.records
            out.rows_read += batch.read
            out.fatal = out.fatal or batch.fatal
            if checking:
                records.drop(await self._registered(main, records, errors))
            await storage.copy_batch(main, records)
            await storage.write_events(main, batcher.add(records.items, records.paths))
            out.rows_stored += len(records)
            out.counts.update(records.counts())
            self._paths.update(records.paths)
            out.rows_rejected += len({e.row for e in errors if e.row is not None})
            done += batch.read
            errors.sort(key=lambda e: (e.row or 0))
            await progress.advance(done, total, errors)
            if batch.last:
                break
        await storage.write_events(main, batcher.rest())

    async def _registered(self, conn: asyncpg.Connection, records: Records, errors: list[RowError]) -> list[int]:
        """Positions of rows whose household code or citizen ID is already registered — by someone else,
        or by an earlier batch of this file (rows this transaction wrote)."""
        keys = records.keys
        places = [(path, k.household_code) for path, k in zip(records.paths, keys, strict=True)]
        codes = await storage.existing_codes(conn, places)
        citizens = await storage.existing_citizens(conn, [k.citizen_hash for k in keys])
        for i in sorted(codes.keys() | citizens.keys()):
            row = keys[i]
            if i in codes:
                errors.append(RowError(row.row, "household_code", (
                    f"The household code {row.household_code} appears earlier in this file." if codes[i] else
                    f"The household code {row.household_code} is already registered in commune "
                    f"{row.commune_code}.")))
            else:
                errors.append(RowError(row.row, "head_citizen_id",
                                       _citizen_reason(citizens[i], self.spec.principal.scope_paths)))
        return sorted(codes.keys() | citizens.keys())

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


def _citizen_reason(citizen: storage.ExistingCitizen, scope_paths: list[str]) -> str:
    """Where the citizen is registered, named only to a caller whose scope holds that commune: to
    anyone else the ID says no more than "registered elsewhere" (no unit, no household, no person)."""
    if citizen.in_this_file:
        return f"The citizen ID appears earlier in this file (household {citizen.household_code})."
    if not path_in_any(citizen.unit_path, scope_paths):
        return ("The citizen ID is already registered in another unit; it was not merged. Ask the province "
                "to resolve it.")
    name = f" ({citizen.commune_name})" if citizen.commune_name else ""
    return (f"The citizen ID is already registered in a household of commune {citizen.commune_code}{name}; "
            "it was not merged.")


async def _rollback(transaction: Any) -> None:
    if transaction is None:
        return
    with contextlib.suppress(Exception):
        await transaction.rollback()
