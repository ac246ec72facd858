"""The import's worker process (shared/workers.py): the preparer (preparer.py) in a process of its own,
so that reading, checking and building 200,000 rows runs on the other core while the service's event
loop answers the worker's look-ups and stores the batches it sends. The worker needs no database.
It ends after the last batch (or with the file's refusal), stops if the service goes away (its pipe
breaks) and is killed if the request ends first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from multiprocessing.connection import Connection
from typing import Any

from services.support.imports.build import Built
from services.support.imports.preparer import Preparer, Refused, Setup
from shared import workers
from shared.workers import receive, send

BATCH = "batch"  # the other messages are the preparer's questions: ("households" | "transitions", keys)
workers.preload(__name__)


class PreparerProcess:
    """The service's side: start the worker, then answer its questions and take its batches, in order."""

    def __init__(self, setup: Setup) -> None:
        self._setup = setup
        self._worker = workers.WorkerProcess(serve, f"support-import-{setup.job_id}", passed=(Refused,),
                                             failure="The import's worker process")

    async def start(self) -> None:
        await self._worker.start()
        await self._worker.send(self._setup)

    async def messages(self) -> AsyncIterator[tuple[str, Any]]:
        """(question, keys) to `answer`, or (BATCH, a Built) — the next message is received meanwhile —
        until the last batch. Refused when the file is refused."""
        while True:
            kind, body = await self._worker.message()
            last = kind == BATCH and isinstance(body, Built) and body.last
            if kind == BATCH and not last:
                self._worker.prefetch()
            yield kind, body
            if last:
                return

    async def answer(self, value: Any) -> None:
        await self._worker.send(value)

    async def stop(self) -> None:
        await self._worker.stop()


def serve(conn: Connection) -> None:
    """The worker process: the setup in; questions and batches out, answers in."""
    preparer = Preparer(receive(conn))

    def ask(question: str, keys: list[str]) -> Any:
        send(conn, (question, keys))
        return receive(conn)

    preparer.run(ask, lambda built: send(conn, (BATCH, built)))
