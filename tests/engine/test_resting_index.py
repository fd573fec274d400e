"""The resting-order index returns exactly the orders a linear scan would (property-tested)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.engine.resting_index import BOOKS, RestingIndex
from daemon.engine.ticks import TickBand, TickTable
from daemon.engine.trail_book import Trail, TrailBook, trail_stop

prices = st.integers(min_value=90, max_value=110).map(D)
trails = st.one_of(
    st.none(),
    st.tuples(
        st.sampled_from(["BUY", "SELL"]),
        st.sampled_from([None, D(1), D("2.5"), D(5)]),  # percent (None: by amount)
        st.integers(min_value=1, max_value=6).map(D),  # amount
    ),
)
ops = st.lists(
    st.tuples(
        st.sampled_from(["add", "add", "add", "remove", "modify", "tick"]),
        st.integers(min_value=0, max_value=30),  # which order
        st.sampled_from(["buy_limit", "sell_limit", "buy_stop", "sell_stop", "none"]),
        prices,
        trails,
    ),
    max_size=80,
)
quotes = st.tuples(prices, st.none() | prices, st.none() | prices)
TABLE = TickTable(
    name="test: 1 below 100, 2 from 100",
    effective_from=date(2020, 1, 1),
    source="test",
    bands=(TickBand(D(0), D(1)), TickBand(D(100), D(2))),
)
TICKERS = ("CRYPTO-COIN-BTC", "KRX-STOCK-005930", "US-STOCK-AAPL")


def crossed_by_scan(model: dict, ticker: str, last: D, bid: D | None, ask: D | None) -> set:
    ask_or_last = last if ask is None else ask
    bid_or_last = last if bid is None else bid
    found = set()
    for order_id, (t, keys, trail) in model.items():
        if t != ticker:
            continue
        if trail is not None:
            stop = trail_stop(trail.side, trail.mark, trail.percent, trail.amount, TABLE)
            keys = {"buy_stop" if trail.side == "BUY" else "sell_stop": stop}
        if not keys:
            found.add(order_id)
        for book, price in keys.items():
            if (
                (book == "buy_limit" and (ask_or_last <= price or last <= price))
                or (book == "sell_limit" and (bid_or_last >= price or last >= price))
                or (book == "buy_stop" and (ask_or_last >= price or last >= price))
                or (book == "sell_stop" and (bid_or_last <= price or last <= price))
            ):
                found.add(order_id)
    return found


def move_by_scan(model: dict, ticker: str, last: D) -> set:
    """Each trailing stop's own mark, moved one by one: the ids whose mark moved."""
    moved = set()
    for order_id, (t, keys, trail) in model.items():
        if t == ticker and trail is not None:
            better = last > trail.mark if trail.side == "SELL" else last < trail.mark
            if better:
                model[order_id] = (t, keys, trail._replace(mark=last))
                moved.add(order_id)
    return moved


@settings(max_examples=400)
@given(ops, st.lists(quotes, min_size=1, max_size=5))
def test_crossed_and_marks_match_a_linear_scan(operations: list, ticks: list) -> None:
    index = RestingIndex()
    ids = [uuid.UUID(int=i) for i in range(31)]
    model: dict = {}
    moved: set = set()

    def check(last: D, bid: D | None, ask: D | None) -> None:
        for ticker in TICKERS:
            quiet = index.quiet(ticker, last=last, bid=bid, ask=ask)
            index.move_marks(ticker, last)
            moved_now = move_by_scan(model, ticker, last)
            moved.update(moved_now)
            found = index.crossed(ticker, last=last, bid=bid, ask=ask, table=TABLE)
            assert len(found) == len(set(found))
            assert set(found) == crossed_by_scan(model, ticker, last, bid, ask)
            assert not (quiet and (found or moved_now))  # a quiet quote wakes nothing
        for order_id, (_, keys, trail) in model.items():
            assert index.placement_of(order_id) == (keys, trail)
            assert index.mark_of(order_id) == (None if trail is None else trail.mark)

    for op, which, book, price, trail_shape in operations:
        order_id = ids[which]
        ticker = TICKERS[which % 2]
        keys = {} if book == "none" or trail_shape else {book: price}
        trail = None
        if trail_shape is not None:
            side, percent, amount = trail_shape
            trail = Trail(side, price, percent, None if percent is not None else amount)
        if op == "add" and order_id not in model:
            index.add(order_id, ticker, keys, trail)
            model[order_id] = (ticker, keys, trail)
        elif op == "remove":
            assert index.remove(order_id) == (order_id in model)
            model.pop(order_id, None)
            moved.discard(order_id)
        elif op == "modify" and order_id in model:
            index.modify(order_id, model[order_id][0], keys, trail)
            model[order_id] = (model[order_id][0], keys, trail)
            moved.discard(order_id)
        elif op == "tick":
            check(price, price - 1, price + 1)
    assert len(index) == len(model)
    for last, bid, ask in ticks:
        check(last, bid, ask)
    # Every mark that moved is among those to be written (a group may bring along orders that
    # already had the new mark).
    taken = set(index.take_moved_trails())
    assert moved & model.keys() <= taken
    assert index.take_moved_trails() == []


