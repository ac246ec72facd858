"""A job's worker process: pure per-row work (reading an import file, checking, building COPY lines)
in a process of its own, so that it runs on another core than the service's event loop, which only
forwards finished bytes to the database and goes on answering requests.

Workers are forked from one forkserver per service process (a clean single-threaded parent, unlike
the service's own process), which starts once with the job modules imported (`preload`). The parent
and the worker talk over a duplex pipe in messages `(kind, *body)`; a large buffer (COPY lines)
travels out of band, written to the pipe as it is. The worker function gets its end of the pipe;
an exception of one of the `passed` types is re-raised in the parent as it is (a refused file), any
other fails the job (`WorkerFailed`), and so does a worker that dies. The worker stops when the
service goes away (its pipe breaks) and is killed when the parent stops it.

Used by the registry's and the support service's imports.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import pickle
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

_FAILED, _RAISED = "failed", "raised"
_CONTEXT = multiprocessing.get_context("forkserver")
_PRELOADED: list[str] = [__name__]
_CONTEXT.set_forkserver_preload(_PRELOADED)


def preload(module: str) -> None:
    """Imports `module` in the forkserver when it starts (the job modules, so that forking is all a job costs)."""
    if module not in _PRELOADED:
        _PRELOADED.append(module)
        _CONTEXT.set_forkserver_preload(_PRELOADED)


class WorkerFailed(RuntimeError):
    """The worker process died or failed; the message says how."""


Job = Callable[[Connection], None]


class WorkerProcess:
    """The parent's side: start the worker, send it messages, await what it sends, in order."""

    def __init__(self, job: Job, name: str, passed: tuple[type[BaseException], ...] = (),
                 failure: str = "The worker process") -> None:
        self._job, self._name, self._passed, self._failure = job, name, passed, failure
        self._conn: Connection | None = None
        self._process: Any = None
        # One thread receives (and unpickles) the next message while the event loop does the rest.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._next: asyncio.Future[Any] | None = None

    async def start(self) -> None:
        parent, child = _CONTEXT.Pipe(duplex=True)
        self._conn = parent
        self._process = _CONTEXT.Process(target=_serve, args=(child, self._job, self._passed, self._failure),
                                         name=self._name, daemon=True)
        await asyncio.get_running_loop().run_in_executor(self._thread, self._process.start)
        child.close()

    async def send(self, message: Any) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self._send, message)

    def _send(self, message: Any) -> None:
        assert self._conn is not None, "start() first"
        try:
            send(self._conn, message)
        except OSError as exc:  # a broken pipe: the worker is gone
            raise WorkerFailed(f"{self._failure} ended unexpectedly (exit code {self._exitcode()}).") from exc

    def _exitcode(self) -> int | None:
        if self._process is None:
            return None
        self._process.join(1)  # it is dying: its exit code is on its way
        return self._process.exitcode

    def prefetch(self) -> None:
        """Starts receiving the next message now (the next `receive` returns it)."""
        self._next = asyncio.get_running_loop().run_in_executor(self._thread, self._recv)

    async def receive(self, expected: str) -> Any:
        """The body of the next message, which must be of kind `expected` (one value: that value)."""
        future, self._next = self._next, None
        kind, *body = await (future or asyncio.get_running_loop().run_in_executor(self._thread, self._recv))
        if kind == _RAISED:
            raise body[0]
        if kind == _FAILED:
            raise WorkerFailed(body[0])
        if kind != expected:
            raise WorkerFailed(f"{self._failure} sent {kind!r} instead of {expected!r}.")
        return body[0] if len(body) == 1 else tuple(body)

    def _recv(self) -> Any:
        assert self._conn is not None
        try:
            return receive(self._conn)
        except (EOFError, OSError) as exc:
            raise WorkerFailed(f"{self._failure} ended unexpectedly (exit code {self._exitcode()}).") from exc

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


def _serve(conn: Connection, job: Job, passed: tuple[type[BaseException], ...], failure: str) -> None:
    """The worker process: runs `job` on its end of the pipe."""
    try:
        job(conn)
    except (BrokenPipeError, EOFError):
        return  # the service went away: nobody waits for this job any more
    except passed as exc:
        _send(conn, (_RAISED, exc))
    except BaseException as exc:
        traceback.print_exc()
        _send(conn, (_FAILED, f"{failure} failed ({type(exc).__name__})."))
    finally:
        conn.close()


def _send(conn: Connection, message: tuple[Any, ...]) -> None:
    with contextlib.suppress(OSError):
        send(conn, message)


def send(conn: Connection, message: Any) -> None:
    """Pickled with its large buffers (COPY lines) out of band: each is written to the pipe as it is,
    not copied into the pickle first."""
    buffers: list[pickle.PickleBuffer] = []
    header = pickle.dumps(message, protocol=5, buffer_callback=buffers.append)
    conn.send((len(buffers), header))
    for buffer in buffers:
        conn.send_bytes(buffer.raw())


def receive(conn: Connection) -> Any:
    count, header = conn.recv()
    return pickle.loads(header, buffers=[conn.recv_bytes() for _ in range(count)])
