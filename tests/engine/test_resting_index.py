"""The resting-order index returns exactly the orders a linear scan would (property-tested)."""

from __future__ import annotations

import uuid
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.engine.resting_index import BOOKS, RestingIndex

prices = st.integers(min_value=90, max_value=110).map(D)
ops = st.lists(
    st.tuples(
        st.sampled_from(["add", "add", "add", "remove", "modify"]),
        st.integers(min_value=0, max_value=30),  # which order
        st.sampled_from(["buy_limit", "sell_limit", "buy_stop", "sell_stop", "none"]),
        prices,
        st.sampled_from(["buy_mark", "sell_mark", None]),
        prices,
    ),
    max_size=60,
)
quotes = st.tuples(prices, st.none() | prices, st.none() | prices)


def crossed_by_scan(model: dict, ticker: str, last: D, bid: D | None, ask: D | None) -> set:
    ask_or_last = last if ask is None else ask
    bid_or_last = last if bid is None else bid
    found = set()
    for order_id, (t, keys) in model.items():
        if t != ticker:
            continue
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


def marks_by_scan(model: dict, ticker: str, last: D) -> set:
    return {
        order_id
        for order_id, (t, keys) in model.items()
        if t == ticker
        and (
            ("sell_mark" in keys and keys["sell_mark"] < last)
            or ("buy_mark" in keys and keys["buy_mark"] > last)
        )
    }


@settings(max_examples=300)
@given(ops, st.lists(quotes, min_size=1, max_size=5))
def test_crossed_and_marks_match_a_linear_scan(operations: list, ticks: list) -> None:
    index = RestingIndex()
    ids = [uuid.UUID(int=i) for i in range(31)]
    model: dict = {}
    for op, which, book, price, mark_book, mark in operations:
        order_id = ids[which]
        ticker = "CRYPTO-COIN-BTC" if which % 3 else "KRX-STOCK-005930"
        keys = {} if book == "none" else {book: price}
        if mark_book is not None and book != "none":
            keys[mark_book] = mark
        if op == "add" and order_id not in model:
            index.add(order_id, ticker, keys)
            model[order_id] = (ticker, keys)
        elif op == "remove":
            assert index.remove(order_id) == (order_id in model)
            model.pop(order_id, None)
        elif op == "modify" and order_id in model:
            index.modify(order_id, model[order_id][0], keys)
            model[order_id] = (model[order_id][0], keys)
    assert len(index) == len(model)
    for order_id, (_, keys) in model.items():
        assert index.keys_of(order_id) == keys
    for last, bid, ask in ticks:
        for ticker in ("CRYPTO-COIN-BTC", "KRX-STOCK-005930", "US-STOCK-AAPL"):
            found = index.crossed(ticker, last=last, bid=bid, ask=ask)
            assert len(found) == len(set(found))
            assert set(found) == crossed_by_scan(model, ticker, last, bid, ask)
            assert set(index.marks_moved(ticker, last)) == marks_by_scan(model, ticker, last)


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
