"""Settlement rules on the real PostgreSQL: fills, every failure reason, limits, cancels, recovery."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import anyio
import pytest
import structlog

from daemon.clock import TestClock
from daemon.messages import SettleOrder
from daemon.order_requests import OrderRequest, build_order
from tests.conftest import KRX_OPEN, US_OPEN, quote, running_platform, tick, usd_krw
from tests.fakes.waiting import eventually
from tests.settlement_helpers import (
    INITIAL,
    ledger_rows,
    ledger_sum,
    new_user,
    outcome,
    outcomes,
    place,
    position,
    submit,
    wallet,
)

pytestmark = pytest.mark.anyio
BTC = "CRYPTO-COIN-BTC"
SAMSUNG = "KRX-STOCK-005930"
AAPL = "US-STOCK-AAPL"


async def test_market_buy_pays_the_ask_plus_fee_exactly(database_url: str) -> None:
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock) as platform:
        platform.book.update(quote(clock, BTC, "150000000", bid="149990000", ask="150010000"))
        user = await new_user(platform)
        order = await place(platform, user, BTC, "BUY", "0.001")

        assert order.status == "FILLED"
        assert order.price == Decimal("150010000")
        assert order.applied_exchange_rate == 1
        assert order.total_krw == Decimal("150010.00000000")
        assert order.fee_krw == Decimal("75.00500000")  # 0.05% Upbit
        assert await wallet(platform, user) == INITIAL - Decimal("150085.005")
        assert await ledger_sum(platform, user) == await wallet(platform, user)
        assert await position(platform, user, BTC) == (Decimal("0.001"), Decimal("150010000"))
        stored = await platform.pool.fetchrow("SELECT * FROM orders WHERE id = $1", order.id)
        assert stored["status"] == "FILLED"
        assert stored["total_krw"] == order.total_krw


async def test_sell_receives_the_bid_minus_fee_and_keeps_average(database_url: str) -> None:
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock) as platform:
        platform.book.update(
            quote(clock, SAMSUNG, "71000", bid="70900", ask="71100", currency="KRW")
        )
        user = await new_user(platform)
        await place(platform, user, SAMSUNG, "BUY", "10")
        platform.book.update(
            quote(clock, SAMSUNG, "72000", bid="71900", ask="72100", currency="KRW")
        )
        sold = await place(platform, user, SAMSUNG, "SELL", "4")

        assert sold.status == "FILLED"
        assert sold.price == Decimal("71900")
        assert sold.total_krw == Decimal("287600")
        assert sold.fee_krw == Decimal("618.34")  # 0.215%: commission and transaction tax
        assert await position(platform, user, SAMSUNG) == (Decimal("6"), Decimal("71100"))
        bought_cost = Decimal("711000") + Decimal("106.65")
        assert await wallet(platform, user) == INITIAL - bought_cost + Decimal("287600") - Decimal(
            "618.34"
        )
        last = await place(platform, user, SAMSUNG, "SELL", "6")
        assert last.status == "FILLED"
        assert await position(platform, user, SAMSUNG) == (Decimal(0), Decimal(0))
        assert await ledger_sum(platform, user) == await wallet(platform, user)


async def test_average_price_is_quantity_weighted(database_url: str) -> None:
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock) as platform:
        user = await new_user(platform)
        platform.book.update(quote(clock, BTC, "100000000"))
        await place(platform, user, BTC, "BUY", "0.002")
        platform.book.update(quote(clock, BTC, "130000000"))
        await place(platform, user, BTC, "BUY", "0.001")
        # (0.002 x 100M + 0.001 x 130M) / 0.003 = 110M
        assert await position(platform, user, BTC) == (Decimal("0.003"), Decimal("110000000"))


@pytest.mark.parametrize(
    ("side", "quantity", "reason"),
    [("BUY", "1", "insufficient_cash"), ("SELL", "0.1", "insufficient_quantity")],
)
async def test_not_enough_cash_or_holdings_fails(
    database_url: str, side: str, quantity: str, reason: str
) -> None:
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock) as platform:
        platform.book.update(quote(clock, BTC, "150000000"))
        user = await new_user(platform)
        order = await place(platform, user, BTC, side, quantity)
        assert (order.status, order.reason) == ("FAILED", reason)
        assert await wallet(platform, user) == INITIAL
        assert await position(platform, user, BTC) is None
        row = await platform.pool.fetchrow(
            "SELECT status, reason FROM orders WHERE id = $1", order.id
        )
        assert (row["status"], row["reason"]) == ("FAILED", reason)


async def test_buying_exactly_all_cash_is_allowed(database_url: str) -> None:
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock) as platform:
        # 0.001 x 99,950,024.98750625 = 99,950.02498751 (rounded), fee 0.05% = 49.97501249
        platform.book.update(quote(clock, BTC, "99950024.98750625"))
        user = await new_user(platform, cash=Decimal("100000"))
        order = await place(platform, user, BTC, "BUY", "0.001")
        assert order.status == "FILLED", order.reason
        assert await wallet(platform, user) == Decimal("100000") - order.total_krw - order.fee_krw


async def test_closed_market_and_missing_or_stale_prices_fail(database_url: str) -> None:
    clock = TestClock(US_OPEN)  # KRX is closed at 00:00 KST
    async with running_platform(database_url, clock) as platform:
        clock.advance(11)  # past the start-up grace in which orders wait for a first price
        user = await new_user(platform)
        platform.book.update(quote(clock, SAMSUNG, "71000", currency="KRW"))
        assert (await place(platform, user, SAMSUNG, "BUY", "1")).reason == "market_closed"
        assert (await place(platform, user, "CRYPTO-COIN-ETH", "BUY", "1")).reason == "no_price"
        platform.book.update(quote(clock, BTC, "150000000"))
        clock.advance(5.5)
        assert (await place(platform, user, BTC, "BUY", "0.001")).reason == "stale_price"
        assert await wallet(platform, user) == INITIAL


async def test_usd_asset_converts_at_the_current_rate(database_url: str) -> None:
    clock = TestClock(US_OPEN)
    async with running_platform(database_url, clock) as platform:
        clock.advance(11)  # past the start-up grace in which orders wait for a first price
        user = await new_user(platform)
        platform.book.update(
            quote(clock, AAPL, "230.15", bid="230.10", ask="230.20", currency="USD")
        )
        assert (await place(platform, user, AAPL, "BUY", "2")).reason == "stale_fx_rate"

        platform.book.update(usd_krw(clock, "1452.35"))
        order = await place(platform, user, AAPL, "BUY", "2")
        assert order.status == "FILLED"
        assert order.currency == "USD"
        assert order.applied_exchange_rate == Decimal("1452.35")
        assert order.total_krw == Decimal("668661.94")  # 230.20 x 2 x 1452.35 = 668,661.94
        assert order.fee_krw == Decimal("1671.65485")  # 0.25%
        assert await position(platform, user, AAPL) == (Decimal("2"), Decimal("230.20"))

        clock.advance(61)  # the rate is now older than the 60 s FX limit
        platform.book.update(quote(clock, AAPL, "231", currency="USD"))
        assert (await place(platform, user, AAPL, "SELL", "1")).reason == "stale_fx_rate"


async def test_limit_order_rests_until_the_price_crosses(database_url: str) -> None:
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock) as platform:
        user = await new_user(platform)
        platform.book.update(quote(clock, BTC, "150000000", ask="150010000"))
        order = await submit(platform, user, BTC, "BUY", "0.01", limit_price="149000000")
        await eventually(lambda: sum(a.resting_orders for a in platform.settlement) == 1)
        clock.advance(1)
        await tick(platform, quote(clock, BTC, "149500000", ask="149600000"))
        clock.advance(1)
        assert (
            await platform.pool.fetchval("SELECT status FROM orders WHERE id = $1", order.id)
            == "PENDING"
        )
        # Only a tick wakes it (no timer re-settles resting orders): a quote crossing the limit
        # put straight into the book, as no feeder does, leaves it resting.
        platform.book.update(quote(clock, BTC, "148000000", ask="148500000"))
        await anyio.sleep(1)
        assert (
            await platform.pool.fetchval("SELECT status FROM orders WHERE id = $1", order.id)
            == "PENDING"
        )
        await tick(platform, quote(clock, BTC, "148000000", ask="148500000"))
        clock.advance(1)
        filled = await outcome(platform, order.id)
        assert filled.status == "FILLED"
        # SPEC 6A: a resting limit fills at its limit when the market reaches it (v1 gave it
        # the better ask; a resting order has no claim to a price nobody offered it).
        assert filled.price == Decimal("149000000")


async def test_cancel_a_resting_limit_order(database_url: str) -> None:
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock) as platform:
        user = await new_user(platform)
        other = await new_user(platform)
        platform.book.update(quote(clock, BTC, "150000000"))
        order = await submit(platform, user, BTC, "BUY", "0.01", limit_price="100000000")
        # Someone else cannot cancel it; they learn nothing about it either.
        assert await platform.cancel(other.id, order.id) is None
        cancelled = await platform.cancel(user.id, order.id)
        assert cancelled is not None
        assert cancelled.cancelled
        assert (cancelled.order.status, cancelled.order.reason) == ("CANCELLED", "user_cancelled")
        again = await platform.cancel(user.id, order.id)
        assert again is not None
        assert not again.cancelled
        assert again.order.status == "CANCELLED"


async def test_limit_order_expires(database_url: str) -> None:
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock, PAPERTRADE_GTC_DAYS="1") as platform:
        user = await new_user(platform)
        platform.book.update(quote(clock, BTC, "150000000"))
        order = await submit(platform, user, BTC, "BUY", "0.001", limit_price="10000000")
        clock.advance(86400)
        ended = await outcome(platform, order.id)
        assert (ended.status, ended.reason) == ("CANCELLED", "expired")


async def test_pending_orders_are_settled_after_a_restart(database_url: str) -> None:
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock) as platform:
        user = await new_user(platform)
        # Recorded but never handed to settlement: the process died in between.
        orders = [
            await platform.recorder.record(
                build_order(
                    OrderRequest(ticker_id=BTC, side="BUY", quantity="0.001"),
                    user.id,
                    platform.instruments,
                    clock.now(),
                )
            )
            for _ in range(3)
        ]
    pending = {order.id for order, created in orders if created}
    assert len(pending) == 3
    async with running_platform(database_url, clock) as platform:
        # The book is empty at start: recovered market orders wait for a first price.
        clock.advance(2)
        await tick(platform, quote(clock, BTC, "150000000"))
        settled = await outcomes(platform, pending)
        assert {o.status for o in settled.values()} == {"FILLED"}
        assert await ledger_rows(platform, *pending) == 3
        assert await ledger_sum(platform, user) == await wallet(platform, user)
        assert await position(platform, user, BTC) == (Decimal("0.003"), Decimal("150000000"))


async def test_without_a_price_after_the_start_grace_market_orders_fail(database_url: str) -> None:
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock) as platform:
        user = await new_user(platform)
        order = await submit(platform, user, BTC, "BUY", "0.001")
        clock.advance(11)
        failed = await outcome(platform, order.id)
        assert (failed.status, failed.reason) == ("FAILED", "no_price")


async def test_a_duplicate_delivery_settles_once(database_url: str) -> None:
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock) as platform:
        platform.book.update(quote(clock, BTC, "150000000"))
        user = await new_user(platform)
        order = await place(platform, user, BTC, "BUY", "0.001")
        inbox = platform.inbox_of(user.id)
        await inbox.send(SettleOrder(order))  # redelivered, e.g. by the broker
        second = await place(platform, user, BTC, "BUY", "0.001")
        assert second.status == "FILLED"
        assert await ledger_rows(platform, order.id) == 1
        assert await position(platform, user, BTC) == (Decimal("0.002"), Decimal("150000000"))


async def test_outside_changes_to_a_wallet_are_noticed(database_url: str) -> None:
    """Settlement caches balances; a change behind its back (an admin reset) must not be lost."""
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock) as platform:
        platform.book.update(quote(clock, BTC, "100000000"))
        user = await new_user(platform)
        await place(platform, user, BTC, "BUY", "0.01")  # caches the wallet
        from daemon.accounts import reset_account

        await reset_account(platform.pool, user.username, Decimal("5000000"))
        order = await place(platform, user, BTC, "BUY", "0.01")
        assert order.status == "FILLED"
        assert await wallet(platform, user) == Decimal("5000000") - order.total_krw - order.fee_krw
        assert await position(platform, user, BTC) == (Decimal("0.01"), Decimal("100000000"))
        assert await ledger_sum(platform, user) == await wallet(platform, user)


async def test_same_client_order_id_is_the_same_order(database_url: str) -> None:
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock) as platform:
        platform.book.update(quote(clock, BTC, "150000000"))
        user = await new_user(platform)
        first = await submit(platform, user, BTC, "BUY", "0.001", client_order_id="abc-1")
        await outcome(platform, first.id)
        again = await submit(platform, user, BTC, "BUY", "0.001", client_order_id="abc-1")
        assert again.id == first.id
        assert again.status == "FILLED"
        assert (
            await platform.pool.fetchval("SELECT count(*) FROM orders WHERE user_id = $1", user.id)
            == 1
        )


async def test_value_too_large_is_refused_not_truncated(database_url: str) -> None:
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock) as platform:
        platform.book.update(quote(clock, BTC, "999999999999"))
        user = await new_user(platform)
        order = await place(platform, user, BTC, "BUY", "999999")
        assert (order.status, order.reason) == ("FAILED", "value_too_large")
        assert timedelta(0) <= clock.now() - order.created_at


async def test_the_same_order_twice_in_one_batch_settles_once(database_url: str) -> None:
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock) as platform:
        platform.book.update(quote(clock, BTC, "150000000"))
        user = await new_user(platform)
        request = OrderRequest(ticker_id=BTC, side="BUY", quantity="0.001")
        order, _ = await platform.recorder.record(
            build_order(request, user.id, platform.instruments, clock.now())
        )
        inbox = platform.inbox_of(user.id)
        with structlog.testing.capture_logs() as logs:
            inbox.send_nowait(SettleOrder(order))  # both land in the inbox before the actor
            inbox.send_nowait(SettleOrder(order))  # runs, so they are one batch
            settled = await outcome(platform, order.id)
        assert settled.status == "FILLED"
        assert not [e for e in logs if e["event"] in ("actor_crashed", "settlement_state_stale")]
        later = await place(platform, user, BTC, "BUY", "0.001")  # the actor is still healthy
        assert later.status == "FILLED"
        assert await ledger_rows(platform, order.id) == 1


async def test_an_order_ended_behind_settlements_back_is_never_filled(database_url: str) -> None:
    """The database, not the actor's memory, has the last word on PENDING."""
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock) as platform:
        platform.book.update(quote(clock, BTC, "150000000"))
        user = await new_user(platform)
        order = await submit(platform, user, BTC, "BUY", "0.001", limit_price="100000000")
        # Another process (an admin tool, a second daemon by mistake) ends it meanwhile. The
        # actor may notice at its next look at its resting orders, whenever that is: capture
        # from the moment the database changes.
        with structlog.testing.capture_logs() as logs:
            await platform.pool.execute(
                "UPDATE orders SET status = 'CANCELLED', reason = 'account_reset' WHERE id = $1",
                order.id,
            )
            platform.book.update(quote(clock, BTC, "99000000"))  # now the limit is crossed
            clock.advance(1)
            later = await place(platform, user, BTC, "BUY", "0.001")  # settles after the retry
        assert later.status == "FILLED"
        assert [e for e in logs if e["event"] == "settlement_state_stale"]
        assert not [e for e in logs if e["event"] == "actor_crashed"]
        row = await platform.pool.fetchrow(
            "SELECT status, reason FROM orders WHERE id = $1", order.id
        )
        assert (row["status"], row["reason"]) == ("CANCELLED", "account_reset")
        assert await ledger_rows(platform, order.id) == 0
        assert await position(platform, user, BTC) == (Decimal("0.001"), Decimal("99000000"))


async def test_a_crypto_order_below_upbits_minimum_fails_at_settlement(database_url: str) -> None:
    """Built where no price was known (as the edge does), it is checked when it is decided."""
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock) as platform:
        user = await new_user(platform)
        platform.book.update(quote(clock, BTC, "150000000"))
        order = await submit(platform, user, BTC, "BUY", "0.00001")
        ended = await outcome(platform, order.id)
        assert (ended.status, ended.reason) == ("FAILED", "below_minimum")
        assert await wallet(platform, user) == INITIAL
