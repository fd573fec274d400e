"""GET /api/orderbook and the websocket's `book` messages: the latest book, at most 5 a second."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import anyio
import pytest
import websockets

from daemon.engine.market import BookLevel, BookView
from daemon.messages import OrderBook
from tests.api.conftest import Api
from tests.api.test_websocket import next_of, ws_url

pytestmark = pytest.mark.anyio
BTC = "CRYPTO-COIN-BTC"


def book(api: Api, best_bid: int, levels: int = 15) -> OrderBook:
    now = api.clock.now()
    return OrderBook(
        ticker_id=BTC,
        bids=tuple(BookLevel(Decimal(best_bid - 1000 * i), Decimal("0.5")) for i in range(levels)),
        asks=tuple(
            BookLevel(Decimal(best_bid + 1000 * (i + 1)), Decimal("0.00000001") * (i + 1))
            for i in range(levels)
        ),
        ts=now,
        received_at=now,
        source="test",
    )


async def publish(api: Api, data: OrderBook) -> None:
    await api.platform.market_in.send(data)
    with anyio.fail_after(5):
        while api.platform.book.order_book(data.ticker_id) != data:  # noqa: ASYNC110
            await anyio.sleep(0.005)


async def test_the_book_over_http_with_its_staleness(api: Api) -> None:
    unknown = await api.client.get("/api/orderbook/CRYPTO-COIN-NOPE")
    assert unknown.status_code == 404
    assert "GET /api/instruments" in unknown.json()["detail"]
    none_yet = await api.client.get(f"/api/orderbook/{BTC}")
    assert none_yet.status_code == 200
    assert none_yet.json() == {
        "ticker_id": BTC, "bids": [], "asks": [], "ts": None, "received_at": None,
        "source": None, "stale": True,
    }  # fmt: skip

    await publish(api, book(api, 150_000_000))
    answer = (await api.client.get(f"/api/orderbook/{BTC}")).json()
    assert answer["ticker_id"] == BTC
    assert answer["source"] == "test"
    assert answer["stale"] is False
    assert len(answer["bids"]) == len(answer["asks"]) == 15
    assert answer["bids"][0] == {"price": "150000000", "size": "0.5"}
    assert answer["asks"][0] == {"price": "150001000", "size": "0.00000001"}  # no exponent
    assert [level["price"] for level in answer["asks"]] == sorted(
        (level["price"] for level in answer["asks"]), key=Decimal
    )
    prices = api.platform.book
    view = prices.book(BTC)
    assert isinstance(view, BookView)
    assert view.asks[0] == BookLevel(Decimal(150_001_000), Decimal("0.00000001"))

    api.clock.advance(6)
    assert (await api.client.get(f"/api/orderbook/{BTC}")).json()["stale"] is True
    assert prices.book(BTC) is None  # the engine fills at the touch then


async def test_books_reach_subscribers_at_most_five_a_second_latest_wins(api: Api) -> None:
    async with (
        websockets.connect(ws_url(api)) as named,
        websockets.connect(ws_url(api)) as everything,
    ):
        await named.send(json.dumps({"op": "subscribe", "tickers": [BTC]}))
        await everything.send(json.dumps({"op": "subscribe", "tickers": ["*"]}))
        await next_of(named, "subscribed")
        await next_of(everything, "subscribed")
        started = time.monotonic()
        for i in range(40):  # 40 books in about a second
            await publish(api, book(api, 150_000_000 + 1000 * i))
            await anyio.sleep(0.025)
        elapsed = time.monotonic() - started
        received = []
        with anyio.move_on_after(0.6):
            while True:
                message = json.loads(await named.recv())
                if message["type"] == "book":
                    received.append(message)
        assert 3 <= len(received) <= 5 * (elapsed + 0.6) + 1
        assert received[-1]["bids"][0]["price"] == str(150_000_000 + 1000 * 39)  # the latest
        assert api.platform.ws_hub.books_coalesced > 0

        kinds = set()
        with anyio.move_on_after(0.3):
            while True:
                kinds.add(json.loads(await everything.recv())["type"])
        assert "book" not in kinds  # `*` is for quotes: a markets list wants no books


async def test_a_new_subscriber_gets_the_current_book_at_once(api: Api) -> None:
    await publish(api, book(api, 100_000_000, levels=3))
    async with websockets.connect(ws_url(api)) as ws:
        await ws.send(json.dumps({"op": "subscribe", "tickers": [BTC]}))
        message = await next_of(ws, "book")
        assert [level["price"] for level in message["bids"]] == [
            "100000000",
            "99999000",
            "99998000",
        ]


async def test_metrics_count_fresh_books(api: Api) -> None:
    await publish(api, book(api, 150_000_000))
    text = (await api.client.get("/metrics")).text
    assert "papertrade_order_books_fresh 1" in text
    assert "papertrade_market_books 1" in text
    api.clock.advance(6)
    assert "papertrade_order_books_fresh 0" in (await api.client.get("/metrics")).text


def test_stale_quotes_are_counted_per_source() -> None:
    from datetime import UTC, datetime, timedelta

    from daemon.clock import TestClock
    from daemon.messages import Quote
    from daemon.price_book import PriceBook

    clock = TestClock(datetime(2026, 11, 25, tzinfo=UTC))
    prices = PriceBook(clock)
    for ticker, source, age in (("A", "kis", 10), ("B", "kis", 1), ("C", "upbit", 10)):
        at = clock.now() - timedelta(seconds=age)
        prices.update(
            Quote(ticker_id=ticker, price=Decimal(1), currency="KRW", ts=at, received_at=at,
                  source=source)
        )  # fmt: skip
    assert (
        prices.stale_quotes("kis"),
        prices.stale_quotes("upbit"),
        prices.stale_quotes("sim"),
    ) == (1, 1, 0)


def test_staleness_counts_from_the_exchange_time_where_it_is_older() -> None:
    from datetime import UTC, datetime, timedelta

    from daemon.clock import TestClock
    from daemon.messages import FxRate, Quote
    from daemon.price_book import PriceBook

    clock = TestClock(datetime(2026, 11, 25, tzinfo=UTC))
    prices = PriceBook(clock)
    now = clock.now()

    def quote(ts: datetime) -> Quote:
        return Quote(ticker_id="A", price=Decimal(1), currency="KRW", ts=ts, received_at=now,
                     source="kis")  # fmt: skip

    assert prices.is_stale(quote(now - timedelta(seconds=6)))  # a replayed backlog
    assert not prices.is_stale(quote(now - timedelta(seconds=4)))
    assert not prices.is_stale(quote(now + timedelta(seconds=3)))  # an exchange clock ahead
    daily = FxRate(pair="USD/KRW", rate=Decimal(1450), ts=now - timedelta(days=1), received_at=now,
                   source="fallback")  # fmt: skip
    assert not prices.is_stale(daily)  # FX rates count from their receipt
