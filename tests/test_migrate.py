"""Migrations apply once, re-run as a no-op, and leave the seeded instruments in place."""

import asyncpg
import pytest

from daemon.migrate import migrate
from daemon.sqlfiles import migrations

pytestmark = pytest.mark.anyio


async def test_rerun_is_a_no_op(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        assert await migrate(conn) == []
        applied = await conn.fetchval("SELECT count(*) FROM schema_migrations")
        assert applied == len(migrations())
    finally:
        await conn.close()


async def test_instruments_seeded(pool: asyncpg.Pool) -> None:
    counts = dict(await pool.fetch("SELECT market, count(*) FROM instruments GROUP BY market"))
    assert counts["KRX"] >= 20
    assert counts["US"] >= 20
    assert counts["CRYPTO"] >= 10


async def test_ticker_format_enforced_by_the_database(pool: asyncpg.Pool) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute(
            "INSERT INTO instruments (ticker_id, name, market, currency, exchange)"
            " VALUES ('btc', 'x', 'CRYPTO', 'KRW-COIN', 'UPBIT')"
        )
