"""Async SQLAlchemy 2 + asyncpg: one engine per service, one session per request committed once.

Every ORM query on a `Scoped` model is filtered by the principal's scope automatically. A session
must be opened either for a principal (requests) or explicitly as a system session (consumers,
jobs): a scoped query in a session that is neither raises, so an unfiltered query has to be written
on purpose.
"""

from __future__ import annotations

import asyncio
import re
import weakref
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any, TypeVar, cast

import asyncpg
from sqlalchemy import ColumnElement, String, and_, event, false, or_, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import InstrumentedAttribute, Mapped, ORMExecuteState, Session, mapped_column, with_loader_criteria
from sqlalchemy.sql.elements import ClauseElement, TextClause
from sqlalchemy.sql.util import find_tables

from shared.errors import forbidden, not_found
from shared.principal import Principal
from shared.scope import path_in_any

T = TypeVar("T")

PRINCIPAL_KEY = "principal"
SYSTEM_KEY = "system"


def scope_clause(
    column: InstrumentedAttribute[str] | ColumnElement[str], scope_paths: Sequence[str]
) -> ColumnElement[bool]:
    """SQL that keeps rows whose path lies inside one of `scope_paths` (shared.scope's rule).

    Uses a range instead of LIKE so a plain btree index on a `COLLATE "C"` column serves it
    ('/' is the character right after '.').
    """
    if not scope_paths:
        return false()
    return or_(*(or_(column == p, and_(column > p + ".", column < p + "/")) for p in scope_paths))


class ConnectionLost(ConnectionError):
    """The pooled connection broke under a statement: the database restarted or failed over. An
    OSError, so an outage (shared.outages) answers 503."""


class UnscopedQueryError(RuntimeError):
    """A scoped model was queried in a session that has neither a principal nor the system flag."""


class Scoped:
    """Mixin for rows that belong to an administrative unit. Subclasses get `unit_path`."""

    # "C" collation so the range in scope_clause uses a plain btree index.
    unit_path: Mapped[str] = mapped_column(String(160, collation="C"), index=True, nullable=False)


def _scoped_models() -> list[type[Scoped]]:
    found: list[type[Scoped]] = []
    stack = list(Scoped.__subclasses__())
    while stack:
        cls = stack.pop()
        if hasattr(cls, "__mapper__"):
            found.append(cls)
        stack.extend(cls.__subclasses__())
    return found


@event.listens_for(Session, "do_orm_execute")
def _apply_scope(state: ORMExecuteState) -> None:
    if state.execution_options.get("skip_scope") or state.session.info.get(SYSTEM_KEY):
        return
    statement = state.statement
    if isinstance(statement, TextClause):
        _refuse_unchecked_sql(statement)
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    known = _known(statement)
    if not known.models:
        return
    principal: Principal | None = state.session.info.get(PRINCIPAL_KEY)
    if principal is None:
        raise UnscopedQueryError("scoped query in a session without principal; use a system session on purpose")
    state.statement = known.filtered_for(statement, tuple(principal.scope_paths))


class _Known:
    """What the scope filter learnt about one statement object: the scoped models it mentions and, per
    scope, the statement with their filters. A statement built once and executed on every request (the
    hot paths keep theirs at module level) is traversed once, and its filtered copy, reused, keeps the
    cache key SQLAlchemy memoizes on it: the traversal and the key cost ~0.6 ms a request otherwise."""

    __slots__ = ("models", "filtered")

    MOST_SCOPES = 64  # distinct scopes remembered per statement; then it starts over

    def __init__(self, statement: Any) -> None:
        self.models = tuple(_models_mentioned(statement))
        self.filtered: dict[tuple[str, ...], Any] = {}

    def filtered_for(self, statement: Any, paths: tuple[str, ...]) -> Any:
        """`statement` (the one this was learnt from) with the scope filters of `paths`."""
        found = self.filtered.get(paths)
        if found is None:
            if len(self.filtered) >= self.MOST_SCOPES:
                self.filtered.clear()
            found = self.filtered[paths] = statement.options(*_scope_options(self.models, paths))
        return found


# Weak keys: a statement built for one request leaves with it. Statements are immutable (each change
# makes a new object), so what is learnt about one stays true.
_KNOWN: weakref.WeakKeyDictionary[Any, _Known] = weakref.WeakKeyDictionary()


def _known(statement: Any) -> _Known:
    known = _KNOWN.get(statement)
    if known is None:
        known = _KNOWN[statement] = _Known(statement)
    return known


def _refuse_unchecked_sql(statement: TextClause) -> None:
    """Raw SQL is not filtered by scope: in a caller's session it may name a scoped table only when
    the code says it applies the scope itself, with `execution_options(skip_scope=True)` (and a test
    of its own). Otherwise it is refused, so a forgotten filter fails loudly instead of leaking rows."""
    named = _scoped_tables_in(statement.text)
    if named:
        raise UnscopedQueryError(
            f"raw SQL on scoped table(s) {', '.join(named)} in a caller's session: apply the scope in the "
            "statement and mark it with execution_options(skip_scope=True), or use the ORM")


@lru_cache(maxsize=1024)
def _scoped_tables_in(sql: str) -> tuple[str, ...]:
    names = {m.__table__.name for m in _scoped_models()}  # type: ignore[attr-defined]
    return tuple(sorted(n for n in names if re.search(rf"(?<!\w){re.escape(n)}(?!\w)", sql)))


