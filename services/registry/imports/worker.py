"""The import's worker process: it prepares batches (preparer.py) while the service stores them.

Reading, validating, classifying, encrypting and building a household's COPY lines is pure Python
work; in the service's own process it competed for the interpreter lock with the COPY it fed and
with every request the service answered. A process of its own per job runs it on the other core: the
service only forwards finished bytes to the database. The worker needs no database; it receives the
job's setup (communes, the caller's scope, the personal-data cipher) over its pipe, sends the
file's header, then batch after batch, at most one ahead of the database (the pipe blocks it), and
ends after the last. It stops if the service goes away (its pipe breaks) and is killed if the job
is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import pickle
import traceback
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

from services.registry.imports.preparer import BatchPreparer, Opened, PreparedBatch, PreparerSetup
from services.registry.imports.reader import FileRejected

_OPENED, _BATCH, _REJECTED, _FAILED = "opened", "batch", "rejected", "failed"
# The forkserver starts once with the preparer imported; each job's worker is forked from it at once
# (a clean single-threaded parent, unlike the service's own process).
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload([__name__])


class WorkerFailed(RuntimeError):
    """The worker process died or failed; the message says how."""


class PreparerProcess:
    """The parent's side: start the worker, then await what it prepared, in order."""

    def __init__(self, setup: PreparerSetup) -> None:
        self._setup = setup
        self._conn: Connection | None = None
        self._process: Any = None
        # One thread receives (and unpickles) the next message while the event loop stores the last one.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"import-{setup.job_id}")
        self._next: asyncio.Future[Any] | None = None

    async def start(self) -> Opened:
        parent, child = _CONTEXT.Pipe(duplex=True)
        self._conn = parent
        self._process = _CONTEXT.Process(target=serve, args=(child,), name=f"import-{self._setup.job_id}", daemon=True)
        await asyncio.get_running_loop().run_in_executor(self._thread, self._process.start)
        child.close()
        await asyncio.get_running_loop().run_in_executor(self._thread, send, parent, self._setup)
        opened = await self._receive(_OPENED)
        assert isinstance(opened, Opened)
        return opened

    async def next_batch(self) -> PreparedBatch:
        batch = await self._receive(_BATCH)
        assert isinstance(batch, PreparedBatch)
        if not batch.last:
            self._prefetch()
        return batch

    def _prefetch(self) -> None:
        self._next = asyncio.get_running_loop().run_in_executor(self._thread, self._recv)

    def _recv(self) -> Any:
        assert self._conn is not None
        try:
            return receive(self._conn)
        except (EOFError, OSError) as exc:
            code = self._process.exitcode if self._process is not None else None
            raise WorkerFailed(f"The import's worker process ended unexpectedly (exit code {code}).") from exc

    async def _receive(self, expected: str) -> Any:
        future, self._next = self._next, None
        kind, *body = await (future or asyncio.get_running_loop().run_in_executor(self._thread, self._recv))
        if kind == _REJECTED:
            reason, row, column = body
            raise FileRejected(reason, row, column)
        if kind == _FAILED:
            raise WorkerFailed(body[0])
        if kind != expected:
            raise WorkerFailed(f"The import's worker process sent {kind!r} instead of {expected!r}.")
        return body[0]

    async def stop(self) -> None:
        """Ends the worker (at once if it is still working: the job is over either way)."""
        if self._next is not None:
            self._next.cancel()
        if self._process is not None and self._process.is_alive():
            self._process.kill()
        if self._conn is not None:
            self._conn.close()
        if self._process is not None and self._process.pid is not None:  # started (a cancelled start may not be)
            await asyncio.get_running_loop().run_in_executor(None, self._process.join, 10)
        self._thread.shutdown(wait=False, cancel_futures=True)


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
    except FileRejected as exc:
        _send(conn, (_REJECTED, exc.reason, exc.row, exc.column))
    except (BrokenPipeError, EOFError):
        return  # the service went away: nobody waits for this job any more
    except BaseException as exc:
        traceback.print_exc()
        _send(conn, (_FAILED, f"The import's worker process failed ({type(exc).__name__})."))
    finally:
        if preparer is not None:
            preparer.close()
        conn.close()


def _send(conn: Connection, message: tuple[Any, ...]) -> None:
    with contextlib.suppress(OSError):
        send(conn, message)


def send(conn: Connection, message: Any) -> None:
    """Pickled with its large buffers (a batch's COPY lines) out of band: each is written to the pipe as
    it is, not copied into the pickle first."""
    buffers: list[pickle.PickleBuffer] = []
    header = pickle.dumps(message, protocol=5, buffer_callback=buffers.append)
    conn.send((len(buffers), header))
    for buffer in buffers:
        conn.send_bytes(buffer.raw())


def receive(conn: Connection) -> Any:
    count, header = conn.recv()
    return pickle.loads(header, buffers=[conn.recv_bytes() for _ in range(count)])
