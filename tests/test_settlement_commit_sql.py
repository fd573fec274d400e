"""`settlement_commit` (sql/0016_settlement_commit_lean.sql) on the real PostgreSQL: the checks that
stand in for the foreign keys to `orders` it no longer has, and its compare-and-set."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from daemon.settlement_store import (
    _EventRow,
    _FillRow,
    _OrderRow,
    _Payload,
    _PositionInsert,
    _WalletRow,
    encode_json,
)
from daemon.sqlfiles import query

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
BTC = "CRYPTO-COIN-BTC"


async def _user(pool: asyncpg.Pool, cash: str = "1000000") -> uuid.UUID:
    user_id = uuid.uuid4()
    name = "u" + user_id.hex[:12]
    await pool.execute(
        "INSERT INTO users (id, username, nickname, password_hash) VALUES ($1, $2, $2, 'x')",
        user_id,
        name,
    )
    await pool.execute(
        "INSERT INTO wallets (user_id, balance_krw) VALUES ($1, $2::numeric)", user_id, cash
    )
    return user_id


async def _pending(pool: asyncpg.Pool, user_id: uuid.UUID) -> uuid.UUID:
    order_id = uuid.uuid4()
    await pool.execute(
        "INSERT INTO orders (id, user_id, ticker_id, side, type, status, quantity, currency,"
        " time_in_force) VALUES ($1, $2, $3, 'BUY', 'MARKET', 'PENDING', 0.001, 'KRW-COIN',"
        " 'GTC')",
        order_id,
        user_id,
        BTC,
    )
    return order_id


def _filled(order_id: uuid.UUID) -> dict:
    return {
        "id": str(order_id), "old_filled_quantity": "0", "status": "FILLED",
        "filled_quantity": "0.001", "average_price": "150000000", "rate": "1",
        "total_krw": "150000", "fee_krw": "75", "fees": [{"kind": "commission", "amount_krw": "75"}],
        "reserved_krw": "0", "trail_mark": None, "stop_price": None, "quantity": "0.001",
        "limit_price": None, "trail_percent": None, "trail_amount": None, "triggered_at": None,
        "expires_at": None, "resting_since": None, "reason": None, "filled_at": NOW.isoformat(),
    }  # fmt: skip


def _fill(order_id: uuid.UUID) -> dict:
    return {
        "order_id": str(order_id), "n": 1, "side": "BUY", "cash_delta": "-150075",
        "quantity": "0.001", "price": "150000000", "rate": "1", "total_krw": "150000",
        "fee_krw": "75", "fees": [{"kind": "commission", "amount_krw": "75"}],
        "rule": "marketable_at_ask", "levels": [], "quote_price": "150000000",
        "quote_bid": None, "quote_ask": "150000000", "quote_source": "test",
        "quote_ts": NOW.isoformat(), "quote_received_at": NOW.isoformat(),
        "quote_age_seconds": "0", "decided_at": NOW.isoformat(),
    }  # fmt: skip


def _event(order_id: uuid.UUID, n: int, kind: str) -> dict:
    return {"order_id": str(order_id), "n": n, "kind": kind, "at": NOW.isoformat(),
            "reason": None, "detail": None}  # fmt: skip


def _batch(user_id: uuid.UUID, orders: list[dict], fills: list[dict], events: list[dict]) -> str:
    """The batch as settlement encodes it (rows by field name here, as arrays on the wire)."""
    wallet = {"user_id": user_id, "old_balance": "1000000", "new_balance": "849925"}
    position = {
        "user_id": user_id, "ticker_id": BTC, "quantity": "0.001",
        "average_price": "150000000", "currency": "KRW-COIN",
    }  # fmt: skip
    return encode_json(
        _Payload(
            orders=[_OrderRow(**o) for o in orders],
            wallets=[_WalletRow(**wallet)],
            position_updates=[],
            position_inserts=[_PositionInsert(**position)],
            fills=[_FillRow(**f) for f in fills],
            events=[_EventRow(**e) for e in events],
        )
    )


async def _counts(pool: asyncpg.Pool) -> tuple[int, int, int, int]:
    return tuple(
        await pool.fetchrow(
            "SELECT (SELECT count(*) FROM order_fills), (SELECT count(*) FROM order_events),"
            " (SELECT count(*) FROM cash_ledger WHERE order_id IS NOT NULL),"
            " (SELECT count(*) FROM orders WHERE status = 'FILLED')"
        )
    )  # type: ignore[return-value]


async def test_a_batch_writes_the_fill_its_ledger_row_for_the_orders_own_user_and_events(
    pool: asyncpg.Pool,
) -> None:
    user_id = await _user(pool)
    order_id = await _pending(pool, user_id)
    events = [_event(order_id, 1, "accepted"), _event(order_id, 2, "filled")]
    await pool.execute(
        query("settlement_commit"),
        _batch(user_id, [_filled(order_id)], [_fill(order_id)], events),
        NOW,
    )
    assert await _counts(pool) == (1, 2, 1, 1)
    ledger = await pool.fetchrow(
        "SELECT user_id, fill_seq, amount_krw FROM cash_ledger WHERE order_id = $1", order_id
    )
    assert (ledger["user_id"], ledger["fill_seq"], str(ledger["amount_krw"])) == (
        user_id, 1, "-150075.00000000",
    )  # fmt: skip
    assert str(
        await pool.fetchval("SELECT balance_krw FROM wallets WHERE user_id = $1", user_id)
    ) == ("849925.00000000")


@pytest.mark.parametrize("stray", ["fill", "event"])
async def test_a_receipt_or_event_for_an_order_the_batch_did_not_write_writes_nothing(
    pool: asyncpg.Pool, stray: str
) -> None:
    """What the foreign keys to `orders` guaranteed, the function proves: a fill or event whose
    order is not among the rows this batch wrote (here: an order of another user, still open)
    raises, and the whole batch rolls back."""
    user_id = await _user(pool)
    order_id = await _pending(pool, user_id)
    other = await _pending(pool, await _user(pool))
    fills = [_fill(order_id)] + ([_fill(other)] if stray == "fill" else [])
    events = [_event(order_id, 1, "filled")] + (
        [_event(other, 1, "filled")] if stray == "event" else []
    )
    with pytest.raises(asyncpg.RaiseError) as raised:
        await pool.execute(
            query("settlement_commit"), _batch(user_id, [_filled(order_id)], fills, events), NOW
        )
    assert raised.value.hint == "settlement_unowned"
    assert await _counts(pool) == (0, 0, 0, 0)
    assert (
        await pool.fetchval("SELECT balance_krw FROM wallets WHERE user_id = $1", user_id)
        == 1000000
    )


async def test_an_order_no_longer_open_is_stale_and_named(pool: asyncpg.Pool) -> None:
    user_id = await _user(pool)
    order_id = await _pending(pool, user_id)
    await pool.execute(
        "UPDATE orders SET status = 'CANCELLED', reason = 'x' WHERE id = $1", order_id
    )
    with pytest.raises(asyncpg.RaiseError) as raised:
        await pool.execute(
            query("settlement_commit"),
            _batch(
                user_id, [_filled(order_id)], [_fill(order_id)], [_event(order_id, 1, "filled")]
            ),
            NOW,
        )
    assert raised.value.hint == "settlement_stale"
    assert json.loads(raised.value.detail) == [str(order_id)]
    assert await _counts(pool) == (0, 0, 0, 0)


async def test_a_position_believed_new_that_exists_is_stale_and_nothing_is_written(
    pool: asyncpg.Pool,
) -> None:
    user_id = await _user(pool)
    order_id = await _pending(pool, user_id)
    await pool.execute(
        "INSERT INTO portfolios (user_id, ticker_id, quantity, average_price, currency)"
        " VALUES ($1, $2, 0.5, 100, 'KRW-COIN')",
        user_id,
        BTC,
    )
    batch = _batch(user_id, [_filled(order_id)], [_fill(order_id)], [_event(order_id, 1, "filled")])  # fmt: skip
    with pytest.raises(asyncpg.RaiseError) as raised:
        await pool.execute(query("settlement_commit"), batch, NOW)
    assert raised.value.hint == "settlement_stale"
    assert "position settlement thought new" in str(raised.value)
    assert await _counts(pool) == (0, 0, 0, 0)
    assert str(await pool.fetchval("SELECT balance_krw FROM wallets WHERE user_id = $1", user_id)) == "1000000.00000000"  # fmt: skip
    assert str(await pool.fetchval("SELECT quantity FROM portfolios WHERE user_id = $1", user_id)) == "0.50000000"  # fmt: skip


async def _commit_order(
    pool: asyncpg.Pool, order: dict, fills: list[dict], events: list[dict]
) -> None:
    """One order's row, receipts and events as a batch of their own (no cash or position)."""
    batch = _Payload(
        orders=[_OrderRow(**order)], wallets=[], position_updates=[], position_inserts=[],
        fills=[_FillRow(**f) for f in fills], events=[_EventRow(**e) for e in events],
    )  # fmt: skip
    await pool.execute(query("settlement_commit"), encode_json(batch), NOW)


