"""Recording and handing over orders: a bad row fails only itself in a group commit, and a PENDING
order that nobody handed to settlement (its request failed after the commit) is picked up, by a
retry with the same client_order_id and by the periodic reconciliation."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import anyio
import asyncpg
import msgspec
import pytest

from daemon.actors.order_recorder import OrderRecorder
from daemon.api.errors import order_not_recorded
from daemon.clock import TestClock
from daemon.messages import Order
from daemon.order_requests import OrderRequest, build_order
from daemon.platform import Platform
from tests.conftest import KRX_OPEN, quote, running_platform
from tests.edge.conftest import BTC, assert_books_balance, new_user, wait_settled

pytestmark = pytest.mark.anyio
GROUP = 200


def order_of(platform: Platform, user_id: uuid.UUID, client_order_id: str | None = None) -> Order:
    request = OrderRequest(
        ticker_id=BTC, side="BUY", quantity="0.0001", client_order_id=client_order_id
    )
    return build_order(request, user_id, platform.instruments, platform.clock.now())


async def record_behind_settlements_back(platform: Platform, order: Order) -> None:
    """What a request whose commit raced a database shutdown leaves: the row, PENDING, and
    nothing handed to settlement."""
    await platform.pool.execute(
        "INSERT INTO orders (id, user_id, client_order_id, ticker_id, side, type, status,"
        " quantity, currency, created_at, time_in_force)"
        " VALUES ($1, $2, $3, $4, $5, $6, 'PENDING', $7, $8, $9, $10)",
        order.id, order.user_id, order.client_order_id, order.ticker_id, order.side, order.type,
        order.quantity, order.currency, order.created_at, order.time_in_force,
    )  # fmt: skip


async def test_a_deleted_users_order_fails_alone_and_the_rest_of_its_group_is_recorded(
    database_url: str, pool: asyncpg.Pool
) -> None:
    clock = TestClock(KRX_OPEN)
    users = [await new_user(pool) for _ in range(4)]
    gone = await new_user(pool)
    await pool.execute("DELETE FROM users WHERE id = $1", gone.id)
    async with running_platform(database_url, clock) as platform:
        orders = [order_of(platform, users[n % len(users)].id) for n in range(GROUP)]
        orders.insert(GROUP // 3, order_of(platform, gone.id))
        # All at once: they wait together and share one group commit.
        results = await asyncio.gather(
            *(platform.recorder.record(o) for o in orders), return_exceptions=True
        )
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(refused) == 1
    assert isinstance(refused[0], asyncpg.ForeignKeyViolationError)
    answer = order_not_recorded(refused[0], None)
    assert answer is not None
    assert answer.status_code == 401
    assert "no longer exists" in answer.detail
    recorded = await pool.fetchval(
        "SELECT count(*) FROM orders WHERE user_id = ANY($1::uuid[])", [u.id for u in users]
    )
    assert recorded == GROUP


async def test_a_commit_stands_when_only_readying_its_connection_for_reuse_fails(
    database_url: str, pool: asyncpg.Pool
) -> None:
    """A fast shutdown can end the session between the INSERT's answer and the pool's reset of
    the connection; the orders are recorded and must be answered so, not with an error."""
    user = await new_user(pool)

    async def session_ended(_: asyncpg.Connection) -> None:
        raise asyncpg.InternalClientError("cannot switch to state 15; another operation (2)")

    failing = await asyncpg.create_pool(database_url, min_size=1, max_size=1, reset=session_ended)
    recorder = OrderRecorder(failing)
    try:
        async with running_platform(database_url, TestClock(KRX_OPEN)) as platform:
            orders = [order_of(platform, user.id) for _ in range(3)]
            async with anyio.create_task_group() as tg:
                tg.start_soon(recorder.run)
                results = [await recorder.record(order) for order in orders]
                tg.cancel_scope.cancel()
    finally:
        await failing.close()
    assert results == [(order, True) for order in orders]
    assert await pool.fetchval("SELECT count(*) FROM orders WHERE user_id = $1", user.id) == 3


async def test_a_retry_of_an_order_nobody_handed_over_is_settled(
    database_url: str, pool: asyncpg.Pool
) -> None:
    clock = TestClock(KRX_OPEN)
    user = await new_user(pool)
    async with running_platform(database_url, clock) as platform:
        platform.book.update(quote(clock, BTC, "150000000"))
        first = order_of(platform, user.id, client_order_id="retry-me")
        # Fresh: the reconciliation leaves it alone (it might still be on its way over).
        await record_behind_settlements_back(platform, first)
        stored, created = await platform.submit(order_of(platform, user.id, "retry-me"))
        assert (stored.id, created, stored.status) == (first.id, False, "PENDING")
        await wait_settled(pool, {first.id}, seconds=10)
    assert await pool.fetchval("SELECT status FROM orders WHERE id = $1", first.id) == "FILLED"
    await assert_books_balance(pool, [user.id])


async def test_reconciliation_settles_an_order_nobody_handed_over(
    database_url: str, pool: asyncpg.Pool
) -> None:
    clock = TestClock(KRX_OPEN)
    users = [await new_user(pool) for _ in range(4)]  # spread over the partitions
    async with running_platform(database_url, clock) as platform:
        platform.book.update(quote(clock, BTC, "150000000"))
        # A minute old: no request can still be on its way to hand them over.
        orphans = [
            msgspec.structs.replace(
                order_of(platform, u.id), created_at=clock.now() - timedelta(minutes=1)
            )
            for u in users
        ]
        for orphan in orphans:
            await record_behind_settlements_back(platform, orphan)
        await wait_settled(pool, {o.id for o in orphans}, seconds=20)  # with no restart
    statuses = await pool.fetch(
        "SELECT status FROM orders WHERE id = ANY($1::uuid[])", [o.id for o in orphans]
    )
    assert [r["status"] for r in statuses] == ["FILLED"] * len(orphans)
    await assert_books_balance(pool, [u.id for u in users])
