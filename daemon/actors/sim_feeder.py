"""The `sim` feeder: offline random-walk quotes for every instrument and USD/KRW.

Prices move in whole exchange ticks (integers, never floats); a closed market's price holds
still but is re-quoted, so it never looks stale. While a market is open each quote comes with a
15-level book on exchange ticks around it, each level worth a few million KRW, so an order of
tens of millions visibly walks the book. Seedable for reproducible tests.

Given a database, on first start it writes a history for every instrument that has no bars
yet, so charts show something at once: 1-minute bars of the open sessions of the last two days
and a year of daily bars, a random walk deterministic per ticker that ends at its start price.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import ROUND_FLOOR, Decimal
from zoneinfo import ZoneInfo

import anyio
import asyncpg
import structlog
from anyio.abc import ObjectSendStream

from daemon.candles import DayBar, latest_stored, minute_of, store_history
from daemon.clock import Clock
from daemon.engine.market import BookLevel
from daemon.instruments import Instrument
from daemon.market_hours import MarketHours
from daemon.messages import CandleBar, FxRate, MarketData, OrderBook, Quote
from daemon.price_book import USD_KRW

log = structlog.get_logger(__name__)

# KRX price bands and tick sizes (KRX rule since 2023-01-25, KOSPI and KOSDAQ alike).
_KRX_TICKS = ((2_000, 1), (5_000, 5), (20_000, 10), (50_000, 50), (200_000, 100), (500_000, 500))
# Upbit KRW market order-book units, coarse version.
_UPBIT_TICKS = (
    (10, Decimal("0.01")), (100, Decimal("0.1")), (1_000, 1), (10_000, 5), (100_000, 10),
    (500_000, 50), (1_000_000, 100), (2_000_000, 500),
)  # fmt: skip
BOOK_DEPTH = 15
# What one level of the sim book is worth at the touch, in the asset's currency; deeper levels
# hold more. A 10,000,000 KRW account buying all it can walks a few levels.
_LEVEL_VALUE = {"KRX": Decimal(3_000_000), "US": Decimal(2_000), "CRYPTO": Decimal(2_000_000)}
_SATOSHI = Decimal("0.00000001")
HISTORY_MINUTES = timedelta(days=2)
HISTORY_DAYS = 365
_MINUTE = timedelta(minutes=1)
_ZONES: dict[str, tzinfo] = {
    "KRX": ZoneInfo("Asia/Seoul"),
    "US": ZoneInfo("America/New_York"),
    "CRYPTO": UTC,
}


def tick_size(market: str, price: Decimal) -> Decimal:
    """The smallest price step of `market` at `price`."""
    if market == "US":
        return Decimal("0.01")
    table, top = (_KRX_TICKS, 1_000) if market == "KRX" else (_UPBIT_TICKS, 1_000)
    for bound, tick in table:
        if price < bound:
            return Decimal(tick)
    return Decimal(top)


def tick_below(market: str, price: Decimal) -> Decimal:
    """The next valid price under `price` (the band below may have a finer tick)."""
    return price - tick_size(market, price - _SATOSHI)


class SimFeeder:
    name = "sim"

    def __init__(
        self,
        instruments: Sequence[Instrument],
        out: ObjectSendStream[MarketData],
        clock: Clock,
        calendar: MarketHours | None = None,
        interval: float = 1.0,
        seed: int | None = None,
        usd_krw: Decimal = Decimal("1450.00"),
        emit_fx: bool = True,
        pool: asyncpg.Pool | None = None,
    ) -> None:
        self._instruments = list(instruments)
        self._out = out
        self._clock = clock
        self._calendar = calendar
        self._interval = interval
        self._rng = random.Random(seed)
        self._prices = {i.ticker_id: i.sim_start_price for i in self._instruments}
        self._usd_krw = usd_krw
        self._emit_fx = emit_fx  # off when the real `fx` feed runs: one source of USD/KRW
        self._pool = pool
        self.history_written: list[str] = []  # tickers given a history on this start
        self.connected = True
        self.last_received: datetime | None = None

    async def run(self) -> None:
        # Which instruments have no bars is decided before the first tick: the candle roller
        # stores this start's live minute within a second, after which a ticker looks known.
        bare = [] if self._pool is None else await self.without_bars(self._pool)
        async with anyio.create_task_group() as tg:
            if self._pool is not None and bare:
                tg.start_soon(self.write_history, self._pool, bare)
            while True:
                await self.tick()
                await anyio.sleep(self._interval)

    async def without_bars(self, pool: asyncpg.Pool) -> list[Instrument]:
        """The instruments with no stored bar at all: their first start."""
        bare = []
        for instrument in self._instruments:
            if await latest_stored(pool, instrument.ticker_id) == (None, None):
                bare.append(instrument)
        return bare

    async def write_history(self, pool: asyncpg.Pool, instruments: list[Instrument]) -> None:
        """A history for each of `instruments`, one at a time."""
        now = self._clock.now()
        for instrument in instruments:
            minutes, days = sim_history(instrument, self._calendar, now)
            await store_history(pool, minutes, days)
            self.history_written.append(instrument.ticker_id)
        if self.history_written:
            log.info("sim_history_written", feed=self.name, tickers=len(self.history_written))

    async def tick(self) -> None:
        """Move every price one step and send the quotes and the USD/KRW rate."""
        now = self._clock.now()
        for instrument in self._instruments:
            quote = self._step(instrument, now)
            await self._out.send(quote)
            if quote.volume and quote.bid is not None and quote.ask is not None:  # market open
                await self._out.send(self._book(instrument, quote.bid, quote.ask, now))
        if self._emit_fx:
            self._usd_krw += Decimal("0.05") * self._rng.randint(-3, 3)
            await self._out.send(
                FxRate(pair=USD_KRW, rate=self._usd_krw, ts=now, received_at=now, source="sim")
            )
        self.last_received = now

    def _step(self, instrument: Instrument, now: datetime) -> Quote:
        price = self._prices[instrument.ticker_id]
        tick = tick_size(instrument.market, price)
        volume = Decimal(0)
        if self._market_open(instrument.market, now):
            # About 0.05% of the price per step, at least one tick, either way.
            reach = max(1, int(price / tick / 2000))
            price = max(tick, price + tick * self._rng.randint(-reach, reach))
            self._prices[instrument.ticker_id] = price
            traded = Decimal(self._rng.randint(1, 50))
            volume = traded / 1000 if instrument.market == "CRYPTO" else traded  # coins: 0.001-0.05
        return Quote(
            ticker_id=instrument.ticker_id,
            price=price,
            bid=price - tick if price > tick else price,
            ask=price + tick,
            currency=instrument.currency,
            ts=now,
            received_at=now,
            source="sim",
            volume=volume,
            prev_close=instrument.sim_start_price,
        )

    def _book(self, instrument: Instrument, bid: Decimal, ask: Decimal, now: datetime) -> OrderBook:
        market = instrument.market
        bids, asks = [], []
        for depth in range(BOOK_DEPTH):
            if bid > 0:
                bids.append(BookLevel(bid, self._size(market, bid, depth)))
                bid = tick_below(market, bid)
            asks.append(BookLevel(ask, self._size(market, ask, depth)))
            ask += tick_size(market, ask)
        return OrderBook(
            ticker_id=instrument.ticker_id,
            bids=tuple(bids),
            asks=tuple(asks),
            ts=now,
            received_at=now,
            source="sim",
        )

    def _size(self, market: str, price: Decimal, depth: int) -> Decimal:
        """A level's size: its value at `price` grows with depth, 0.3 to 2 times at random."""
        value = _LEVEL_VALUE[market] * (10 + depth * 3) * self._rng.randint(3, 20) / 100
        if market == "CRYPTO":
            return max(_SATOSHI, (value / price).quantize(_SATOSHI))
        return Decimal(max(1, int(value / price)))

    def _market_open(self, market: str, now: datetime) -> bool:
        return self._calendar is None or self._calendar.is_open(market, now)


