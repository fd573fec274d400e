"""1-minute OHLCV candles: the pure roll-up of ticks into bars, and reading stored bars back."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

import asyncpg
import msgspec

from daemon.messages import CandleBar, Quote
from daemon.sqlfiles import query


def market_of(ticker_id: str) -> str:
    """KRX, US or CRYPTO: the first part of a `MARKET-TYPE-SYMBOL` ticker id."""
    return ticker_id.partition("-")[0]


def _plain(value: Decimal) -> Decimal:
    # normalize() drops trailing zeros (3.00000000 -> 3); the encoder writes it without exponent.
    return value.normalize() if value else Decimal(0)


def for_the_wire(bar: CandleBar) -> CandleBar:
    """The bar with every number in its shortest form, so stored bars (NUMERIC(20,8): "3.00000000")
    and the forming bar in memory ("1191") read alike: "3", "1191", "0"."""
    return msgspec.structs.replace(
        bar,
        open=_plain(bar.open),
        high=_plain(bar.high),
        low=_plain(bar.low),
        close=_plain(bar.close),
        volume=_plain(bar.volume),
    )


def minute_of(ts: datetime) -> datetime:
    """The start of the minute `ts` falls in (same timezone as `ts`, UTC throughout the daemon)."""
    return ts.replace(second=0, microsecond=0)


def new_bar(ticker_id: str, bucket: datetime, price: Decimal, volume: Decimal) -> CandleBar:
    return CandleBar(
        ticker_id=ticker_id,
        time=bucket,
        open=price,
        high=price,
        low=price,
        close=price,
        volume=volume,
    )


def add_tick(
    bar: CandleBar, price: Decimal, volume: Decimal, *, is_latest: bool = True
) -> CandleBar:
    """`bar` with one more tick. `is_latest` is False for a tick older than one already applied:
    it widens high/low and adds volume but does not move the close."""
    return CandleBar(
        ticker_id=bar.ticker_id,
        time=bar.time,
        open=bar.open,
        high=price if price > bar.high else bar.high,
        low=price if price < bar.low else bar.low,
        close=price if is_latest else bar.close,
        volume=bar.volume + volume,
    )


def roll_up(quotes: Iterable[Quote]) -> list[CandleBar]:
    """The bars of `quotes` (in arrival order), bucketed by exchange time; by ticker, then time."""
    bars: dict[tuple[str, datetime], CandleBar] = {}
    latest: dict[tuple[str, datetime], datetime] = {}
    for quote in quotes:
        key = (quote.ticker_id, minute_of(quote.ts))
        bar = bars.get(key)
        if bar is None:
            bars[key] = new_bar(quote.ticker_id, key[1], quote.price, quote.volume)
            latest[key] = quote.ts
        else:
            is_latest = quote.ts >= latest[key]
            bars[key] = add_tick(bar, quote.price, quote.volume, is_latest=is_latest)
            if is_latest:
                latest[key] = quote.ts
    return [bars[key] for key in sorted(bars)]


async def recent_candles(
    pool: asyncpg.Pool | asyncpg.Connection, ticker_id: str, limit: int
) -> list[CandleBar]:
    """The last `limit` stored 1-minute bars of `ticker_id`, oldest first."""
    rows = await pool.fetch(query("candles_recent"), ticker_id, limit)
    return [CandleBar(**dict(row)) for row in rows]
