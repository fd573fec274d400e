"""SPEC 6A end to end through settlement on the real PostgreSQL: every order type and time in
force on scripted price paths, receipts and history, expiry on the real calendars, restart."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import anyio
import pytest

from daemon.clock import TestClock
from daemon.messages import OrderChanges, SettleOrder
from daemon.order_requests import OrderRequest, build_order
from daemon.sqlfiles import query
from tests.conftest import KRX_OPEN, quote, running_platform, tick, usd_krw
from tests.fakes.waiting import eventually
from tests.settlement_helpers import (
    INITIAL,
    changed,
    event_kinds,
    fill_rules,
    new_user,
    outcome,
    outcomes,
    place,
    stored_order,
    submit_request,
    wallet,
)

pytestmark = pytest.mark.anyio
BTC = "CRYPTO-COIN-BTC"
SAMSUNG = "KRX-STOCK-005930"
AAPL = "US-STOCK-AAPL"
D = Decimal


def btc(clock: TestClock, last: str, spread: str = "10000"):  # type: ignore[no-untyped-def]
    return quote(clock, BTC, last, bid=str(D(last) - D(spread)), ask=str(D(last) + D(spread)))


async def until(check: Callable[[], Awaitable[bool]], seconds: float = 10) -> None:
    with anyio.fail_after(seconds):
        # Polling: the database row is settlement's, which signals nothing we could await.
        while not await check():  # noqa: ASYNC110
            await anyio.sleep(0.01)


def reserved_cash(platform, user) -> Decimal:  # type: ignore[no-untyped-def]
    return sum((a.ledger.reserved_cash(user.id) for a in platform.settlement), D(0))


async def test_stop_sell_triggers_exactly_at_its_stop_and_fills_at_the_bid(
    database_url: str,
) -> None:
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock) as platform:
        user = await new_user(platform)
        platform.book.update(btc(clock, "150000000"))
        await place(platform, user, BTC, "BUY", "0.01")
        order = await submit_request(
            platform, user, ticker_id=BTC, side="SELL", type="STOP", quantity="0.01",
            stop_price="140000000",
        )  # fmt: skip
        rested = await changed(platform, order.id, "rested")
        assert rested.time_in_force == "GTC"  # crypto's default
        assert rested.expires_at == order.created_at + timedelta(days=90)
        clock.advance(1)
        await tick(platform, quote(clock, BTC, "140000001", bid="140000000", ask="140010000"))
        clock.advance(1)  # the bid touched the stop: that is a trigger (bid <= stop)
        filled = await outcome(platform, order.id)
        assert filled.status == "FILLED"
        assert filled.price == D("140000000")  # the bid, a MARKET from the trigger on
        assert filled.triggered_at is not None
        assert await fill_rules(platform, order.id) == [("stop_triggered_market", D("140000000"))]
        assert await event_kinds(platform, order.id) == [
            "accepted",
            "rested",
            "triggered",
            "filled",
        ]


async def test_a_resting_limit_reached_exactly_fills_at_its_limit(database_url: str) -> None:
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock) as platform:
        user = await new_user(platform)
        platform.book.update(btc(clock, "150000000"))
        order = await submit_request(
            platform, user, ticker_id=BTC, side="BUY", type="LIMIT", quantity="0.01",
            limit_price="149000000",
        )  # fmt: skip
        rested = await changed(platform, order.id, "rested")
        # The limit's worth plus the 0.05 % fee is held back, and shows in the portfolio.
        assert rested.reserved_krw == D("1490745.00000000")
        assert reserved_cash(platform, user) == rested.reserved_krw
        clock.advance(1)
        await tick(platform, quote(clock, BTC, "149100000", bid="148990000", ask="149000000"))
        filled = await outcome(platform, order.id)
        assert (filled.status, filled.price) == ("FILLED", D("149000000"))
        assert await fill_rules(platform, order.id) == [("limit_reached_at_limit", D("149000000"))]
        assert reserved_cash(platform, user) == 0
        assert await wallet(platform, user) == INITIAL - D("1490000") - D("745")


async def test_a_market_sell_cannot_sell_what_a_resting_sell_holds(database_url: str) -> None:
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock) as platform:
        user = await new_user(platform)
        platform.book.update(btc(clock, "150000000"))
        await place(platform, user, BTC, "BUY", "0.01")
        held = await submit_request(
            platform, user, ticker_id=BTC, side="SELL", type="LIMIT", quantity="0.01",
            limit_price="200000000",
        )  # fmt: skip
        await changed(platform, held.id, "rested")
        # The whole position is held by the resting sell: a MARKET SELL (it holds nothing, it
        # executes now) of any of it is refused, and an IOC likewise.
        market = await place(platform, user, BTC, "SELL", "0.005")
        assert (market.status, market.reason) == ("FAILED", "insufficient_quantity")
        ioc = await submit_request(
            platform, user, ticker_id=BTC, side="SELL", type="LIMIT", quantity="0.005",
            limit_price="100000000", time_in_force="IOC",
        )  # fmt: skip
        assert (await outcome(platform, ioc.id)).reason == "insufficient_quantity"
        # Cancelled, the resting sell lets go: the same MARKET SELL fills.
        await platform.cancel(user.id, held.id)
        sold = await place(platform, user, BTC, "SELL", "0.005")
        assert sold.status == "FILLED"


async def test_stop_limit_triggered_and_marketable_fills_at_the_ask(database_url: str) -> None:
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock) as platform:
        user = await new_user(platform)
        platform.book.update(btc(clock, "150000000"))
        order = await submit_request(
            platform, user, ticker_id=BTC, side="BUY", type="STOP_LIMIT", quantity="0.01",
            stop_price="151000000", limit_price="151500000",
        )  # fmt: skip
        await changed(platform, order.id, "rested")
        clock.advance(1)
        await tick(platform, quote(clock, BTC, "150900000", bid="150890000", ask="151000000"))
        filled = await outcome(platform, order.id)
        assert (filled.status, filled.price) == ("FILLED", D("151000000"))
        assert await fill_rules(platform, order.id) == [("marketable_at_ask", D("151000000"))]


async def test_trailing_stop_marks_follow_the_high_and_trigger(database_url: str) -> None:
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock) as platform:
        rested = await resting_btc_sell(
            platform, clock, type="TRAILING_STOP", trail_amount="1000000"
        )
        order = rested
        assert (rested.trail_mark, rested.stop_price) == (D("150000000"), D("149000000"))
        for last in ("152000000", "151500000", "155000000"):  # stop 151,000,000 not reached
            clock.advance(1)
            await tick(platform, btc(clock, last))

        async def marked() -> bool:
            row = await stored_order(platform, order.id)
            return row.trail_mark == D("155000000")

        await until(marked)
        stored = await stored_order(platform, order.id)
        assert stored.stop_price == D("154000000")  # persisted with the mark that moved it
        clock.advance(1)
        await tick(platform, btc(clock, "154000000"))
        filled = await outcome(platform, order.id)
        assert (filled.status, filled.price) == ("FILLED", D("153990000"))  # the bid


def open_order(platform, order_id):  # type: ignore[no-untyped-def]
    """The order as its settlement partition holds it in memory."""
    return next(o for a in platform.settlement if (o := a.open_order(order_id)) is not None)


async def test_trailing_marks_are_written_behind_the_ticks_and_when_the_daemon_stops(
    database_url: str,
) -> None:
    clock = TestClock(KRX_OPEN)
    slow = {"PAPERTRADE_TRAIL_MARK_WRITE_SECONDS": "60"}
    async with running_platform(database_url, clock, **slow) as platform:
        order = await resting_btc_sell(
            platform, clock, type="TRAILING_STOP", trail_amount="1000000"
        )
        clock.advance(1)
        await tick(platform, btc(clock, "152000000"))  # the first move after a quiet spell

        async def stored_mark() -> Decimal | None:
            return (await stored_order(platform, order.id)).trail_mark

        await until(lambda: _equals(stored_mark(), D("152000000")))
        clock.advance(1)
        await tick(platform, btc(clock, "155000000"))  # within the interval: memory only
        await eventually(lambda: open_order(platform, order.id).trail_mark == D("155000000"))
        assert await stored_mark() == D("152000000")
    async with running_platform(database_url, clock) as platform:
        stored = await stored_order(platform, order.id)
        assert (stored.trail_mark, stored.stop_price) == (D("155000000"), D("154000000"))
        clock.advance(1)
        await tick(platform, btc(clock, "154000000"))
        filled = await outcome(platform, order.id)
        assert (filled.status, filled.price) == ("FILLED", D("153990000"))


async def _equals(value: Awaitable[Decimal | None], expected: Decimal) -> bool:
    return await value == expected


async def resting_btc_sell(platform, clock, **fields):  # type: ignore[no-untyped-def]
    """A new user who bought 0.01 BTC at 150,000,000, and their SELL of it (`fields`) as it
    rested."""
    user = await new_user(platform)
    platform.book.update(btc(clock, "150000000"))
    await place(platform, user, BTC, "BUY", "0.01")
    order = await submit_request(
        platform, user, ticker_id=BTC, side="SELL", quantity="0.01", **fields
    )
    return await changed(platform, order.id, "rested")


def burst(platform, *quotes) -> None:  # type: ignore[no-untyped-def]
    """Quotes that pass the market hub within one turn of the event loop: settlement hears each
    before it looks at any of them."""
    for data in quotes:
        platform.book.update(data)
        for actor in platform.settlement:
            actor.on_market(data)


async def test_a_dip_through_a_limit_and_back_within_one_turn_still_fills_it(
    database_url: str,
) -> None:
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock) as platform:
        user = await new_user(platform)
        platform.book.update(btc(clock, "150000000"))
        order = await submit_request(
            platform, user, ticker_id=BTC, side="BUY", type="LIMIT", quantity="0.01",
            limit_price="149000000",
        )  # fmt: skip
        await changed(platform, order.id, "rested")
        clock.advance(1)
        dip = btc(clock, "149000000")
        burst(platform, dip, btc(clock, "151000000"))  # the ask of the second is far above
        filled = await outcome(platform, order.id)
        assert (filled.status, filled.price) == ("FILLED", D("149000000"))
        row = await platform.pool.fetchrow(query("orders_fills"), order.id)
        assert (row["rule"], row["quote_price"]) == ("limit_reached_at_limit", D("149000000"))


async def test_a_trailing_stop_judges_each_tick_in_turn_rise_dip_and_rise(
    database_url: str,
) -> None:
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock) as platform:
        order = await resting_btc_sell(
            platform, clock, type="TRAILING_STOP", trail_amount="1000000"
        )
        clock.advance(1)
        # 155,000,000 moves the stop to 154,000,000; the dip to it triggers; the new high after
        # it must neither undo the trigger nor be the mark the dip is judged against.
        burst(
            platform,
            btc(clock, "155000000"),
            btc(clock, "154000000"),
            btc(clock, "157000000"),
        )
        filled = await outcome(platform, order.id)
        assert filled.status == "FILLED"
        assert filled.trail_mark == D("155000000")
        row = await platform.pool.fetchrow(query("orders_fills"), order.id)
        assert (row["rule"], row["quote_price"]) == ("stop_triggered_market", D("154000000"))


async def test_quotes_that_come_during_a_commit_are_judged_in_order_before_later_ones(
    database_url: str,
) -> None:
    """Between turns settlement judges each quote as it comes; while a batch is in flight it
    notes them, and judges them when the batch is done, before any quote that comes after."""
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock) as platform:
        order = await resting_btc_sell(
            platform, clock, type="TRAILING_STOP", trail_amount="1000000"
        )
        async with platform.pool.acquire() as holder, holder.transaction():
            # The user's wallet row held: their next batch waits in its commit.
            await holder.execute(
                "SELECT 1 FROM wallets WHERE user_id = $1 FOR UPDATE", order.user_id
            )
            request = OrderRequest(ticker_id=BTC, side="BUY", type="MARKET", quantity="0.001")
            buy, _ = await platform.recorder.record(
                build_order(request, order.user_id, platform.instruments, clock.now())
            )
            platform.inbox_of(order.user_id).send_nowait(SettleOrder(buy))
            await until(lambda: _a_commit_waits_for_a_lock(platform))
            clock.advance(1)
            burst(platform, btc(clock, "155000000"), btc(clock, "154000000"))  # noted
        assert (await outcome(platform, buy.id)).status == "FILLED"
        await eventually(lambda: not any(a._in_turn for a in platform.settlement))
        burst(platform, btc(clock, "157000000"))  # after that turn: judged after the two
        filled = await outcome(platform, order.id)
        assert (filled.status, filled.trail_mark) == ("FILLED", D("155000000"))
        row = await platform.pool.fetchrow(query("orders_fills"), order.id)
        assert (row["rule"], row["quote_price"]) == ("stop_triggered_market", D("154000000"))


async def _a_commit_waits_for_a_lock(platform) -> bool:  # type: ignore[no-untyped-def]
    waiting = await platform.pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    return bool(waiting)


async def test_an_order_that_waited_for_a_price_is_not_overtaken_by_its_users_next_one(
    database_url: str,
) -> None:
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock) as platform:
        user = await new_user(platform)
        buy = await submit_request(
            platform, user, ticker_id=BTC, side="BUY", type="MARKET", quantity="0.01"
        )  # no BTC price yet: it waits out the start-up grace for one
        await eventually(lambda: any(buy.id in a._waiting for a in platform.settlement))
        request = OrderRequest(ticker_id=BTC, side="SELL", type="MARKET", quantity="0.01")
        sell, _ = await platform.recorder.record(
            build_order(request, user.id, platform.instruments, clock.now())
        )
        # The first price and the SELL reach settlement in the same turn: the BUY, older,
        # must settle first, or the SELL finds nothing to sell.
        burst(platform, btc(clock, "150000000"))
        platform.inbox_of(user.id).send_nowait(SettleOrder(sell))
        ended = await outcomes(platform, {buy.id, sell.id})
        assert (ended[buy.id].status, ended[sell.id].status) == ("FILLED", "FILLED")


async def test_ioc_and_fok_not_marketable_end_at_once(database_url: str) -> None:
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock) as platform:
        user = await new_user(platform)
        platform.book.update(btc(clock, "150000000"))
        limit = dict(ticker_id=BTC, side="BUY", type="LIMIT", quantity="0.01",
                     limit_price="149000000")  # fmt: skip
        ioc = await submit_request(platform, user, time_in_force="IOC", **limit)
        fok = await submit_request(platform, user, time_in_force="FOK", **limit)
        assert ((await outcome(platform, ioc.id)).status, (await stored_order(platform, ioc.id)).reason) == ("CANCELLED", "ioc_unfilled")  # fmt: skip
        ended = await stored_order(platform, fok.id)
        if ended.is_open:
            ended = await outcome(platform, fok.id)
        assert (ended.status, ended.reason) == ("FAILED", "fok_unfilled")
        assert reserved_cash(platform, user) == 0
        assert await wallet(platform, user) == INITIAL


async def test_market_buy_by_amount_takes_the_most_lots_that_fit(database_url: str) -> None:
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock) as platform:
        user = await new_user(platform)
        platform.book.update(btc(clock, "99990000"))  # ask 100,000,000
        order = await submit_request(
            platform, user, ticker_id=BTC, side="BUY", type="MARKET", amount_krw="100000"
        )
        assert order.quantity is None
        filled = await outcome(platform, order.id)
        assert filled.status == "FILLED"
        # 0.00099950 BTC = 99,950 KRW + 49.975 fee = 99,999.975 <= 100,000; one more step is over.
        assert filled.filled_quantity == D("0.00099950")
        assert filled.total_krw + filled.fee_krw <= D("100000")
        assert await wallet(platform, user) == INITIAL - filled.total_krw - filled.fee_krw


async def test_day_order_expires_at_the_early_close_after_a_holiday(database_url: str) -> None:
    # Wednesday 2026-11-25 after the NYSE close; Thursday is Thanksgiving; Friday closes at 13:00
    # New York time (18:00 UTC).
    clock = TestClock(datetime(2026, 11, 25, 22, 0, tzinfo=UTC))
    async with running_platform(database_url, clock) as platform:
        user = await new_user(platform)
        platform.book.update(usd_krw(clock, "1400"))
        order = await submit_request(
            platform, user, ticker_id=AAPL, side="BUY", type="LIMIT", quantity="1",
            limit_price="200",
        )  # fmt: skip
        rested = await changed(platform, order.id, "rested")
        early_close = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
        assert rested.expires_at == early_close
        # 200 USD x 1400 x (1 + 2 % FX margin) + 0.25 % commission, rounded up.
        assert rested.reserved_krw == D("285600") + D("714")
        clock.set(early_close - timedelta(seconds=1))
        platform.book.update(usd_krw(clock, "1400"))
        await tick(platform, quote(clock, AAPL, "210", bid="209.99", ask="210.01", currency="USD"))
        clock.set(early_close)
        ended = await outcome(platform, order.id)
        assert (ended.status, ended.reason) == ("CANCELLED", "expired")
        assert reserved_cash(platform, user) == 0


async def test_a_session_opening_through_a_limit_fills_at_the_first_quote(
    database_url: str,
) -> None:
    opens = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)  # 09:00 KST, a Thursday
    clock = TestClock(opens - timedelta(hours=1))
    async with running_platform(database_url, clock) as platform:
        user = await new_user(platform)
        order = await submit_request(
            platform, user, ticker_id=SAMSUNG, side="BUY", type="LIMIT", quantity="10",
            limit_price="70000",
        )  # fmt: skip
        rested = await changed(platform, order.id, "rested")
        assert rested.time_in_force == "DAY"
        opg = await submit_request(
            platform, user, ticker_id=SAMSUNG, side="BUY", type="LIMIT", quantity="1",
            limit_price="70000", time_in_force="OPG",
        )  # fmt: skip
        await changed(platform, opg.id, "rested")
        clock.set(opens + timedelta(seconds=2))
        await tick(
            platform, quote(clock, SAMSUNG, "69000", bid="68900", ask="69100", currency="KRW")
        )
        filled = await outcome(platform, order.id)
        assert (filled.status, filled.price) == ("FILLED", D("69100"))
        assert await fill_rules(platform, order.id) == [("session_open_through_limit", D("69100"))]
        opened = await stored_order(platform, opg.id)
        if opened.is_open:
            opened = await outcome(platform, opg.id)
        assert (opened.status, opened.price) == ("FILLED", D("69100"))
        assert await fill_rules(platform, opg.id) == [("opg_first_quote", D("69100"))]


async def test_modify_recomputes_the_reservation_and_cancel_releases_it(
    database_url: str,
) -> None:
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock) as platform:
        user = await new_user(platform, cash=D("2000000"))
        platform.book.update(btc(clock, "150000000"))
        order = await submit_request(
            platform, user, ticker_id=BTC, side="BUY", type="LIMIT", quantity="0.01",
            limit_price="100000000",
        )  # fmt: skip
        await changed(platform, order.id, "rested")
        modified = await platform.modify(
            user.id, order.id, OrderChanges(limit_price=D("120000000"))
        )
        assert modified.limit_price == D("120000000")  # type: ignore[union-attr]
        assert modified.reserved_krw == D("1200600")  # type: ignore[union-attr]
        assert reserved_cash(platform, user) == D("1200600")
        refused = await platform.modify(user.id, order.id, OrderChanges(quantity=D("0.02")))
        assert refused.status == 409  # type: ignore[union-attr]
        assert "insufficient_cash" in refused.detail  # type: ignore[union-attr]
        assert reserved_cash(platform, user) == D("1200600")  # nothing changed
        # Raised through the ask, it is judged as a new order: it fills at the ask.
        through = await platform.modify(user.id, order.id, OrderChanges(limit_price=D("160000000")))
        assert (through.status, through.price) == ("FILLED", D("150010000"))  # type: ignore[union-attr]
        events = await event_kinds(platform, order.id)
        assert events == ["accepted", "rested", "modified", "modified", "filled"]
        second = await submit_request(
            platform, user, ticker_id=BTC, side="BUY", type="LIMIT", quantity="0.001",
            limit_price="100000000",
        )  # fmt: skip
        await changed(platform, second.id, "rested")
        assert reserved_cash(platform, user) > 0
        cancelled = await platform.cancel(user.id, second.id)
        assert cancelled is not None
        assert (cancelled.order.status, cancelled.order.reserved_krw) == ("CANCELLED", 0)
        assert reserved_cash(platform, user) == 0


async def test_resting_orders_of_every_type_survive_a_restart(database_url: str) -> None:
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock) as platform:
        user = await new_user(platform)
        platform.book.update(btc(clock, "150000000"))
        await place(platform, user, BTC, "BUY", "0.04")
        shapes = [
            dict(side="BUY", type="LIMIT", limit_price="140000000"),
            dict(side="SELL", type="STOP", stop_price="140000000"),
            dict(side="BUY", type="STOP_LIMIT", stop_price="160000000", limit_price="161000000"),
            dict(side="SELL", type="TRAILING_STOP", trail_percent="2"),
            dict(side="SELL", type="LIMIT", limit_price="170000000"),
        ]
        orders = []
        for shape in shapes:
            order = await submit_request(platform, user, ticker_id=BTC, quantity="0.01", **shape)
            await changed(platform, order.id, "rested")
            orders.append(order)
        clock.advance(1)
        await tick(platform, btc(clock, "155000000"))  # the trailing mark moves: stop 151,900,000

        async def marked() -> bool:
            return (await stored_order(platform, orders[3].id)).trail_mark == D("155000000")

        await until(marked)
        before = reserved_cash(platform, user)
    async with running_platform(database_url, clock) as platform:
        assert sum(a.resting_orders for a in platform.settlement) == 5
        assert reserved_cash(platform, user) == before
        trailing = open_order(platform, orders[3].id)
        assert (trailing.trail_mark, trailing.stop_price) == (D("155000000"), D("151900000"))
        clock.advance(1)
        await tick(platform, btc(clock, "151900000"))  # the trailing stop, not the plain stop
        filled = await outcome(platform, orders[3].id)
        assert (filled.status, filled.price) == ("FILLED", D("151890000"))
        assert sum(a.resting_orders for a in platform.settlement) == 4
        clock.advance(1)
        await tick(platform, btc(clock, "139000000"))  # the limit buy and the stop sell
        assert (await outcome(platform, orders[0].id)).price == D("140000000")
        assert (await stored_order(platform, orders[1].id)).status in ("FILLED", "PENDING")
        await eventually(
            lambda: sum(a.resting_orders for a in platform.settlement) == 2  # type: ignore[misc]
        )
