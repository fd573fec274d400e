"""Migrations apply once, re-run as a no-op, and leave the seeded instruments in place."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import asyncpg
import pytest

from daemon.migrate import migrate
from daemon.sqlfiles import migrations, query
from tests.conftest import _admin, db_url

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def _before(version: int) -> AsyncIterator[asyncpg.Connection]:
    """A scratch database with the migrations before `version` applied, dropped afterwards."""
    name = f"pt_mig_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}"')
    conn = await asyncpg.connect(db_url(name))
    try:
        for number, _, sql in migrations():
            if number < version:
                await conn.execute(sql)
        yield conn
    finally:
        await conn.close()
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _old_user(conn: asyncpg.Connection) -> uuid.UUID:
    user = uuid.uuid4()
    await conn.execute(
        "INSERT INTO users (id, username, nickname, password_hash) VALUES ($1, 'old', 'o', 'x')",
        user,
    )
    return user


async def _apply(conn: asyncpg.Connection, version: int) -> None:
    [sql] = [sql for number, _, sql in migrations() if number == version]
    await conn.execute(sql)


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


async def test_old_reset_rows_become_a_withdrawal_and_a_deposit(template_db: str) -> None:
    """0005 rewrites a RESET row (initial - cash) as the cash withdrawn and the initial deposited."""
    async with _before(5) as conn:
        user = await _old_user(conn)
        await conn.execute(
            "INSERT INTO cash_ledger (user_id, kind, amount_krw, created_at) VALUES"
            " ($1, 'DEPOSIT', 10000000, '2026-11-01Z'), ($1, 'RESET', 1500000, '2026-11-02Z'),"
            " ($1, 'RESET', -200000, '2026-11-03Z')",
            user,
        )
        await _apply(conn, 5)
        rows = await conn.fetch("SELECT kind, amount_krw FROM cash_ledger ORDER BY id")
        assert [(r["kind"], int(r["amount_krw"])) for r in rows] == [
            ("DEPOSIT", 10_000_000),
            ("WITHDRAWAL", -10_000_000),
            ("WITHDRAWAL", -11_500_000),
            ("DEPOSIT", 11_500_000),
            ("DEPOSIT", 11_300_000),
        ]
        await conn.execute("INSERT INTO wallets (user_id, balance_krw) VALUES ($1, 11300000)", user)
        books = await conn.fetchrow(query("portfolio_books"), user, datetime.now(UTC))
        assert books["deposits_at_day_start_krw"] == 11_300_000  # the run since the latest reset


async def test_0014_numbers_on_from_the_receipts_and_events_an_order_has(template_db: str) -> None:
    """0014 keeps each order's highest receipt and event seq on its row: existing orders start
    from what their tables hold (tests/test_settlement_commit_sql.py: batches continue it)."""
    async with _before(14) as conn:
        user, order, quiet = await _old_user(conn), uuid.uuid4(), uuid.uuid4()
        await conn.execute(
            "INSERT INTO orders (id, user_id, ticker_id, side, type, status, quantity, currency,"
            " time_in_force) SELECT id, $2, 'CRYPTO-COIN-BTC', 'BUY', 'MARKET', 'PENDING', 1,"
            " 'KRW-COIN', 'GTC' FROM unnest($1::uuid[]) AS id",
            [order, quiet],
            user,
        )
        await conn.execute(
            "INSERT INTO order_events (order_id, seq, kind, at) SELECT $1, s, 'accepted', now()"
            " FROM generate_series(1, 3) AS s",
            order,
        )
        await conn.execute(
            "INSERT INTO order_fills (order_id, seq, quantity, price, rate, total_krw, fee_krw,"
            " fees, rule, quote_price, quote_source, quote_ts, quote_received_at,"
            " quote_age_seconds, decided_at) SELECT $1, s, 0.25, 1, 1, 1, 0, '[]', 'at_limit', 1,"
            " 'x', now(), now(), 0, now() FROM generate_series(1, 2) AS s",
            order,
        )
        await _apply(conn, 14)
        rows = await conn.fetch(
            "SELECT id, last_fill_seq, last_event_seq FROM orders WHERE id = ANY($1::uuid[])",
            [order, quiet],
        )
        assert {r["id"]: (r["last_fill_seq"], r["last_event_seq"]) for r in rows} == {
            order: (2, 3),
            quiet: (0, 0),
        }
