"""The `sim` feeder: offline random-walk quotes for every instrument and USD/KRW.

Prices move in whole exchange ticks (integers, never floats); a closed market's price holds
still but is re-quoted, so it never looks stale. Seedable for reproducible tests.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import anyio
from anyio.abc import ObjectSendStream

from daemon.clock import Clock
from daemon.instruments import Instrument
from daemon.market_hours import MarketHours
from daemon.messages import FxRate, MarketData, Quote
from daemon.price_book import USD_KRW

# KRX price bands and tick sizes (KRX rule since 2023-01-25, KOSPI and KOSDAQ alike).
_KRX_TICKS = ((2_000, 1), (5_000, 5), (20_000, 10), (50_000, 50), (200_000, 100), (500_000, 500))
# Upbit KRW market order-book units, coarse version.
_UPBIT_TICKS = (
    (10, Decimal("0.01")), (100, Decimal("0.1")), (1_000, 1), (10_000, 5), (100_000, 10),
    (500_000, 50), (1_000_000, 100), (2_000_000, 500),
)  # fmt: skip


def tick_size(market: str, price: Decimal) -> Decimal:
    """The smallest price step of `market` at `price`."""
    if market == "US":
        return Decimal("0.01")
    table, top = (_KRX_TICKS, 1_000) if market == "KRX" else (_UPBIT_TICKS, 1_000)
    for bound, tick in table:
        if price < bound:
            return Decimal(tick)
    return Decimal(top)


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
            await self._out.send(self._step(instrument, now))
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

    def _market_open(self, market: str, now: datetime) -> bool:
        return self._calendar is None or self._calendar.is_open(market, now)