def sim_history(
    instrument: Instrument, calendar: MarketHours | None, now: datetime
) -> tuple[list[CandleBar], list[DayBar]]:
    """A plausible past of `instrument` up to `now`, deterministic per ticker: 1-minute bars of
    every open minute of the last two days, then a daily bar for each session of the year
    before those, walking back from the start price (the live walk starts there)."""
    rng = random.Random(zlib.crc32(instrument.ticker_id.encode()))
    market = instrument.market
    lot = market != "CRYPTO"
    minutes = _open_minutes(market, calendar, minute_of(now) - HISTORY_MINUTES, minute_of(now))
    bars: list[CandleBar] = []
    price = instrument.sim_start_price
    for start in reversed(minutes):
        close, price = price, _walk(rng, market, price, 2000)
        high, low = _wicks(rng, market, price, close, 4000)
        volume = Decimal(rng.randint(100, 3000)) if lot else Decimal(rng.randint(100, 3000)) / 1000
        bars.append(CandleBar(ticker_id=instrument.ticker_id, time=start, open=price,
                              high=high, low=low, close=close, volume=volume))  # fmt: skip
    bars.reverse()
    zone = _ZONES[market]
    first = minutes[0] if minutes else minute_of(now)
    days: list[DayBar] = []
    for day in reversed(_session_days(market, calendar, first, zone)):
        close, price = price, _walk(rng, market, price, 60)
        high, low = _wicks(rng, market, price, close, 120)
        volume = (
            Decimal(rng.randint(200_000, 2_000_000)) if lot else Decimal(rng.randint(200, 2000))
        )
        days.append(DayBar(ticker_id=instrument.ticker_id, day=day, open=price, high=high,
                           low=low, close=close, volume=volume))  # fmt: skip
    days.reverse()
    return bars, days


