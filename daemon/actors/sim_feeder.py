"""The `sim` feeder: offline random-walk quotes for every instrument and USD/KRW.

Prices move in whole exchange ticks (integers, never floats); a closed market's price holds
still but is re-quoted, so it never looks stale. While a market is open each quote comes with a
15-level book on exchange ticks around it, each level worth a few million KRW, so an order of
tens of millions visibly walks the book. Seedable for reproducible tests.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import anyio
from anyio.abc import ObjectSendStream

from daemon.clock import Clock
from daemon.engine.market import BookLevel
from daemon.instruments import Instrument
from daemon.market_hours import MarketHours
from daemon.messages import FxRate, MarketData, OrderBook, Quote
from daemon.price_book import USD_KRW

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
        self.connected = True
        self.last_received: datetime | None = None

    async def run(self) -> None:
        while True:
            await self.tick()
            await anyio.sleep(self._interval)

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
            volume = Decimal(self._rng.randint(1, 50))
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