async def test_receipts_and_events_continue_an_orders_seq_across_batches(
    pool: asyncpg.Pool,
) -> None:
    """A first decision numbers from 1; a later batch of the same order continues from the
    highest seq its row keeps."""
    user_id = await _user(pool)
    order_id = await _pending(pool, user_id)
    rested = {**_filled(order_id), "status": "PENDING", "filled_quantity": "0",
              "average_price": None, "total_krw": None, "fee_krw": None, "fees": [],
              "filled_at": None, "resting_since": NOW.isoformat()}  # fmt: skip
    await _commit_order(
        pool, rested, [], [_event(order_id, 1, "accepted"), _event(order_id, 2, "rested")]
    )
    half = {**_filled(order_id), "status": "PARTIALLY_FILLED", "filled_quantity": "0.0005"}
    await _commit_order(
        pool, half, [_fill(order_id), {**_fill(order_id), "n": 2}],
        [_event(order_id, 1, "partially_filled")],
    )  # fmt: skip
    rest = {**_filled(order_id), "old_filled_quantity": "0.0005"}
    await _commit_order(pool, rest, [_fill(order_id)], [_event(order_id, 1, "filled")])
    events = await pool.fetch(
        "SELECT seq, kind FROM order_events WHERE order_id = $1 ORDER BY seq", order_id
    )
    assert [(r["seq"], r["kind"]) for r in events] == [
        (1, "accepted"), (2, "rested"), (3, "partially_filled"), (4, "filled"),
    ]  # fmt: skip
    fills = await pool.fetch(
        "SELECT f.seq, l.fill_seq FROM order_fills AS f JOIN cash_ledger AS l"
        " ON l.order_id = f.order_id AND l.fill_seq = f.seq WHERE f.order_id = $1 ORDER BY f.seq",
        order_id,
    )
    assert [(r["seq"], r["fill_seq"]) for r in fills] == [(1, 1), (2, 2), (3, 3)]


