"""Telling a database outage from a bug: a restart, failover, refused connection or exhausted pool is
answered 503 with Retry-After (the client may simply try again), never 500."""

from __future__ import annotations

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


def database_unavailable(error: BaseException) -> bool:
    seen = 0
    current: BaseException | None = error
    while current is not None and seen < 10:
        if isinstance(current, sa_exc.TimeoutError):  # no pooled connection came free in time
            return True
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, _OUTAGE):
            return True
        if isinstance(current, asyncpg.exceptions.ObjectNotInPrerequisiteStateError) and _NOT_ACCEPTING in str(current):
            return True
        current = current.__cause__ or current.__context__
        seen += 1
    return False
