"""Which database errors mean "PostgreSQL cannot do this now" rather than "this is wrong".

The first kind is an outside fault: the server is down, restarting, read-only (a standby, a
revoked grant), out of disk or out of connections. Whatever hit it must wait and try again, and
never turn an order into a failure or a dead letter because of it. The second kind (a constraint
violated, bad data) is about the work itself and will fail the same way every time.
"""

from __future__ import annotations

import asyncpg

# SQLSTATE classes and codes of faults of the database as a whole (PostgreSQL appendix A).
_UNAVAILABLE_CLASSES = (
    "08",  # connection exception
    "53",  # insufficient resources: disk full, out of memory, too many connections
    "57",  # operator intervention: admin shutdown, crash shutdown, cannot connect now
    "58",  # system error (I/O error)
    "40",  # transaction rollback: serialization failure, deadlock (try again)
)
_UNAVAILABLE_CODES = frozenset(
    {
        "25006",  # read_only_sql_transaction: a standby, default_transaction_read_only
        "42501",  # insufficient_privilege: a revoked grant; an operator must fix it, the order is fine
        "55006",  # object_in_use
        "55P03",  # lock_not_available
        "XX000",  # internal_error
    }
)


def database_unavailable(exc: BaseException) -> bool:
    """True if `exc` says the database cannot do the work now (wait and retry), False if the
    work itself is at fault (retrying will not help). A group of errors (from a task group) is
    unavailability if every one of them is."""
    if isinstance(exc, BaseExceptionGroup):
        return all(database_unavailable(e) for e in exc.exceptions)
    if isinstance(exc, asyncpg.PostgresError):
        state = exc.sqlstate or ""
        return state in _UNAVAILABLE_CODES or state.startswith(_UNAVAILABLE_CLASSES)
    # The connection itself: refused, reset, closed under us, timed out, pool closing. And
    # asyncpg's "cannot switch to state 12; another operation (2) is in progress": a pooled
    # connection whose session the server ended while it was idle (a fast shutdown sends each
    # idle session a FATAL 57P01) is left mid-error and fails its next statement so; the pool
    # drops it when it comes back, and the work is fine on another connection.
    return isinstance(
        exc, OSError | TimeoutError | asyncpg.InterfaceError | asyncpg.InternalClientError
    )


# Errors that end a session, so they may come after its last statement committed.
_SESSION_ENDED_CODES = frozenset({"57P01", "57P02", "57P05"})  # admin, crash, idle shutdown


def refused_before_writing(exc: BaseException) -> bool:
    """True if `exc` proves the database did not do the work (it refused the connection or
    answered the statement with an error), False if it may have been done: the connection was
    lost or the session ended while the statement was on its way or its answer was."""
    if isinstance(exc, asyncpg.PostgresError):
        state = exc.sqlstate or ""
        return not state.startswith("08") and state not in _SESSION_ENDED_CODES
    return isinstance(exc, ConnectionRefusedError)