async def test_its_plans_reach_orders_wallets_and_positions_by_key_whatever_the_tables_size(
    pool: asyncpg.Pool,
) -> None:
    """On tables a few rows small (a new league, or statistics never gathered), a sequential scan
    is the cheaper plan, and PL/pgSQL keeps the plan while the table grows: the function is told
    to go by index (sql/0015_settlement_plans_by_key.sql). Each plan it runs, seen through
    auto_explain, past the fifth call (when PL/pgSQL may switch to a generic plan)."""
    async with pool.acquire() as conn:
        plans: list[str] = []
        conn.add_log_listener(lambda _, message: plans.append(message.message))
        await conn.execute("LOAD 'auto_explain'")
        for setting in ("log_min_duration = 0", "log_nested_statements = on", "log_analyze = off"):  # fmt: skip
            await conn.execute(f"SET auto_explain.{setting}")
        await conn.execute("SET client_min_messages = log")
        for _ in range(8):
            user_id = await _user(pool)
            order_id = await _pending(pool, user_id)
            events = [_event(order_id, 1, "accepted"), _event(order_id, 2, "filled")]
            batch = _batch(user_id, [_filled(order_id)], [_fill(order_id)], events)
            await conn.execute(query("settlement_commit"), batch, NOW)
        await conn.execute("RESET client_min_messages")
    for table in ("orders", "wallets"):  # and no positions to update: that statement is skipped
        assert sum(f"Update on {table}" in p for p in plans) == 8, plans
    scans = [line.strip() for p in plans for line in p.splitlines() if "Seq Scan on" in line]
    assert scans == [], scans
    assert await _counts(pool) == (8, 16, 8, 8)
