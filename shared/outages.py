"""Telling a database outage from a bug: a restart, failover, refused connection or exhausted pool is
answered 503 with Retry-After (the client may simply try again), never 500."""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
from sqlalchemy import exc as sa_exc

# The errors a database outage raises (asyncpg's, whether or not SQLAlchemy wrapped them):
# connection refused or reset (OSError), the server closing the connection, SQLSTATE classes 08
# (connection exception), 57 (operator intervention: shutdown, "cannot connect now") and 53
# (insufficient resources: too many connections).
_OUTAGE = (OSError, asyncpg.exceptions.ConnectionDoesNotExistError, asyncpg.exceptions.PostgresConnectionError,
           asyncpg.exceptions.OperatorInterventionError, asyncpg.exceptions.InsufficientResourcesError)
# "database ... is not currently accepting connections" (ALLOW_CONNECTIONS false, a database being
# dropped or recreated) is SQLSTATE 55000, a class that otherwise means a bug: matched by its words.
_NOT_ACCEPTING = "not currently accepting connections"
RETRY_AFTER_SECONDS = 2


def causes(error: BaseException, depth: int = 10) -> Iterator[BaseException]:
    """`error` and what it was raised from (SQLAlchemy wraps the driver's error, which wraps its own)."""
    current: BaseException | None = error
    for _ in range(depth):
        if current is None:
            return
        yield current
        current = current.__cause__ or current.__context__


def database_unavailable(error: BaseException) -> bool:
    return any(_is_outage(cause) for cause in causes(error))


def _is_outage(error: BaseException) -> bool:
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection came free in time
        return True
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, _OUTAGE) or (
        isinstance(error, asyncpg.exceptions.ObjectNotInPrerequisiteStateError) and _NOT_ACCEPTING in str(error))
