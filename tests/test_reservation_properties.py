"""Property (SPEC 6A reservations): after any sequence of place / modify / cancel / fill / expire,
available cash and quantity are never negative, and what settlement holds back is exactly what
the open orders need, to the last decimal, as read back from the database."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.clock import TestClock
from daemon.engine.costs import KR_BROKER_2026, trade_date
from daemon.engine.reservations import ReserveParams, cash_needed
from daemon.messages import ModifyRefused, OrderChanges
from daemon.platform import Platform
from daemon.settlement_store import order_from_row
from daemon.sqlfiles import query
from tests.conftest import KRX_OPEN, quote, running_platform, tick
from tests.settlement_helpers import new_user, place, submit_request

pytestmark = pytest.mark.anyio
BTC = "CRYPTO-COIN-BTC"
MILLION = Decimal(1_000_000)
MID = 150 * MILLION

# Prices in whole millions around 150,000,000 (on Upbit's tick); quantities in 0.001 BTC.
offsets = st.integers(min_value=-3, max_value=6)
lots = st.integers(min_value=1, max_value=30)
modify = st.tuples(st.just("modify"), st.integers(0, 20), offsets, lots)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("buy"), offsets, lots),
        st.tuples(st.just("sell"), offsets, lots),
        modify,
        modify,
        st.tuples(st.just("cancel"), st.integers(0, 20)),
        st.tuples(st.just("tick"), st.integers(min_value=-4, max_value=4)),
        st.tuples(st.just("later")),  # 8 hours on: orders older than a day expire (GTC_DAYS=1)
    ),
    min_size=4,
    max_size=14,
)


@pytest.fixture
async def platform(database_url: str):  # type: ignore[no-untyped-def]
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock, PAPERTRADE_GTC_DAYS="1") as platform:
        clock.advance(11)  # past the start-up grace
        yield platform


def btc(platform: Platform, last: Decimal):  # type: ignore[no-untyped-def]
    spread = Decimal(10_000)
    return quote(platform.clock, BTC, str(last), bid=str(last - spread), ask=str(last + spread))


async def quiet(platform: Platform, user_id: uuid.UUID) -> None:
    """Wait until the user's partition has handled everything sent so far (its wakes too): two
    round trips through its inbox, a modification of an order that does not exist."""
    for _ in range(2):
        await anyio.sleep(0.05)
        answer = await platform.modify(user_id, uuid.uuid4(), OrderChanges(quantity=Decimal(1)))
        assert isinstance(answer, ModifyRefused)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps)
async def test_reservations_are_what_open_orders_need(platform, steps) -> None:  # type: ignore[no-untyped-def]
    user = await new_user(platform)
    clock = platform.clock
    clock.advance(1)
    await tick(platform, btc(platform, MID))
    await place(platform, user, BTC, "BUY", "0.02")  # something to sell
    placed: list[tuple[uuid.UUID, str]] = []
    for step in steps:
        clock.advance(1)
        match step:
            case ("buy" | "sell" as side, offset, count):
                price = MID + (offset if side == "SELL" else -offset) * MILLION
                order = await submit_request(
                    platform, user, ticker_id=BTC, side=side.upper(), type="LIMIT",
                    quantity=str(Decimal(count) / 1000), limit_price=str(price),
                )  # fmt: skip
                placed.append((order.id, order.side))
            case ("modify", index, offset, count) if placed:
                order_id, side = placed[index % len(placed)]
                price = MID + (offset if side == "SELL" else -offset) * MILLION
                changes = OrderChanges(quantity=Decimal(count) / 1000, limit_price=price)
                await platform.modify(user.id, order_id, changes)
            case ("cancel", index) if placed:
                await platform.cancel(user.id, placed[index % len(placed)][0])
            case ("tick", move):
                await tick(platform, btc(platform, MID + move * MILLION))
            case ("later",):
                clock.advance(int(timedelta(hours=8).total_seconds()))
        await quiet(platform, user.id)

    pool = platform.pool
    cash = await pool.fetchval("SELECT balance_krw FROM wallets WHERE user_id = $1", user.id)
    held = await pool.fetchval(
        "SELECT coalesce(sum(quantity), 0) FROM portfolios WHERE user_id = $1", user.id
    )
    rows = await pool.fetch(query("orders_open"), 1, 0)  # one partition: every open order
    mine = [o for o in map(order_from_row, rows) if o.user_id == user.id]
    params = ReserveParams()
    for order in mine:
        assert order.resting_since is not None  # every open order was accepted
        expected = cash_needed(
            order,
            reference_price=Decimal(0),
            fx_rate=None,
            costs=KR_BROKER_2026,
            on=trade_date("CRYPTO", order.created_at),
            params=params,
        )
        assert order.reserved_krw == expected
    reserved_cash = sum((o.reserved_krw for o in mine if o.side == "BUY"), Decimal(0))
    reserved_quantity = sum(
        (o.quantity - o.filled_quantity for o in mine if o.side == "SELL" and o.quantity),
        Decimal(0),
    )
    ledger = platform.settlement[user.id.int % len(platform.settlement)].ledger
    assert ledger.reserved_cash(user.id) == reserved_cash
    assert ledger.reserved_quantity(user.id, BTC) == reserved_quantity
    assert cash - reserved_cash >= 0
    assert held - reserved_quantity >= 0
    portfolio = await pool.fetch(query("portfolio_reservations"), user.id)
    assert {r["ticker_id"]: r["reserved"] for r in portfolio} == (
        {None: reserved_cash} | ({BTC: reserved_quantity} if reserved_quantity else {})
    )
