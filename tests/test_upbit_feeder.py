"""The Upbit feeder: the real ccxt client against a fake Upbit on 127.0.0.1 (REST and websocket)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import anyio
import msgspec
import pytest
from anyio.abc import ObjectReceiveStream

from daemon.actors.upbit_feeder import UpbitFeeder
from daemon.clock import LiveClock
from daemon.engine.market import BookLevel
from daemon.instruments import Instrument
from daemon.messages import MarketData, OrderBook, Quote
from daemon.price_book import PriceBook
from tests.fakes.fake_upbit import FakeUpbit
from tests.fakes.waiting import eventually

pytestmark = pytest.mark.anyio

# A float would turn this into 1234567890.1234567: the test sees if one was used anywhere.
EXACT = "1234567890.12345678"


def instrument(ticker_id: str, market: str = "CRYPTO", exchange: str = "UPBIT") -> Instrument:
    currency = {"CRYPTO": "KRW-COIN", "KRX": "KRW", "US": "USD"}[market]
    return Instrument(
        ticker_id=ticker_id,
        name=ticker_id,
        name_ko=None,
        market=market,
        currency=currency,
        exchange=exchange,
        sim_start_price=Decimal(1),
    )


INSTRUMENTS = [
    instrument("CRYPTO-COIN-BTC"),
    instrument("CRYPTO-COIN-ETH"),
    instrument("CRYPTO-COIN-SOL"),  # not listed on the fake: skipped with a warning
    instrument("KRX-STOCK-005930", "KRX", "KOSPI"),  # not Upbit's: ignored
]


@pytest.fixture
async def fake() -> AsyncIterator[FakeUpbit]:
    fake = FakeUpbit({"KRW-BTC": EXACT, "KRW-ETH": "5000000"})
    fake.markets["KRW-BTC"].bid_price = "1234567890"
    fake.markets["KRW-BTC"].ask_price = "1234567891.5"
    await fake.start()
    yield fake
    await fake.close()


def feeder_for(fake: FakeUpbit, send) -> UpbitFeeder:
    return UpbitFeeder(
        INSTRUMENTS,
        send,
        LiveClock(),
        api_url=fake.api_url,
        ws_url=fake.ws_url,
        poll_interval=0.05,
        stream_grace=0.3,
        backoff_initial=0.05,
        backoff_max=0.2,
    )


async def next_quote(
    receive: ObjectReceiveStream[MarketData], ticker: str, predicate=lambda q: True
) -> Quote:
    with anyio.fail_after(5):
        async for item in receive:
            if isinstance(item, Quote) and item.ticker_id == ticker and predicate(item):
                return item
    raise AssertionError("stream ended")


def assert_exact_types(quote: Quote) -> None:
    """No float anywhere in the quote; every number a Decimal; times timezone-aware UTC."""
    for name, value in msgspec.structs.asdict(quote).items():
        assert not isinstance(value, float), name
    for field in ("price", "volume"):
        assert type(getattr(quote, field)) is Decimal, field
    for field in ("bid", "ask", "prev_close"):
        assert getattr(quote, field) is None or type(getattr(quote, field)) is Decimal, field
    assert quote.ts.tzinfo is not None
    assert quote.ts.utcoffset().total_seconds() == 0
    assert quote.received_at.tzinfo is UTC


async def test_streams_exact_quotes_through_ccxt(fake: FakeUpbit) -> None:
    send, receive = anyio.create_memory_object_stream[MarketData](1000)
    feeder = feeder_for(fake, send)
    async with anyio.create_task_group() as tg:
        tg.start_soon(feeder.run)
        first = await next_quote(receive, "CRYPTO-COIN-BTC", lambda q: q.bid is not None)
        assert first.price == Decimal(EXACT)
        assert str(first.price) == EXACT
        assert (first.bid, first.ask) == (Decimal("1234567890"), Decimal("1234567891.5"))
        assert first.prev_close == Decimal(1000)
        assert first.currency == "KRW-COIN"
        assert first.source == "upbit"
        assert_exact_types(first)

        await eventually(lambda: feeder.streaming)
        await fake.trade("KRW-BTC", "1234567891.00000001", "0.25")
        traded = await next_quote(receive, "CRYPTO-COIN-BTC", lambda q: q.volume > 0)
        assert traded.price == Decimal("1234567891.00000001")
        assert traded.volume == Decimal("0.25")
        assert_exact_types(traded)
        await fake.book("KRW-BTC", "1234567891", "1234567892")
        booked = await next_quote(receive, "CRYPTO-COIN-BTC", lambda q: q.ask == 1234567892)
        assert booked.volume == 0
        assert booked.bid == Decimal("1234567891")

        # Malformed messages are logged and skipped; the stream carries on.
        await fake.send_raw(b"{not json")
        await fake.send_raw(b'{"type":"ticker","code":"KRW-BTC","trade_price":"oops"}')
        await fake.send_raw(b'{"type":"orderbook","code":"KRW-BTC","orderbook_units":7}')
        await fake.trade("KRW-BTC", "1234567893", "1")
        after = await next_quote(receive, "CRYPTO-COIN-BTC", lambda q: q.price == 1234567893)
        assert after.volume == Decimal(1)

        # While BTC streams it is not polled; ETH is quiet (nothing since its snapshot), so it
        # alone is polled: a quiet coin never goes stale while another one streams.
        async def keep_trading() -> None:
            while True:
                await fake.trade("KRW-BTC", "1234567893", "0")
                await anyio.sleep(0.05)

        async with anyio.create_task_group() as trading:
            trading.start_soon(keep_trading)
            polled = feeder.polled
            await eventually(lambda: feeder.polled > polled)  # a poll begun before is done
            start = len(fake.http.requests)
            polled = feeder.polled
            await eventually(lambda: feeder.polled >= polled + 2)
            trading.cancel_scope.cancel()
        later = [r.query["markets"] for r in fake.http.requests[start:] if r.path == "/v1/ticker"]
        assert later
        assert all(markets == "KRW-ETH" for markets in later), later
        assert feeder.connected
        assert feeder.last_received is not None
        subscribed = {
            code
            for request in fake.subscriptions
            for item in request
            for code in item.get("codes", [])
        }
        assert subscribed == {"KRW-BTC", "KRW-ETH"}
        tg.cancel_scope.cancel()


async def test_polls_while_websocket_is_down_then_streams_again(fake: FakeUpbit) -> None:
    fake.ws_enabled = False
    send, receive = anyio.create_memory_object_stream[MarketData](1000)
    feeder = feeder_for(fake, send)
    async with anyio.create_task_group() as tg:
        tg.start_soon(feeder.run)
        polled = await next_quote(receive, "CRYPTO-COIN-BTC")
        assert polled.price == Decimal(EXACT)
        assert polled.bid == Decimal("1234567890")
        assert_exact_types(polled)
        assert not feeder.streaming
        assert feeder.connected
        await fake.trade("KRW-BTC", "1234567895", "0.5")  # nobody listens: seen by the next poll
        moved = await next_quote(receive, "CRYPTO-COIN-BTC", lambda q: q.price == 1234567895)
        assert moved.volume == Decimal("0.5")
        assert fake.count("/v1/ticker") >= 2
        assert fake.count("/v1/orderbook") >= 2

        fake.ws_enabled = True
        await eventually(lambda: feeder.streaming)
        await fake.trade("KRW-ETH", "5000002", "2")
        eth = await next_quote(receive, "CRYPTO-COIN-ETH", lambda q: q.price == 5000002)
        assert eth.volume == Decimal(2)
        tg.cancel_scope.cancel()


async def test_reconnects_after_a_dropped_connection(fake: FakeUpbit) -> None:
    send, receive = anyio.create_memory_object_stream[MarketData](1000)
    feeder = feeder_for(fake, send)
    async with anyio.create_task_group() as tg:
        tg.start_soon(feeder.run)
        await eventually(lambda: feeder.streaming)
        subscriptions = len(fake.subscriptions)
        await fake.drop_connections()
        await eventually(lambda: len(fake.subscriptions) > subscriptions)  # ccxt dialled again
        await fake.trade("KRW-BTC", "1234567899", "0.1")
        quote = await next_quote(receive, "CRYPTO-COIN-BTC", lambda q: q.price == 1234567899)
        assert quote.source == "upbit"
        tg.cancel_scope.cancel()


# An Upbit websocket order book frame as recorded from wss://api.upbit.com/websocket/v1 (the
# documented shape: 15 units, JSON numbers, binary frame), prices of late 2025.
RECORDED_BOOK = (
    '{"type":"orderbook","code":"KRW-BTC","timestamp":1764547200123,"total_ask_size":4.79158413,'
    '"total_bid_size":2.65609625,"orderbook_units":['
    + ",".join(
        f'{{"ask_price":{137002000 + 1000 * i},"bid_price":{137001000 - 1000 * i},'
        f'"ask_size":0.{10623869 + i:08d},"bid_size":0.{3656812 + 7 * i:08d}}}'
        for i in range(15)
    )
    + '],"stream_type":"REALTIME","level":0}'
)


async def test_a_recorded_book_frame_keeps_all_15_levels_exactly(fake: FakeUpbit) -> None:
    send, receive = anyio.create_memory_object_stream[MarketData](1000)
    feeder = feeder_for(fake, send)
    async with anyio.create_task_group() as tg:
        tg.start_soon(feeder.run)
        await eventually(lambda: feeder.streaming)
        await fake.send_raw(RECORDED_BOOK.encode())
        with anyio.fail_after(5):
            async for item in receive:
                if isinstance(item, OrderBook) and item.ts.year == 2025:
                    book = item
                    break
        assert book.ticker_id == "CRYPTO-COIN-BTC"
        assert book.source == "upbit"
        assert book.ts == datetime(2025, 12, 1, 0, 0, 0, 123000, tzinfo=UTC)
        assert len(book.bids) == len(book.asks) == 15
        assert book.asks[0] == BookLevel(Decimal(137002000), Decimal("0.10623869"))
        assert book.bids[14] == BookLevel(Decimal(137001000 - 14000), Decimal("0.03656910"))
        for level in book.bids + book.asks:
            assert type(level.price) is Decimal
            assert type(level.size) is Decimal
        quote = await next_quote(receive, "CRYPTO-COIN-BTC", lambda q: q.ask == 137002000)
        assert quote.bid == Decimal(137001000)
        tg.cancel_scope.cancel()


async def test_a_rest_snapshot_behind_the_stream_books_no_volume() -> None:
    fake = FakeUpbit({"KRW-BTC": "100"})
    await fake.start()
    send, receive = anyio.create_memory_object_stream[MarketData](1000)
    feeder = feeder_for(fake, send)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(feeder.run)
            await eventually(lambda: feeder.streaming)
            await fake.trade("KRW-BTC", "101", "5")  # the stream says 105 today
            await next_quote(receive, "CRYPTO-COIN-BTC", lambda q: q.price == 101)
            # REST lags: its snapshot still says 100; then the stream goes quiet.
            fake.markets["KRW-BTC"].acc_trade_volume = "100"
            before = feeder.polled
            polled = await next_quote(receive, "CRYPTO-COIN-BTC")
            while feeder.polled == before:
                polled = await next_quote(receive, "CRYPTO-COIN-BTC")
            assert polled.volume == 0  # not the whole day's 100
            fake.markets["KRW-BTC"].acc_trade_volume = "100"
            await fake.trade("KRW-BTC", "102", "7")  # 107 on the stream: 2 more than 105
            traded = await next_quote(receive, "CRYPTO-COIN-BTC", lambda q: q.price == 102)
            assert traded.volume == Decimal(2)
            tg.cancel_scope.cancel()
    finally:
        await fake.close()


async def test_a_quiet_coin_whose_book_moves_stays_fresh() -> None:
    fake = FakeUpbit({"KRW-ETH": "5000000"})
    fake.markets["KRW-ETH"].trade_timestamp -= 60_000  # its last trade was a minute ago
    await fake.start()
    send, receive = anyio.create_memory_object_stream[MarketData](1000)
    feeder = feeder_for(fake, send)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(feeder.run)
            await eventually(lambda: feeder.streaming)
            await fake.book("KRW-ETH", "4999000", "5001000")
            quote = await next_quote(receive, "CRYPTO-COIN-ETH", lambda q: q.ask == 5001000)
            assert (datetime.now(UTC) - quote.ts).total_seconds() < 2  # the book's time
            assert not PriceBook(LiveClock()).is_stale(quote)
            tg.cancel_scope.cancel()
    finally:
        await fake.close()