@lru_cache(maxsize=4096)
def _scope_options(models: tuple[type[Scoped], ...], paths: tuple[str, ...]) -> tuple[Any, ...]:
    """The loader criteria for these models and scope paths; immutable, so built once and reused."""
    return tuple(with_loader_criteria(m, scope_clause(m.unit_path, paths), include_aliases=True) for m in models)


def _models_mentioned(statement: Any) -> list[type[Scoped]]:
    """The scoped models whose table appears anywhere in the statement (entities, FROM, joins, subqueries).

    One traversal of the statement for all models: it runs on every query, so its cost is per request.
    """
    tables = set(find_tables(cast(ClauseElement, statement), check_columns=True, include_aliases=True,
                             include_joins=True, include_selects=True, include_crud=True))
    if not tables:
        return []
    return [m for m in _scoped_models() if m.__table__ in tables]  # type: ignore[attr-defined]


@event.listens_for(Session, "before_flush")
def _check_writes_in_scope(session: Session, _ctx: Any, _instances: Any) -> None:
    if session.info.get(SYSTEM_KEY):
        return
    principal: Principal | None = session.info.get(PRINCIPAL_KEY)
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, Scoped):
            if principal is None:
                raise UnscopedQueryError("write of a scoped row in a session without principal")
            if not path_in_any(obj.unit_path, principal.scope_paths):
                raise forbidden(f"Unit {obj.unit_path} is outside your scope.", unit=obj.unit_path)


def asyncpg_dsn(url: str) -> str:
    """The same URL without the SQLAlchemy driver suffix, for raw asyncpg connections."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def sqlalchemy_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


class Database:
    def __init__(self, url: str, pool_size: int = 10, pre_ping: bool = True, pool_timeout: float = 30.0) -> None:
        self.url = sqlalchemy_url(url)
        # pre_ping costs three round trips per checkout with asyncpg (BEGIN, ping, ROLLBACK); without it a
        # connection broken by a database restart fails one request, and the pool is then renewed.
        # No overflow: connections opened for a burst and closed after it were opened again at the next
        # one, and an asyncpg connection costs a few milliseconds of CPU to open (a steady load of 200
        # concurrent reads spent 7 % of the service's CPU connecting).
        self.engine: AsyncEngine = create_async_engine(
            self.url, pool_size=pool_size, max_overflow=0, pool_pre_ping=pre_ping, pool_timeout=pool_timeout
        )
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        # Callers queue here, first come first served, for as many connections as the pool may open.
        # The pool's own queue lets a newcomer take a connection already handed to a waiter, which
        # sends the waiter to the back: under load some requests starved for seconds (p99 6x p50).
        self._slots = asyncio.Semaphore(pool_size)
        self.waiting = 0  # callers queued for a connection right now
        self._pool_timeout = pool_timeout
        self._generation = 0  # pools renewed after a connection loss (driver_connection)

    @asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        if self._slots.locked():  # only then pay for a timeout
            self.waiting += 1
            try:
                await asyncio.wait_for(self._slots.acquire(), self._pool_timeout)
            except TimeoutError as exc:
                raise sa_exc.TimeoutError("no database connection came free in time") from exc
            finally:
                self.waiting -= 1
        else:
            await self._slots.acquire()
        try:
            yield
        finally:
            self._slots.release()

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        """A connection of the pool, taken in turn (see `_slots`)."""
        async with self._slot(), self.engine.connect() as conn:
            yield conn

    @asynccontextmanager
    async def driver_connection(self) -> AsyncIterator[asyncpg.Connection]:
        """The pooled asyncpg connection itself, taken in turn like the others, for a hot statement that
        needs nothing of SQLAlchemy. No transaction is open on it: each statement commits on its own.
        A connection that broke (a database restart) raises ConnectionLost, and the pool is renewed so
        that it and its siblings are not handed out again."""
        async with self.connect() as conn:
            generation = self._generation
            pooled = await conn.get_raw_connection()
            driver: asyncpg.Connection = pooled.driver_connection
            try:
                yield driver
            except Exception as exc:
                # Told by the connection itself, as SQLAlchemy tells a disconnect: asyncpg raises several
                # errors for one (closed, reset, or "another operation is in progress" after a cut).
                if not driver.is_closed():
                    raise
                pooled.invalidate()
                # The other pooled connections went with this one: the whole pool is renewed, once.
                if generation == self._generation:
                    self._generation += 1
                    await self.engine.dispose(close=False)
                raise ConnectionLost(f"the database connection was lost ({type(exc).__name__})") from exc

    @asynccontextmanager
    async def session(self, principal: Principal | None = None, *, system: bool = False) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits once at the end, rolls back on any error."""
        async with self._slot(), self.sessionmaker() as session:
            session.info[PRINCIPAL_KEY] = principal
            session.info[SYSTEM_KEY] = system
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    def system_session(self) -> Any:
        return self.session(system=True)

    async def dispose(self) -> None:
        await self.engine.dispose()


async def load_by_id(session: AsyncSession, model: type[T], key: object, what: str, *, lock: bool = False) -> T:
    """The row with this id if the caller's scope reaches it; 404 otherwise (a foreign row is not revealed).

    `lock=True` takes a row lock (SELECT … FOR UPDATE) for a read-modify-write.
    """
    query = select(model).where(model.id == key)  # type: ignore[attr-defined]
    if lock:
        query = query.with_for_update()
    found = await session.scalar(query)
    if found is None:
        raise not_found(what, key)
    return found
