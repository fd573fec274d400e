"""decide() v2 on scripted price paths: every type and time in force, edges at the limit and the
stop, gaps at the open, trailing marks, IOC/FOK and the displayed book."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest

from daemon.engine import triggers
from daemon.engine.costs import NO_COSTS
from daemon.engine.decide import Account, Position
from daemon.engine.exchange_rules import PriceLimits
from daemon.engine.market import Session
from daemon.engine.trail_book import Trail
from tests.engine.scenario import CLOSED, T0, book, later, market, order, quote, run


def kinds(decision) -> list[str]:
    return [event.kind for event in decision.events]


def test_marketable_buy_fills_at_the_ask_with_fees_and_cash() -> None:
    d = run(order(), market(quote("10000", bid="9990", ask="10010")))
    (fill,) = d.fills
    assert (fill.price, fill.rule, fill.quantity) == (D(10010), triggers.MARKETABLE_AT_ASK, D(10))
    assert fill.total_krw == D("100100.00000000")
    assert [(f.kind, f.amount_krw) for f in fill.fees] == [("commission", D("15.01500000"))]
    assert fill.cash_delta == -(fill.total_krw + fill.fee_krw)
    assert d.order.status == "FILLED"
    assert d.order.filled_quantity == D(10)
    assert d.order.reserved_krw == 0
    assert d.position == Position(
        D(1010), D("9010.00000000")
    )  # (1,000 × 9,000 + 10 × 10,010) / 1,010
    assert fill.quote.ask == D(10010)
    assert kinds(d) == ["filled"]


def test_marketable_sell_fills_at_the_bid_and_pays_the_tax() -> None:
    d = run(order(side="SELL"), market(quote("10000", bid="9990", ask="10010")))
    (fill,) = d.fills
    assert (fill.price, fill.rule) == (D(9990), triggers.MARKETABLE_AT_BID)
    assert [f.kind for f in fill.fees] == ["commission", "krx_sell_tax"]
    assert fill.cash_delta == fill.total_krw - fill.fee_krw
    assert d.position.quantity == D(990)


def test_no_bid_ask_uses_the_last_trade() -> None:
    d = run(order(), market(quote("10000")))
    assert d.fills[0].rule == triggers.MARKETABLE_AT_LAST


def test_market_stock_order_while_closed_fails_with_the_next_open() -> None:
    d = run(order(), market(None, session=CLOSED))
    assert d.order.status == "FAILED"
    assert d.order.reason == "market_closed"
    assert "next opens at 2026-12-02T01:00:00Z" in (d.events[0].reason_text or "")


def test_opg_waits_for_the_first_quote_after_the_open() -> None:
    placed = order(time_in_force="OPG", created_at=T0)
    d = run(placed, market(None, session=CLOSED))
    assert d.order.status == "PENDING"
    assert kinds(d) == ["rested"]
    opened = T0 + timedelta(hours=23)
    # A later quote of the session it was placed in does not count: it is for the next open.
    same_session = run(d.order, market(quote("10000", ask="10010"), at=T0 + timedelta(minutes=1)))
    assert same_session.fills == ()
    first = Session(is_open=True, first_quote=True, opened_at=opened)
    d = run(d.order, market(quote("10500", ask="10510", at=opened), session=first, at=opened))
    assert (d.fills[0].price, d.fills[0].rule) == (D(10510), triggers.OPG_FIRST_QUOTE)


def test_resting_buy_limit_fills_at_its_limit_exactly_at_the_touch() -> None:
    d = run(
        order(type="LIMIT", limit_price=D(9900)), market(quote("10000", bid="9990", ask="10010"))
    )
    assert d.fills == ()
    assert d.order.resting_since == T0
    assert kinds(d) == ["rested"]
    resting = d.order
    # One tick above: nothing.
    assert run(resting, market(quote("9910", bid="9900", ask="9910"))).fills == ()
    # The ask reaches the limit exactly.
    d = run(resting, market(quote("9910", bid="9890", ask="9900")))
    assert (d.fills[0].price, d.fills[0].rule) == (D(9900), triggers.LIMIT_REACHED_AT_LIMIT)


def test_resting_limit_gapped_through_in_session_still_fills_at_the_limit() -> None:
    resting = run(
        order(type="LIMIT", limit_price=D(9900)), market(quote("10000", ask="10010"))
    ).order
    d = run(resting, market(quote("9500", bid="9490", ask="9500")))
    assert d.fills[0].price == D(9900)  # never better than the limit the market gave it


def test_resting_limit_reached_by_the_last_trade_only() -> None:
    resting = run(
        order(type="LIMIT", limit_price=D(9900), side="SELL"),
        market(quote("9800", bid="9790", ask="9800")),
    ).order
    d = run(resting, market(quote("9900", bid="9890", ask="9910")))
    assert (d.fills[0].price, d.fills[0].rule) == (D(9900), triggers.LIMIT_REACHED_AT_LIMIT)


def test_session_opening_through_a_limit_fills_at_the_first_quote() -> None:
    resting = run(order(type="LIMIT", limit_price=D(9900)), market(None, session=CLOSED)).order
    opened = T0 + timedelta(hours=23)
    first = Session(is_open=True, first_quote=True, opened_at=opened)
    d = run(
        resting, market(quote("9500", bid="9490", ask="9500", at=opened), session=first, at=opened)
    )
    assert (d.fills[0].price, d.fills[0].rule) == (D(9500), triggers.SESSION_OPEN_THROUGH_LIMIT)


def test_sell_stop_triggers_exactly_at_the_stop_then_is_a_market_order() -> None:
    placed = order(type="STOP", side="SELL", stop_price=D(9500))
    d = run(placed, market(quote("9510", bid="9510", ask="9520")))
    assert d.fills == ()
    assert d.order.triggered_at is None
    d = run(d.order, market(quote("9500", bid="9490", ask="9500")))
    assert kinds(d) == ["triggered", "filled"]
    assert (d.fills[0].price, d.fills[0].rule) == (D(9490), triggers.STOP_TRIGGERED_MARKET)
    assert d.order.triggered_at == T0


def test_buy_stop_triggers_on_the_ask() -> None:
    d = run(
        order(type="STOP", stop_price=D(10100)), market(quote("10090", bid="10080", ask="10100"))
    )
    assert d.fills[0].price == D(10100)


def test_stop_gapped_through_at_the_open_fills_at_the_first_quote() -> None:
    resting = run(
        order(type="STOP", side="SELL", stop_price=D(9500)), market(None, session=CLOSED)
    ).order
    opened = T0 + timedelta(hours=23)
    first = Session(is_open=True, first_quote=True, opened_at=opened)
    d = run(
        resting, market(quote("9000", bid="8990", ask="9000", at=opened), session=first, at=opened)
    )
    assert d.fills[0].price == D(8990)


def test_stop_limit_becomes_a_limit_when_triggered() -> None:
    placed = order(type="STOP_LIMIT", stop_price=D(10100), limit_price=D(10150))
    # The stop is reached but the ask is above the limit: triggered, resting as a LIMIT.
    d = run(
        run(placed, market(quote("10000", ask="10010"))).order,
        market(quote("10100", bid="10150", ask="10200")),
    )
    assert kinds(d) == ["triggered"]
    assert d.fills == ()
    assert d.order.live_type == "LIMIT"
    assert triggers.placement(d.order) == ({"buy_limit": D(10150)}, None)
    # Now it is an ordinary resting limit: reached, it fills at the limit.
    d = run(d.order, market(quote("10150", bid="10140", ask="10150")))
    assert (d.fills[0].price, d.fills[0].rule) == (D(10150), triggers.LIMIT_REACHED_AT_LIMIT)


def test_stop_limit_marketable_when_triggered_fills_at_the_ask() -> None:
    placed = run(
        order(type="STOP_LIMIT", stop_price=D(10100), limit_price=D(10150)),
        market(quote("10000", ask="10010")),
    ).order
    d = run(placed, market(quote("10100", bid="10090", ask="10110")))
    assert (d.fills[0].price, d.fills[0].rule) == (D(10110), triggers.MARKETABLE_AT_ASK)


def test_trailing_sell_stop_follows_the_high_and_triggers() -> None:
    placed = order(type="TRAILING_STOP", side="SELL", trail_percent=D(5), time_in_force="GTC")
    d = run(placed, market(quote("10000", bid="9990", ask="10010")))
    assert (d.order.trail_mark, d.order.stop_price) == (D(10000), D(9500))
    d = run(d.order, market(quote("10500", bid="10490", ask="10510")))
    # 10,500 × 0.95 = 9,975 → down to the 10 tick: 9,970 (never closer than 5 %).
    assert (d.order.trail_mark, d.order.stop_price) == (D(10500), D(9970))
    d = run(d.order, market(quote("10200", bid="10190", ask="10210")))
    assert d.order.trail_mark == D(10500)  # a lower price never lowers the mark
    assert triggers.placement(d.order) == ({}, Trail("SELL", D(10500), D(5), None))
    d = run(d.order, market(quote("9970", bid="9960", ask="9980")))
    assert (d.fills[0].price, d.fills[0].rule) == (D(9960), triggers.STOP_TRIGGERED_MARKET)


def test_trailing_buy_stop_by_amount_follows_the_low() -> None:
    d = run(order(type="TRAILING_STOP", trail_amount=D(300)), market(quote("10000", ask="10010")))
    assert d.order.stop_price == D(10300)
    d = run(d.order, market(quote("9000", ask="9010")))
    assert (d.order.trail_mark, d.order.stop_price) == (D(9000), D(9300))
    d = run(d.order, market(quote("9300", ask="9310")))
    assert d.fills[0].price == D(9310)


def test_stocks_do_not_trail_outside_the_regular_session() -> None:
    d = run(
        order(type="TRAILING_STOP", side="SELL", trail_amount=D(500)),
        market(quote("10000", bid="9990")),
    )
    extended = Session(is_open=True, regular=False, opened_at=T0)
    after = run(d.order, market(quote("11000", bid="10990"), session=extended))
    assert after.order.trail_mark == D(10000)
    crypto = order(
        ticker_id="CRYPTO-COIN-BTC",
        type="TRAILING_STOP",
        side="SELL",
        trail_amount=D(500000),
        time_in_force="GTC",
        quantity=D("0.01"),
    )
    d = run(crypto, market(quote("100000000", bid="99999000"), session=extended))
    assert d.order.trail_mark == D(100000000)


def test_stale_price_rests_a_limit_and_fails_a_market_order() -> None:
    stale = market(quote("10000", ask="10010"), quote_stale=True)
    assert run(order(), stale).order.reason == "stale_price"
    assert run(order(type="LIMIT", limit_price=D(10000)), stale).order.status == "PENDING"


def test_usd_order_needs_a_fresh_rate_and_uses_it() -> None:
    aapl = order(ticker_id="US-STOCK-AAPL", currency="USD", quantity=D("0.5"))
    us = market(quote("200", bid="199.99", ask="200.01"), fx_rate=D("1400.5"))
    d = run(aapl, us)
    assert d.fills[0].rate == D("1400.5")
    assert d.fills[0].total_krw == D("140057.00250000")  # 200.01 × 0.5 × 1,400.5
    assert run(aapl, market(quote("200", ask="200.01"))).order.reason == "stale_fx_rate"


def test_ioc_fills_what_the_book_has_and_cancels_the_rest() -> None:
    shown = book([("9990", "5")], [("10010", "3"), ("10020", "4"), ("10100", "50")])
    d = run(
        order(type="LIMIT", limit_price=D(10020), time_in_force="IOC"),
        market(quote("10000", "9990", "10010"), book=shown),
    )
    (fill,) = d.fills
    assert fill.quantity == D(7)
    assert fill.rule == triggers.BOOK_WALK_VWAP
    assert fill.price == D("10015.71428571")  # (3 × 10,010 + 4 × 10,020) / 7
    assert fill.total_krw == D("70110.00000000")
    assert d.order.status == "CANCELLED"
    assert d.order.reason == "insufficient_liquidity"
    assert kinds(d) == ["partially_filled", "cancelled"]
    assert d.book is not None
    assert [(lvl.price, lvl.size) for lvl in d.book.asks] == [(D(10100), D(50))]


def test_ioc_not_marketable_is_cancelled_without_fills() -> None:
    d = run(
        order(type="LIMIT", limit_price=D(9000), time_in_force="IOC"),
        market(quote("10000", "9990", "10010")),
    )
    assert (d.order.status, d.order.reason, d.fills) == ("CANCELLED", "ioc_unfilled", ())


def test_fok_fills_whole_or_fails_whole() -> None:
    shown = book([], [("10010", "3"), ("10020", "4")])
    d = run(order(time_in_force="FOK"), market(quote("10000", "9990", "10010"), book=shown))
    assert (d.order.status, d.order.reason, d.fills) == ("FAILED", "fok_unfilled", ())
    d = run(
        order(time_in_force="FOK", quantity=D(7)),
        market(quote("10000", "9990", "10010"), book=shown),
    )
    assert d.order.status == "FILLED"


def test_day_limit_partly_filled_by_the_book_rests_with_its_reservation_recomputed() -> None:
    shown = book([], [("9900", "4"), ("10000", "100")])
    placed = order(type="LIMIT", limit_price=D(9900), reserved_krw=D("99014.85"))
    d = run(placed, market(quote("9900", "9890", "9900"), book=shown))
    assert d.order.status == "PARTIALLY_FILLED"
    assert d.order.filled_quantity == D(4)
    assert d.order.reserved_krw == D("59408.91000000")  # 6 × 9,900 + 0.015 % commission
    assert kinds(d) == ["partially_filled"]
    assert d.order.resting_since == T0
    # The next tick reaching the limit fills the rest at the limit.
    d = run(d.order, market(quote("9900", "9890", "9900")))
    assert (d.order.status, d.order.filled_quantity, d.order.average_price) == (
        "FILLED",
        D(10),
        D(9900),
    )


def test_market_order_walks_the_book_and_cancels_what_it_cannot_fill() -> None:
    shown = book([("9990", "2")], [])
    d = run(order(side="SELL", quantity=D(5)), market(quote("10000", "9990", "10010"), book=shown))
    assert d.fills[0].quantity == D(2)
    assert d.order.status == "CANCELLED"
    assert d.order.reason == "insufficient_liquidity"
    empty = run(order(side="SELL"), market(quote("10000", "9990", "10010"), book=book([], [])))
    assert (empty.order.status, empty.order.reason) == ("FAILED", "insufficient_liquidity")


def test_amount_order_buys_the_largest_whole_lot_that_fits_with_fees() -> None:
    d = run(order(quantity=None, amount_krw=D(100_000)), market(quote("10000", ask="10000")))
    # 10 shares cost 100,000 + 15 commission > 100,000: nine fit.
    assert d.fills[0].quantity == D(9)
    assert -d.fills[0].cash_delta <= D(100_000)
    crypto = order(
        ticker_id="CRYPTO-COIN-BTC", time_in_force="GTC", quantity=None, amount_krw=D(100_000)
    )
    d = run(crypto, market(quote("100000000", ask="100000000")))
    assert d.fills[0].quantity == D("0.00099950")
    assert -d.fills[0].cash_delta <= D(100_000)
    assert (
        run(
            order(quantity=None, amount_krw=D(5000)), market(quote("10000", ask="10000"))
        ).order.reason
        == "amount_too_small"
    )


def test_crypto_below_upbit_minimum_fails() -> None:
    btc = order(ticker_id="CRYPTO-COIN-BTC", time_in_force="GTC", quantity=D("0.00001"))
    assert run(btc, market(quote("100000000", ask="100000000"))).order.reason == "below_minimum"


def test_nothing_fills_outside_the_price_limits() -> None:
    limits = PriceLimits(D(7000), D(13000))
    d = run(order(), market(quote("13010", ask="13010"), price_limits=limits))
    assert (d.order.status, d.order.reason) == ("FAILED", "outside_price_limits")
    resting = run(
        order(type="LIMIT", limit_price=D(13010)),
        market(quote("13000", ask="13050"), price_limits=limits),
    )
    assert resting.order.status == "PENDING"


def test_cash_and_quantity_are_checked_against_what_is_available() -> None:
    poor = Account(cash_krw=D(1_000_000), available_cash_krw=D(50_000))
    assert (
        run(order(), market(quote("10000", ask="10010")), poor).order.reason == "insufficient_cash"
    )
    # Its own reservation counts as available to it.
    held = later(order(), reserved_krw=D(60_000))
    assert run(held, market(quote("10000", ask="10010")), poor).order.status == "FILLED"
    flat = Account(cash_krw=D(1), available_cash_krw=D(1), position=Position(D(3), D(1)))
    assert (
        run(order(side="SELL"), market(quote("10000", bid="9990")), flat).order.reason
        == "insufficient_quantity"
    )


def test_value_too_large_is_refused_not_truncated() -> None:
    huge = order(ticker_id="CRYPTO-COIN-BTC", time_in_force="GTC", quantity=D("99999999"))
    d = run(huge, market(quote("100000000", ask="100000000")), costs=NO_COSTS)
    assert (d.order.status, d.order.reason) == ("FAILED", "value_too_large")


def test_expired_orders_are_cancelled_expired() -> None:
    placed = order(type="LIMIT", limit_price=D(9000), expires_at=T0 + timedelta(hours=4))
    assert (
        run(
            placed, market(quote("9000", ask="9000"), at=T0 + timedelta(hours=3, minutes=59))
        ).order.status
        == "FILLED"
    )
    d = run(placed, market(quote("9000", ask="9000"), at=T0 + timedelta(hours=4)))
    assert (d.order.status, d.order.reason, d.fills) == ("CANCELLED", "expired", ())


def test_only_open_orders_are_decided() -> None:
    with pytest.raises(ValueError, match="only open orders"):
        run(order(status="FILLED"), market(quote("1")))


def test_amount_order_walks_the_book_and_is_cancelled_when_the_book_runs_out() -> None:
    shown = book([], [("10000", "3"), ("10010", "2")])
    d = run(
        order(quantity=None, amount_krw=D(100_000)), market(quote("10000", ask="10000"), book=shown)
    )
    assert d.fills[0].quantity == D(5)
    assert (d.order.status, d.order.reason) == ("CANCELLED", "insufficient_liquidity")
    plenty = book([], [("10000", "3"), ("10010", "20")])
    d = run(
        order(quantity=None, amount_krw=D(50_000)), market(quote("10000", ask="10000"), book=plenty)
    )
    # 3 at 10,000 and 1 at 10,010 = 40,010 + 6.0015 commission fits; a fifth share would not.
    assert (d.fills[0].quantity, d.order.status) == (D(4), "FILLED")
