"""The import's worker process (shared/workers.py): the preparer's steps (preparer.py) in a process of
its own, so that reading, checking and building 200,000 rows runs on the other core, the service's
event loop only answering the worker's look-ups and forwarding finished batches to COPY. The worker
needs no database. It ends after the last batch, stops if the service goes away (its pipe breaks)
and is killed if the request ends first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from multiprocessing.connection import Connection

from services.support.catalogue.rules import Transition
from services.support.imports.build import Built
from services.support.imports.preparer import HouseholdRow, Preparer, Refused, Setup
from shared import workers
from shared.workers import receive, send

_READ, _PLACED, _BATCH = "read", "placed", "batch"
workers.preload(__name__)


class PreparerProcess:
    """The service's side, step by step (the same steps as preparer.Preparer)."""

    def __init__(self, setup: Setup) -> None:
        self._setup = setup
        self._worker = workers.WorkerProcess(serve, f"support-import-{setup.job_id}", passed=(Refused,),
                                             failure="The import's worker process")

    async def read(self) -> set[str]:
        await self._worker.start()
        await self._worker.send(self._setup)
        communes = await self._worker.receive(_READ)
        assert isinstance(communes, set)
        return communes

    async def place(self, households: list[HouseholdRow]) -> list[str]:
        await self._worker.send(households)
        doubtful = await self._worker.receive(_PLACED)
        assert isinstance(doubtful, list)
        return doubtful

    async def batches(self, transitions: Mapping[str, list[Transition]]) -> AsyncIterator[Built]:
        """Checks every row (Refused), then yields the batches; the next one is received meanwhile."""
        await self._worker.send(dict(transitions))
        while True:
            batch = await self._worker.receive(_BATCH)
            assert isinstance(batch, Built)
            if not batch.last:
                self._worker.prefetch()
            yield batch
            if batch.last:
                return

    async def stop(self) -> None:
        await self._worker.stop()


def serve(conn: Connection) -> None:
    """The worker process: the setup in, the communes out; households in, doubtful ones out;
    transitions in, batches out."""
    preparer = Preparer(receive(conn))
    send(conn, (_READ, preparer.read()))
    send(conn, (_PLACED, preparer.place(receive(conn))))
    preparer.check(receive(conn))
    for batch in preparer.batches():
        send(conn, (_BATCH, batch))
