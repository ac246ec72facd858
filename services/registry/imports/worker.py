"""The import's worker process: it prepares batches (preparer.py) while the service stores them.

Reading, validating, classifying, encrypting and building a household's COPY lines is pure Python
work; in the service's own process it competed for the interpreter lock with the COPY it fed and
with every request the service answered. A process of its own per job (shared/workers.py) runs it
on the other core: the service only forwards finished bytes to the database. The worker needs no
database; it receives the job's setup (communes, the caller's scope, the personal-data cipher) over its pipe, sends the
file's header, then batch after batch, at most one ahead of the database (the pipe blocks it), and
ends after the last. It stops if the service goes away (its pipe breaks) and is killed if the job
is cancelled.
"""

from __future__ import annotations

from multiprocessing.connection import Connection

from services.registry.imports.preparer import BatchPreparer, Opened, PreparedBatch, PreparerSetup
from services.registry.imports.reader import FileRejected
from shared import workers
from shared.workers import WorkerFailed, receive, send

__all__ = ["PreparerProcess", "WorkerFailed", "receive", "send"]
_OPENED, _BATCH = "opened", "batch"
workers.preload(__name__)


class PreparerProcess:
    """The parent's side: start the worker, then await what it prepared, in order."""

    def __init__(self, setup: PreparerSetup) -> None:
        self._setup = setup
        self._worker = workers.WorkerProcess(serve, f"import-{setup.job_id}", passed=(FileRejected,),
                                             failure="The import's worker process")

    async def start(self) -> Opened:
        await self._worker.start()
        await self._worker.send(self._setup)
        opened = await self._worker.receive(_OPENED)
        assert isinstance(opened, Opened)
        return opened

    async def next_batch(self) -> PreparedBatch:
        batch = await self._worker.receive(_BATCH)
        assert isinstance(batch, PreparedBatch)
        if not batch.last:
            self._worker.prefetch()
        return batch

    async def stop(self) -> None:
        """Ends the worker (at once if it is still working: the job is over either way)."""
        await self._worker.stop()


def serve(conn: Connection) -> None:
    """The worker process: one job's setup in, its header and batches out."""
    preparer: BatchPreparer | None = None
    try:
        preparer = BatchPreparer(receive(conn))
        opened = preparer.open()
        send(conn, (_OPENED, opened))
        if opened.problems:
            return
        while True:
            batch = preparer.next_batch()
            send(conn, (_BATCH, batch))
            if batch.last:
                return
    finally:
        if preparer is not None:
            preparer.close()
