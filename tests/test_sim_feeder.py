"""The offline `sim` feed: Decimal prices on exchange ticks, still when a market is closed."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal

import anyio
import pytest

from daemon.actors.sim_feeder import SimFeeder, sim_history, tick_below, tick_size
from daemon.clock import TestClock
from daemon.instruments import Instrument
from daemon.market_hours import MarketHours
from daemon.messages import FxRate, MarketData, OrderBook, Quote
from tests.fakes.waiting import eventually

pytestmark = pytest.mark.anyio
INSTRUMENTS = [
    Instrument(ticker_id="KRX-STOCK-005930", name="Samsung Electronics", name_ko="삼성전자",
               market="KRX", currency="KRW", exchange="KOSPI", sim_start_price=Decimal(71000)),
    Instrument(ticker_id="US-STOCK-AAPL", name="Apple", name_ko="애플", market="US",
               currency="USD", exchange="NAS", sim_start_price=Decimal("230.15")),
    Instrument(ticker_id="CRYPTO-COIN-BTC", name="Bitcoin", name_ko="비트코인", market="CRYPTO",
               currency="KRW-COIN", exchange="UPBIT", sim_start_price=Decimal(150000000)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("market", "price", "tick"),
    [("KRX", "1999", "1"), ("KRX", "71000", "100"), ("KRX", "900000", "1000"),
     ("US", "230.15", "0.01"), ("CRYPTO", "150000000", "1000"), ("CRYPTO", "3200", "5")],
)  # fmt: skip
def test_tick_sizes(market: str, price: str, tick: str) -> None:
    assert tick_size(market, Decimal(price)) == Decimal(tick)


async def run_ticks(feeder: SimFeeder, receive, count: int) -> list[MarketData]:  # type: ignore[no-untyped-def]
    for _ in range(count):
        await feeder.tick()
    out = []
    while True:
        try:
            out.append(receive.receive_nowait())
        except anyio.WouldBlock:
            return out


async def test_open_markets_move_on_ticks_and_closed_ones_hold() -> None:
    # 10:00 KST on a Wednesday: KRX and crypto open, NYSE closed.
    clock = TestClock(datetime(2026, 11, 25, 1, 0, tzinfo=UTC))
    send, receive = anyio.create_memory_object_stream[MarketData](10_000)
    feeder = SimFeeder(INSTRUMENTS, send, clock, calendar=MarketHours(), seed=7)
    data = await run_ticks(feeder, receive, 50)
    quotes = [d for d in data if isinstance(d, Quote)]
    by_ticker: dict[str, list[Quote]] = {}
    for q in quotes:
        by_ticker.setdefault(q.ticker_id, []).append(q)
    for ticker, series in by_ticker.items():
        for q in series:
            assert isinstance(q.price, Decimal)
            assert q.bid is not None
            assert q.ask is not None
            assert q.bid < q.price < q.ask
            assert q.price % tick_size(ticker.split("-")[0], q.price) == 0
    assert len({q.price for q in by_ticker["KRX-STOCK-005930"]}) > 5
    assert len({q.price for q in by_ticker["CRYPTO-COIN-BTC"]}) > 5
    assert {q.price for q in by_ticker["US-STOCK-AAPL"]} == {Decimal("230.15")}
    assert all(q.volume == 0 for q in by_ticker["US-STOCK-AAPL"])
    assert sum(isinstance(d, FxRate) for d in data) == 50
    assert feeder.last_received == clock.now()


async def test_seeded_runs_repeat_and_fx_can_be_left_to_the_fx_feed() -> None:
    clock = TestClock(datetime(2026, 11, 25, 1, 0, tzinfo=UTC))
    runs = []
    for _ in range(2):
        send, receive = anyio.create_memory_object_stream[MarketData](10_000)
        feeder = SimFeeder(INSTRUMENTS, send, clock, seed=42, emit_fx=False)
        data = await run_ticks(feeder, receive, 20)
        assert not any(isinstance(d, FxRate) for d in data)
        runs.append(data)
    assert runs[0] == runs[1]
    assert sum(isinstance(d, Quote) for d in runs[0]) == 20 * len(INSTRUMENTS)


async def test_open_markets_come_with_a_15_level_book_a_large_order_walks() -> None:
    clock = TestClock(datetime(2026, 11, 25, 1, 0, tzinfo=UTC))  # KRX and crypto open, NYSE not
    send, receive = anyio.create_memory_object_stream[MarketData](10_000)
    feeder = SimFeeder(INSTRUMENTS, send, clock, calendar=MarketHours(), seed=3)
    data = await run_ticks(feeder, receive, 5)
    books = [d for d in data if isinstance(d, OrderBook)]
    assert {b.ticker_id for b in books} == {"KRX-STOCK-005930", "CRYPTO-COIN-BTC"}
    quotes = {d.ticker_id: d for d in data if isinstance(d, Quote)}  # the last of each
    for book in books[-2:]:
        quote = quotes[book.ticker_id]
        market = book.ticker_id.split("-")[0]
        assert len(book.bids) == len(book.asks) == 15
        assert (book.bids[0].price, book.asks[0].price) == (quote.bid, quote.ask)
        for side in (book.bids, book.asks):
            assert all(level.size > 0 for level in side)
            assert all(level.price % tick_size(market, level.price) == 0 for level in side)
        assert all(a.price > b.price for a, b in zip(book.bids, book.bids[1:], strict=False))
        assert all(a.price < b.price for a, b in zip(book.asks, book.asks[1:], strict=False))
        # Ten million KRW of buying takes more than the best level, less than the whole book.
        touch_value = book.asks[0].price * book.asks[0].size
        book_value = sum(level.price * level.size for level in book.asks)
        assert touch_value < Decimal(10_000_000) < book_value


def test_the_tick_below_a_band_edge_is_the_finer_one() -> None:
    assert tick_below("KRX", Decimal(2000)) == Decimal(1999)
    assert tick_below("KRX", Decimal(2005)) == Decimal(2000)
    assert tick_below("US", Decimal("1.00")) == Decimal("0.99")


def test_a_history_is_deterministic_open_only_and_ends_at_the_start_price() -> None:
    calendar = MarketHours()
    now = datetime(2026, 11, 25, 1, 0, 30, tzinfo=UTC)  # Wednesday 10:00 KST
    samsung, apple, btc = INSTRUMENTS
    minutes, days = sim_history(samsung, calendar, now)
    assert (minutes, days) == sim_history(samsung, calendar, now)
    assert minutes
    assert all(calendar.is_open("KRX", bar.time) for bar in minutes)
    assert minutes[-1].time == datetime(2026, 11, 25, 0, 59, tzinfo=UTC)
    assert minutes[-1].close == samsung.sim_start_price
    for bar in minutes:
        assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high
        assert bar.open % tick_size("KRX", bar.open) == 0
    assert all(a.close == b.open for a, b in itertools.pairwise(minutes))
    assert days[-1].close == minutes[0].open
    assert 240 <= len(days) <= 250  # a year of KRX sessions
    assert all(day.day.weekday() < 5 for day in days)
    assert date(2026, 9, 25) not in {d.day for d in days}  # 추석 (Chuseok) holiday
    crypto_minutes, crypto_days = sim_history(btc, calendar, now)
    assert len(crypto_minutes) == 2 * 24 * 60
    assert len(crypto_days) == 365
    us_minutes, _ = sim_history(apple, calendar, now)
    assert all(calendar.is_open("US", bar.time) for bar in us_minutes)
    assert us_minutes[0].ticker_id == "US-STOCK-AAPL"


async def test_the_history_is_written_once_for_tickers_without_bars(pool) -> None:  # type: ignore[no-untyped-def]
    clock = TestClock(datetime(2026, 11, 25, 1, 0, tzinfo=UTC))
    await pool.execute(
        "INSERT INTO candles_1m VALUES ('CRYPTO-COIN-BTC', '2026-11-25T00:00:00Z', 1, 1, 1, 1, 1)"
    )
    send, _ = anyio.create_memory_object_stream[MarketData](10)
    feeder = SimFeeder(INSTRUMENTS, send, clock, calendar=MarketHours(), pool=pool)
    await feeder.write_history(pool, await feeder.without_bars(pool))
    assert feeder.history_written == ["KRX-STOCK-005930", "US-STOCK-AAPL"]
    counts = dict(await pool.fetch("SELECT ticker_id, count(*) FROM candles_1d GROUP BY 1"))
    assert set(counts) == {"KRX-STOCK-005930", "US-STOCK-AAPL"}
    again = SimFeeder(INSTRUMENTS, send, clock, calendar=MarketHours(), pool=pool)
    assert await again.without_bars(pool) == []


async def test_a_live_minute_stored_at_once_does_not_cost_a_ticker_its_history(pool) -> None:  # type: ignore[no-untyped-def]
    # As in a daemon: the candle roller stores each ticker's live minute as its quotes arrive,
    # while the history is still being written one ticker after another.
    clock = TestClock(datetime(2026, 11, 25, 1, 0, tzinfo=UTC))  # KRX open, US closed
    send, receive = anyio.create_memory_object_stream[MarketData](0)
    feeder = SimFeeder(INSTRUMENTS, send, clock, calendar=MarketHours(), pool=pool, interval=0.01)

    async def roller() -> None:
        async for data in receive:
            if isinstance(data, Quote):
                await pool.execute(
                    "INSERT INTO candles_1m VALUES ($1, '2026-11-25T01:00:00Z', 1, 1, 1, 1, 1)"
                    " ON CONFLICT DO NOTHING",
                    data.ticker_id,
                )

    async with anyio.create_task_group() as tg:
        tg.start_soon(roller)
        tg.start_soon(feeder.run)
        await eventually(lambda: len(feeder.history_written) == len(INSTRUMENTS), 60)
        tg.cancel_scope.cancel()
    counts = dict(await pool.fetch("SELECT ticker_id, count(*) FROM candles_1m GROUP BY 1"))
    assert all(counts[i.ticker_id] > 100 for i in INSTRUMENTS), counts
