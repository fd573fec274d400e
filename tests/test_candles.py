"""Candles: the pure roll-up (property-tested) and the roller against a real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import anyio
import asyncpg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.actors.candle_roller import CandleRoller
from daemon.candles import minute_of, recent_candles, roll_up
from daemon.clock import TestClock
from daemon.messages import CandleBar, FxRate, MarketData, Quote

T0 = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
TICKERS = ("CRYPTO-COIN-BTC", "CRYPTO-COIN-ETH", "KRX-STOCK-005930")

pytestmark = pytest.mark.anyio


def quote(ticker: str, at: datetime, price: str, volume: str = "1") -> Quote:
    return Quote(
        ticker_id=ticker,
        price=Decimal(price),
        currency="KRW",
        ts=at,
        received_at=at,
        source="test",
        volume=Decimal(volume),
    )


prices = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("99999999"), places=8)
volumes = st.decimals(min_value=Decimal(0), max_value=Decimal("1000"), places=8)
ticks = st.lists(
    st.tuples(
        st.sampled_from(TICKERS),
        st.integers(min_value=0, max_value=299_999),  # milliseconds over five minutes
        prices,
        volumes,
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(ticks)
def test_roll_up_invariants(raw: list[tuple[str, int, Decimal, Decimal]]) -> None:
    quotes = [quote(t, T0 + timedelta(milliseconds=ms), str(p), str(v)) for t, ms, p, v in raw]
    bars = roll_up(quotes)
    groups: dict[tuple[str, datetime], list[Quote]] = {}
    for q in quotes:
        groups.setdefault((q.ticker_id, minute_of(q.ts)), []).append(q)
    assert {(bar.ticker_id, bar.time) for bar in bars} == set(groups)
    for bar in bars:
        group = groups[(bar.ticker_id, bar.time)]
        assert bar.high >= max(bar.open, bar.close)
        assert bar.low <= min(bar.open, bar.close)
        assert bar.high == max(q.price for q in group)
        assert bar.low == min(q.price for q in group)
        assert bar.volume == sum((q.volume for q in group), Decimal(0))
        assert bar.open == group[0].price  # the first to arrive
        newest = max(q.ts for q in group)
        assert bar.close in {q.price for q in group if q.ts == newest}
        assert bar.time.second == 0
        assert bar.time.microsecond == 0


def test_roll_up_keeps_decimals_exact() -> None:
    btc = "CRYPTO-COIN-BTC"
    bars = roll_up([quote(btc, T0, "0.1", "0.1"), quote(btc, T0, "0.2", "0.2")])
    assert bars[0].volume == Decimal("0.3")
    for field in ("open", "high", "low", "close", "volume"):
        assert type(getattr(bars[0], field)) is Decimal


async def _stored(pool: asyncpg.Pool) -> dict[tuple[str, datetime], tuple[Decimal, ...]]:
    rows = await pool.fetch("SELECT * FROM candles_1m ORDER BY ticker_id, bucket")
    return {
        (r["ticker_id"], r["bucket"]): (r["open"], r["high"], r["low"], r["close"], r["volume"])
        for r in rows
    }


async def _run_roller(
    pool: asyncpg.Pool, clock: TestClock, items: list[MarketData], out=None
) -> CandleRoller:
    send, receive = anyio.create_memory_object_stream[MarketData](100)
    roller = CandleRoller(pool, receive, out, clock, flush_interval=0.05)
    async with anyio.create_task_group() as tg:
        tg.start_soon(roller.run)
        async with send:
            for item in items:
                await send.send(item)
    return roller


async def test_roller_rolls_across_minute_boundaries(pool: asyncpg.Pool) -> None:
    clock = TestClock(T0)
    btc = "CRYPTO-COIN-BTC"
    items: list[MarketData] = [
        quote(btc, T0 + timedelta(seconds=10), "100", "1"),
        quote(btc, T0 + timedelta(seconds=20), "105", "2"),
        FxRate(pair="USD/KRW", rate=Decimal("1380"), ts=T0, received_at=T0, source="test"),
        quote(btc, T0 + timedelta(seconds=50), "98", "0.5"),
        quote(btc, T0 + timedelta(seconds=59, microseconds=999_999), "101", "1"),
        quote(btc, T0 + timedelta(minutes=1), "102", "3"),  # exactly on the boundary: next bar
        quote(btc, T0 + timedelta(seconds=55), "97", "1"),  # late tick for the closed bar
        quote(btc, T0 + timedelta(minutes=1, seconds=30), "99", "1"),
        quote(btc, T0 + timedelta(minutes=3, seconds=1), "110", "1"),  # a quiet minute skipped
        quote(btc, T0 + timedelta(seconds=5), "1", "1"),  # too late: two bars back, dropped
        quote("CRYPTO-COIN-NOPE", T0, "5", "1"),  # not an instrument: skipped, not an error
    ]
    roller = await _run_roller(pool, clock, items)
    stored = await _stored(pool)
    m0, m1, m3 = T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=3)
    D = Decimal
    assert stored == {
        (btc, m0): (D(100), D(105), D(97), D(101), D("5.5")),
        (btc, m1): (D(102), D(102), D(99), D(99), D(4)),
        (btc, m3): (D(110), D(110), D(110), D(110), D(1)),
    }
    assert roller.late_dropped == 1
    forming = roller.forming(btc)
    assert forming is not None
    assert forming.time == m3
    candles = await recent_candles(pool, btc, 2)
    assert [c.time for c in candles] == [m1, m3]  # the last two, oldest first
    assert candles[0] == CandleBar(
        ticker_id=btc, time=m1, open=D(102), high=D(102), low=D(99), close=D(99), volume=D(4)
    )
    assert await recent_candles(pool, "CRYPTO-COIN-ETH", 10) == []


async def test_roller_restart_keeps_open_and_adds_volume(pool: asyncpg.Pool) -> None:
    clock = TestClock(T0 + timedelta(seconds=30))
    eth = "CRYPTO-COIN-ETH"
    await _run_roller(pool, clock, [quote(eth, T0 + timedelta(seconds=1), "50", "2")])
    restarted = await _run_roller(pool, clock, [quote(eth, T0 + timedelta(seconds=40), "40", "3")])
    forming = restarted.forming(eth)
    assert forming is not None
    assert (forming.open, forming.low, forming.close, forming.volume) == (
        Decimal(50),
        Decimal(40),
        Decimal(40),
        Decimal(5),
    )
    stored = await _stored(pool)
    assert stored[(eth, T0)] == (Decimal(50), Decimal(50), Decimal(40), Decimal(40), Decimal(5))


async def test_roller_pushes_forming_bar_at_most_once_a_second(pool: asyncpg.Pool) -> None:
    clock = TestClock(T0)
    btc = "CRYPTO-COIN-BTC"
    send, receive = anyio.create_memory_object_stream[MarketData](100)
    out_send, out_receive = anyio.create_memory_object_stream[CandleBar](100)
    roller = CandleRoller(pool, receive, out_send, clock, flush_interval=0.02)
    async with anyio.create_task_group() as tg:
        tg.start_soon(roller.run)
        for i in range(5):
            await send.send(quote(btc, T0 + timedelta(milliseconds=i), str(100 + i)))
        await anyio.sleep(0.1)
        pushed = [out_receive.receive_nowait()]
        with pytest.raises(anyio.WouldBlock):
            out_receive.receive_nowait()
        clock.advance(1)
        await anyio.sleep(0.1)  # the flusher pushes what changed since, now that a second passed
        pushed.append(out_receive.receive_nowait())
        await send.aclose()
    assert [bar.close for bar in pushed] == [Decimal(100), Decimal(104)]
    assert pushed[-1].volume == Decimal(5)


async def test_a_closed_market_makes_no_bars(pool: asyncpg.Pool) -> None:
    from daemon.market_hours import MarketHours

    saturday = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)  # 10:00 KST, KRX closed
    clock = TestClock(saturday)
    send, receive = anyio.create_memory_object_stream[MarketData](100)
    roller = CandleRoller(pool, receive, None, clock, flush_interval=0.05, calendar=MarketHours())
    async with anyio.create_task_group() as tg:
        tg.start_soon(roller.run)
        async with send:
            await send.send(quote("KRX-STOCK-005930", saturday, "70000", "0"))
            await send.send(quote("CRYPTO-COIN-BTC", saturday, "100", "1"))
    assert [ticker for ticker, _ in await _stored(pool)] == ["CRYPTO-COIN-BTC"]
    assert roller.forming("KRX-STOCK-005930") is None
    assert roller.closed_dropped == 1


async def test_old_minutes_are_pruned_and_their_days_kept(pool: asyncpg.Pool) -> None:
    old = T0 - timedelta(days=40)
    clock = TestClock(T0)
    btc, samsung = "CRYPTO-COIN-BTC", "KRX-STOCK-005930"
    rows = [
        (btc, old, 10, 1), (btc, old + timedelta(minutes=1), 12, 2),
        (samsung, old.replace(hour=15), 70, 3),  # midnight in Seoul: the next KRX day
        (btc, T0 - timedelta(days=1), 20, 4),  # inside the retention: kept as it is
    ]  # fmt: skip
    await pool.executemany(
        "INSERT INTO candles_1m (ticker_id, bucket, open, high, low, close, volume)"
        " VALUES ($1, $2, $3, $3, $3, $3, $4)",
        rows,
    )
    await pool.execute(  # a day already stored is not overwritten by the roll-up
        "INSERT INTO candles_1d VALUES ($1, $2, 1, 1, 1, 1, 1)",
        samsung,
        (old + timedelta(hours=9)).date() + timedelta(days=1),
    )
    _send, receive = anyio.create_memory_object_stream[MarketData](1)
    roller = CandleRoller(pool, receive, None, clock, flush_interval=0.05)
    await roller.prune()
    assert roller.pruned == 3
    assert [
        (r["ticker_id"], r["bucket"]) for r in await pool.fetch("SELECT * FROM candles_1m")
    ] == [(btc, T0 - timedelta(days=1))]
    days = {
        (r["ticker_id"], r["day"]): (r["open"], r["close"], r["volume"])
        for r in await pool.fetch("SELECT * FROM candles_1d")
    }
    assert days == {
        (btc, old.date()): (Decimal(10), Decimal(12), Decimal(3)),
        (samsung, (old + timedelta(hours=9)).date() + timedelta(days=1)): (1, 1, 1),
    }