def test_a_new_high_moves_a_group_of_any_size_at_once() -> None:
    book = TrailBook("SELL")
    for n in range(1000):
        book.add(uuid.UUID(int=n), n, Trail("SELL", D(100), D(n % 7 + 1), None))
    book.add(uuid.UUID(int=5000), 5000, Trail("SELL", D(103), None, D(2)))
    assert book.move(D(102))  # passes the 100 group, not the 103 one
    assert book.mark_of(uuid.UUID(int=0)) == D(102)
    assert book.mark_of(uuid.UUID(int=5000)) == D(103)
    assert len(book._groups) == 2
    assert book.move(D(104))  # both merge at 104
    assert len(book._groups) == 1
    assert book.mark_of(uuid.UUID(int=5000)) == D(104)
    # 104 × 0.99 = 102.96 → 102 on the 2 tick; 104 - 2 = 102: both closest stops reached at 102.
    found = book.triggered(D(102), TABLE)
    assert {entry[2] for entry in found} == {uuid.UUID(int=5000)} | {
        uuid.UUID(int=n) for n in range(1000) if n % 7 == 0
    }
    assert [entry[0] for entry in found] == sorted((entry[0] for entry in found), reverse=True)


def test_price_time_priority_within_a_book() -> None:
    index = RestingIndex()
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    index.add(a, "T", {"buy_limit": D(100)})
    index.add(b, "T", {"buy_limit": D(101)})
    index.add(c, "T", {"buy_limit": D(101)})
    assert index.crossed("T", last=D(99), bid=None, ask=D(99)) == [b, c, a]
    assert index.crossed("T", last=D(101), bid=None, ask=D("100.5")) == [b, c]
    assert index.crossed("T", last=D(102), bid=None, ask=D(102)) == []


def test_exactly_at_the_price_counts_as_crossed() -> None:
    index = RestingIndex()
    ids = {book: uuid.uuid4() for book in BOOKS[:4]}
    for book, order_id in ids.items():
        index.add(order_id, "T", {book: D(100)})
    assert set(index.crossed("T", last=D(100), bid=D(100), ask=D(100))) == set(ids.values())


def test_has_ticker_only_while_an_order_of_it_is_indexed() -> None:
    index = RestingIndex()
    order_id = uuid.uuid4()
    assert not index.has_ticker("CRYPTO-COIN-BTC")
    index.add(order_id, "CRYPTO-COIN-BTC", {"buy_limit": D("100")})
    assert index.has_ticker("CRYPTO-COIN-BTC")
    assert not index.has_ticker("CRYPTO-COIN-ETH")
    index.remove(order_id)
    assert not index.has_ticker("CRYPTO-COIN-BTC")
    index.add(order_id, "CRYPTO-COIN-BTC", {})  # an every-tick order
    assert index.has_ticker("CRYPTO-COIN-BTC")


def test_a_quote_between_every_order_and_mark_is_quiet() -> None:
    index = RestingIndex()
    index.add(uuid.uuid4(), "T", {"buy_limit": D(95)})
    index.add(uuid.uuid4(), "T", {"sell_stop": D(90)})
    index.add(uuid.uuid4(), "T", {}, Trail("SELL", D(100), None, D(4)))  # stop 96
    assert index.quiet("T", last=D(98), bid=D(97), ask=D(99))
    assert index.quiet("U", last=D(1), bid=None, ask=None)  # no orders of U
    assert not index.quiet("T", last=D(101), bid=D(100), ask=D(102))  # a new high: the mark
    assert not index.quiet("T", last=D(98), bid=D(96), ask=D(99))  # the bid at the trail's stop
    assert not index.quiet("T", last=D(98), bid=D(97), ask=D(95))  # the ask at the limit
    index.move_marks("T", D(99))  # below the mark: nothing moves, the bounds stay
    assert index.quiet("T", last=D(98), bid=D(97), ask=D(99))
    index.add(uuid.uuid4(), "T", {})  # an every-tick order: every quote of T wakes it
    assert not index.quiet("T", last=D(98), bid=D(97), ask=D(99))
