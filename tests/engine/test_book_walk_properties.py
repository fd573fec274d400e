"""Depth-walking arithmetic of decide() (hypothesis): a marketable order on a 15-level book.

The VWAP of the filled part is never better than the best level nor worse than the last level
taken; the levels taken are the book's best levels in order, whole but for the last; the cash
moved is the sum of the level fills (times the rate, to 8 places) plus the fees, exactly; what
the book cannot fill ends MARKET/IOC as insufficient_liquidity and FOK as a failure."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import event, given, settings
from hypothesis import strategies as st

from daemon.engine.decide import Account, Position
from daemon.engine.market import BookLevel, BookView
from daemon.money import round_money
from tests.engine.scenario import OPEN, market, order, quote, run

RICH = D(10) ** 11  # cash never limits here: the book does
TICKERS = {
    # ticker, currency, tick, fx rate (KRW per unit)
    "KRX": ("KRX-STOCK-005930", "KRW", D(100), None),
    "US": ("US-STOCK-AAPL", "USD", D("0.01"), D("1450.25")),
    "CRYPTO": ("CRYPTO-COIN-BTC", "KRW-COIN", D(1000), None),
}


@st.composite
def walks(draw: st.DrawFn) -> tuple:
    market_name = draw(st.sampled_from(sorted(TICKERS)))
    ticker, currency, tick, rate = TICKERS[market_name]
    side = draw(st.sampled_from(["BUY", "SELL"]))
    depth = draw(st.integers(min_value=1, max_value=15))
    gaps = draw(st.lists(st.integers(1, 5), min_size=depth, max_size=depth))
    if market_name == "CRYPTO":
        size = st.integers(10**4, 10**8).map(lambda n: D(n) / 10**6)  # to a millionth of a coin
    else:
        size = st.integers(1, 500).map(D)
    sizes = draw(st.lists(size, min_size=depth, max_size=depth))
    mid = D(100_000) if market_name != "US" else D(200)
    prices, price = [], mid
    for gap in gaps:  # best first: asks up from the middle, bids down
        price = price + gap * tick if side == "BUY" else price - gap * tick
        prices.append(price)
    levels = tuple(BookLevel(p, s) for p, s in zip(prices, sizes, strict=True))
    other = (BookLevel(mid - tick if side == "BUY" else mid + tick, D(1)),)
    shown = (
        BookView(asks=levels, bids=other) if side == "BUY" else BookView(bids=levels, asks=other)
    )
    depth_total = sum(sizes, D(0))
    step = D("0.000001") if market_name == "CRYPTO" else D(1)
    units = int(depth_total / step)
    beyond = draw(st.booleans())  # half the time more than the book holds
    low, high = (units + 1, units * 2 + 1) if beyond else (1, units)
    if market_name == "CRYPTO":
        low = max(low, 60_000)  # Upbit's 5,000 KRW minimum at 100,000 KRW a coin
        high = max(high, low)
    wanted = draw(st.integers(low, high)) * step
    kind, tif = draw(st.sampled_from([("MARKET", "DAY"), ("MARKET", "IOC"), ("MARKET", "FOK")]))
    if market_name == "CRYPTO" and tif == "DAY":
        tif = "GTC"
    o = order(
        ticker_id=ticker, currency=currency, side=side, type=kind, time_in_force=tif,
        quantity=wanted,
    )  # fmt: skip
    best = levels[0].price
    q = quote(
        str(best),
        bid=str(other[0].price if side == "BUY" else best),
        ask=str(best if side == "BUY" else other[0].price),
    )
    return o, q, shown, rate, wanted


@settings(max_examples=300, deadline=None)
@given(walks())
def test_a_walk_of_the_book(case: tuple) -> None:
    o, q, shown, rate, wanted = case
    held = wanted * 3
    account = Account(cash_krw=RICH, available_cash_krw=RICH, position=Position(held, D(1)))
    snapshot = market(q, session=OPEN, book=shown, fx_rate=rate)
    d = run(o, snapshot, account)
    event(f"{d.order.status} {d.order.reason}")
    levels = shown.side_for(o.side)
    depth_total = sum((lvl.size for lvl in levels), D(0))
    if d.order.status == "FAILED":
        assert d.fills == ()
        # Whole or nothing: FOK on a book too thin; the crypto minimum; else a bug.
        assert d.order.reason in ("fok_unfilled", "below_minimum", "amount_too_small"), d.order
        if d.order.reason == "fok_unfilled":
            assert wanted > depth_total
        return
    assert len(d.fills) == 1
    fill = d.fills[0]
    taken = fill.levels
    # The best levels in order, all whole but the last.
    assert [lvl.price for lvl in taken] == [lvl.price for lvl in levels[: len(taken)]]
    for got, shown_level in zip(taken[:-1], levels, strict=False):
        assert got.size == shown_level.size
    assert 0 < taken[-1].size <= levels[len(taken) - 1].size
    assert fill.quantity == sum((lvl.size for lvl in taken), D(0)) == min(wanted, depth_total)
    # VWAP: never better than the best level, never worse than the last taken.
    best, last = levels[0].price, taken[-1].price
    if o.side == "BUY":
        assert best <= fill.price <= last
    else:
        assert last <= fill.price <= best
    # Cash: the sum of the level fills (in KRW at the rate) plus the fees, exactly.
    krw_rate = rate or D(1)
    total = round_money(sum((lvl.price * lvl.size for lvl in taken), D(0)) * krw_rate)
    assert fill.total_krw == total
    assert fill.fee_krw == sum((line.amount_krw for line in fill.fees), D(0))
    expected = -(total + fill.fee_krw) if o.side == "BUY" else total - fill.fee_krw
    assert fill.cash_delta == expected == d.cash_delta
    # What was taken stays taken: the book after is the book minus the take.
    assert d.book == shown.minus(o.side, taken)
    if wanted > depth_total:
        assert d.order.status == "CANCELLED"
        assert d.order.reason == "insufficient_liquidity"
    else:
        assert d.order.status == "FILLED"
