"""Property: any sequence of orders and prices keeps the books consistent.

wallet = initial + sum(ledger) = initial + sum of FILLED cash moves; positions = sum of fills;
nothing negative; every amount a Decimal.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_FLOOR, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.clock import TestClock
from tests.conftest import KRX_OPEN, quote, running_platform
from tests.settlement_helpers import INITIAL, new_user, outcomes, submit

pytestmark = pytest.mark.anyio

TICKERS = {"CRYPTO-COIN-BTC": "KRW-COIN", "CRYPTO-COIN-XRP": "KRW-COIN", "KRX-STOCK-005930": "KRW"}

prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("200000000"), places=2)
quantities = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("50"), places=8)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("price"), st.sampled_from(sorted(TICKERS)), prices),
        st.tuples(
            st.just("order"),
            st.sampled_from(sorted(TICKERS)),
            st.sampled_from(["BUY", "SELL"]),
            quantities,
        ),
    ),
    min_size=1,
    max_size=25,
)


@pytest.fixture
async def platform(database_url: str):  # type: ignore[no-untyped-def]
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock) as platform:
        clock.advance(11)  # past the start-up grace: missing prices fail at once
        yield platform


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps)
async def test_books_always_balance(platform, steps) -> None:  # type: ignore[no-untyped-def]
    user = await new_user(platform)
    clock = platform.clock
    submitted = set()
    for step in steps:
        if step[0] == "price":
            _, ticker, price = step
            platform.book.update(quote(clock, ticker, str(price), currency=TICKERS[ticker]))
        else:
            _, ticker, side, quantity = step
            if ticker.startswith("KRX-"):  # KRX trades whole shares (the door refuses fractions)
                quantity = max(quantity.to_integral_value(ROUND_FLOOR), Decimal(1))
            order = await submit(platform, user, ticker, side, f"{quantity:f}")
            submitted.add(order.id)
    ended = await outcomes(platform, submitted)

    cash = INITIAL
    held: dict[str, Decimal] = defaultdict(Decimal)
    for order in ended.values():
        for value in (order.quantity, order.price, order.total_krw, order.fee_krw):
            assert value is None or isinstance(value, Decimal)
        if order.status != "FILLED":
            assert order.reason
            continue
        assert order.total_krw == (order.price * order.quantity).quantize(Decimal("1E-8"))
        if order.side == "BUY":
            cash -= order.total_krw + order.fee_krw
            held[order.ticker_id] += order.quantity
        else:
            cash += order.total_krw - order.fee_krw
            held[order.ticker_id] -= order.quantity

    pool = platform.pool
    balance = await pool.fetchval("SELECT balance_krw FROM wallets WHERE user_id = $1", user.id)
    ledger = await pool.fetchval(
        "SELECT sum(amount_krw) FROM cash_ledger WHERE user_id = $1", user.id
    )
    assert isinstance(balance, Decimal)
    assert balance == ledger == cash
    assert balance >= 0
    rows = await pool.fetch(
        "SELECT ticker_id, quantity FROM portfolios WHERE user_id = $1", user.id
    )
    positions = {row["ticker_id"]: row["quantity"] for row in rows}
    for ticker in TICKERS:
        assert positions.get(ticker, Decimal(0)) == held[ticker]
        assert positions.get(ticker, Decimal(0)) >= 0
    statuses = await pool.fetch(
        "SELECT status FROM orders WHERE id = ANY($1::uuid[])", list(submitted)
    )
    assert all(row["status"] in ("FILLED", "FAILED") for row in statuses)