def _open_minutes(
    market: str, calendar: MarketHours | None, start: datetime, end: datetime
) -> list[datetime]:
    minutes = []
    at = start
    while at < end:
        if calendar is None or calendar.is_open(market, at):
            minutes.append(at)
            at += _MINUTE
            continue
        opens = calendar.next_open(market, at)
        if opens is None:
            break
        at = minute_of(opens) + (_MINUTE if opens.second or opens.microsecond else timedelta())
    return minutes


def _session_days(
    market: str, calendar: MarketHours | None, before: datetime, zone: tzinfo
) -> list[date]:
    """The market's trading days of the year before `before` (whose own day is left out)."""
    last = before.astimezone(zone).date()
    days = []
    for back in range(HISTORY_DAYS, 0, -1):
        day = last - timedelta(days=back)
        if calendar is None or market == "CRYPTO":
            days.append(day)
            continue
        midday = datetime.combine(day, datetime.min.time(), zone) + timedelta(hours=12)
        session = calendar.session(market, midday)
        if session is not None:
            days.append(day)
    return days


def _walk(rng: random.Random, market: str, price: Decimal, scale: int) -> Decimal:
    """One random step of about 1/`scale` of the price, in whole ticks, never below one tick."""
    tick = tick_size(market, price)
    reach = max(1, int(price / tick / scale))
    moved = max(tick, price + tick * rng.randint(-reach, reach))
    band = tick_size(market, moved)  # into a coarser band: onto its ticks
    return (moved / band).to_integral_value(ROUND_FLOOR) * band


def _wicks(
    rng: random.Random, market: str, open_: Decimal, close: Decimal, scale: int
) -> tuple[Decimal, Decimal]:
    tick = tick_size(market, max(open_, close))
    reach = max(1, int(open_ / tick / scale))
    high = max(open_, close) + tick * rng.randint(0, reach)
    low = max(tick_size(market, Decimal(1)), min(open_, close) - tick * rng.randint(0, reach))
    return high, low
