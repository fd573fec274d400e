"""Settlement walks the displayed book (SPEC 6B): a marketable order takes the levels it needs at
their volume-weighted price, what it took stays taken until the source's next book of that
ticker, and what the book cannot fill is cancelled `insufficient_liquidity` (MARKET)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import anyio
import pytest

from daemon.accounts import reset_account
from daemon.clock import TestClock
from daemon.engine.market import BookLevel
from daemon.messages import OrderBook
from tests.conftest import quote, running_platform, tick
from tests.settlement_helpers import (
    event_kinds,
    fill_rules,
    new_user,
    place,
    stored_order,
    submit,
    wallet,
)

pytestmark = pytest.mark.anyio
BTC = "CRYPTO-COIN-BTC"


def book(clock: TestClock, *asks: tuple[str, str]) -> OrderBook:
    now = clock.now()
    return OrderBook(
        ticker_id=BTC,
        bids=(BookLevel(Decimal("99990000"), Decimal("5")),),
        asks=tuple(BookLevel(Decimal(p), Decimal(s)) for p, s in asks),
        ts=now,
        received_at=now,
        source="test",
    )


async def show(platform, data: OrderBook) -> None:  # type: ignore[no-untyped-def]
    await platform.market_in.send(data)
    with anyio.fail_after(10):
        while platform.book.order_book(BTC) != data:  # noqa: ASYNC110 - the hub signals nothing
            await anyio.sleep(0.005)


async def test_a_market_buy_walks_the_book_and_what_it_took_stays_taken(database_url: str) -> None:
    clock = TestClock(datetime.now(UTC).replace(microsecond=0))
    async with running_platform(database_url, clock) as platform:
        user = await new_user(platform)
        await tick(platform, quote(clock, BTC, "100000000", bid="99990000", ask="100000000"))
        await show(platform, book(clock, ("100000000", "0.01"), ("100100000", "0.02")))

        walked = await place(platform, user, BTC, "BUY", "0.02")
        # 0.01 at 100,000,000 and 0.01 at 100,100,000: 100,050,000 on average.
        assert (walked.status, walked.price) == ("FILLED", Decimal("100050000"))
        assert await fill_rules(platform, walked.id) == [("book_walk_vwap", Decimal("100050000"))]

        # What is left shown: 0.01 at 100,100,000. A MARKET BUY of 0.02 takes it and the rest is
        # cancelled: the filled part stands.
        rest = await place(platform, user, BTC, "BUY", "0.02")
        assert (rest.status, rest.reason) == ("CANCELLED", "insufficient_liquidity")
        assert (rest.filled_quantity, rest.price) == (Decimal("0.01"), Decimal("100100000"))

        # The source's next book gives the liquidity back.
        await show(platform, book(clock, ("100000000", "0.01"), ("100100000", "0.02")))
        again = await place(platform, user, BTC, "BUY", "0.01")
        assert (again.status, again.price) == ("FILLED", Decimal("100000000"))
        spent = sum((o.total_krw + o.fee_krw for o in (walked, rest, again)), Decimal(0))
        assert await wallet(platform, user) == Decimal(10_000_000) - spent


async def test_a_limit_the_book_fills_in_part_rests_partly_filled_and_a_reset_cancels_it(
    database_url: str,
) -> None:
    clock = TestClock(datetime.now(UTC).replace(microsecond=0))
    async with running_platform(database_url, clock) as platform:
        user = await new_user(platform)
        await tick(platform, quote(clock, BTC, "100000000", bid="99990000", ask="100000000"))
        await show(platform, book(clock, ("100000000", "0.01"), ("100100000", "0.01")))
        order = await submit(platform, user, BTC, "BUY", "0.03", limit_price="100100000")
        with anyio.fail_after(10):
            while (shown := await stored_order(platform, order.id)).filled_quantity == 0:  # noqa: ASYNC110
                await anyio.sleep(0.02)
        assert (shown.status, shown.filled_quantity) == ("PARTIALLY_FILLED", Decimal("0.02"))
        assert shown.reserved_krw > 0  # what the rest still needs

        await reset_account(platform.pool, user.username, Decimal(10_000_000), clock.now())
        reset = await stored_order(platform, order.id)
        assert (reset.status, reset.reason, reset.reserved_krw) == (
            "CANCELLED", "account_reset", Decimal(0)
        )  # fmt: skip
        assert (await event_kinds(platform, order.id))[-1] == "cancelled"
        # The book comes back: settlement does not fill the cancelled rest behind the reset.
        await show(platform, book(clock, ("100000000", "1")))
        bought = await place(platform, user, BTC, "BUY", "0.001")  # settlement has looked since
        assert (await stored_order(platform, order.id)).filled_quantity == Decimal("0.02")
        assert bought.total_krw is not None
        assert bought.fee_krw is not None
        assert (
            await wallet(platform, user) == Decimal(10_000_000) - bought.total_krw - bought.fee_krw
        )


async def test_a_partly_filled_limit_fills_its_rest_when_the_book_comes_back(
    database_url: str,
) -> None:
    """A second fill of one order moves cash a second time: one ledger row per fill, each once."""
    clock = TestClock(datetime.now(UTC).replace(microsecond=0))
    async with running_platform(database_url, clock) as platform:
        user = await new_user(platform)
        await tick(platform, quote(clock, BTC, "100000000", bid="99990000", ask="100000000"))
        await show(platform, book(clock, ("100000000", "0.01")))
        order = await submit(platform, user, BTC, "BUY", "0.03", limit_price="100000000")
        with anyio.fail_after(10):
            while (await stored_order(platform, order.id)).filled_quantity == 0:  # noqa: ASYNC110
                await anyio.sleep(0.02)

        # The next book shows enough at the limit; the next quote at it wakes the rest.
        await show(platform, book(clock, ("100000000", "1")))
        await tick(platform, quote(clock, BTC, "100000000", bid="99990000", ask="100000000"))
        with anyio.fail_after(10):
            while (filled := await stored_order(platform, order.id)).status != "FILLED":  # noqa: ASYNC110
                await anyio.sleep(0.02)
        assert filled.filled_quantity == Decimal("0.03")
        assert [rule for rule, _ in await fill_rules(platform, order.id)] == [
            "book_walk_vwap", "limit_reached_at_limit"
        ]  # fmt: skip
        rows = await platform.pool.fetch(
            "SELECT amount_krw FROM cash_ledger WHERE order_id = $1 ORDER BY id", order.id
        )
        assert len(rows) == 2
        assert sum(r["amount_krw"] for r in rows) == -(filled.total_krw + filled.fee_krw)
        assert (
            await wallet(platform, user) == Decimal(10_000_000) - filled.total_krw - filled.fee_krw
        )
