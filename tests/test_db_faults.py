"""The one classifier of database errors, on errors a real PostgreSQL raises: "cannot do this
now" (wait and retry) against "this work is wrong", and "surely not written" against "may be"."""

from __future__ import annotations

import asyncpg
import pytest

from daemon.db_faults import database_unavailable, refused_before_writing

pytestmark = pytest.mark.anyio
TRIES = 20


async def test_a_read_only_database_is_unavailable_and_surely_wrote_nothing(
    database_url: str,
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("SET default_transaction_read_only = on")
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError) as caught:
            await conn.execute("CREATE TABLE nope (id int)")
    finally:
        await conn.close()
    assert database_unavailable(caught.value)
    assert refused_before_writing(caught.value)


async def test_a_session_the_server_ended_is_unavailable_and_may_have_written(
    database_url: str,
) -> None:
    """A fast shutdown ends every idle session (FATAL 57P01); asyncpg then fails the pooled
    connection's next statement with "cannot switch to state 12; another operation (2) is in
    progress" or a closed connection. Either is the database's fault, not the work's."""
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    admin = await asyncpg.connect(database_url)
    raised: list[Exception] = []
    try:
        for _ in range(TRIES):  # the next statement fails only if it races the session's end
            pid = await pool.fetchval("SELECT pg_backend_pid()")
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
            try:
                await pool.fetchval("SELECT 1")
            except Exception as exc:  # which one depends on timing
                raised.append(exc)
            assert await pool.fetchval("SELECT 1") == 1  # the pool dropped it, connected anew
    finally:
        await admin.close()
        await pool.close()
    assert raised
    for exc in raised:
        assert database_unavailable(exc), repr(exc)
        assert not refused_before_writing(exc)


async def test_the_work_at_fault_is_not_unavailability(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        with pytest.raises(asyncpg.ForeignKeyViolationError) as caught:
            await conn.execute(
                "INSERT INTO wallets (user_id, balance_krw) VALUES (gen_random_uuid(), 0)"
            )
    finally:
        await conn.close()
    assert not database_unavailable(caught.value)
    assert not database_unavailable(ExceptionGroup("mixed", [caught.value, ConnectionResetError()]))
    assert database_unavailable(ExceptionGroup("all away", [ConnectionRefusedError()]))
