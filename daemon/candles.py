"""OHLCV candles: the pure roll-up of ticks into 1-minute bars, and reading stored bars back,
aggregated by the database into the chart intervals (SPEC 6B)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Literal

import asyncpg
import msgspec

from daemon.messages import CandleBar, Quote
from daemon.sqlfiles import query

_END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)


def market_of(ticker_id: str) -> str:
    """KRX, US or CRYPTO: the first part of a `MARKET-TYPE-SYMBOL` ticker id."""
    return ticker_id.partition("-")[0]


def plain_number(value: Decimal) -> Decimal:
    """`value` without trailing zeros (3.00000000 -> 3); the encoder writes it without exponent."""
    return value.normalize() if value else Decimal(0)


def for_the_wire(bar: CandleBar) -> CandleBar:
    """The bar with every number in its shortest form, so stored bars (NUMERIC(20,8): "3.00000000")
    and the forming bar in memory ("1191") read alike: "3", "1191", "0"."""
    return msgspec.structs.replace(
        bar,
        open=plain_number(bar.open),
        high=plain_number(bar.high),
        low=plain_number(bar.low),
        close=plain_number(bar.close),
        volume=plain_number(bar.volume),
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


class DayBar(msgspec.Struct, frozen=True, kw_only=True):
    """A daily bar: `day` is the market's own date (KST for KRX, New York's for the US, UTC)."""

    ticker_id: str
    day: date
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


async def store_history(
    pool: asyncpg.Pool | asyncpg.Connection, minutes: list[CandleBar], days: list[DayBar]
) -> None:
    """Write backfilled or simulated bars: minutes the live roller already has are kept as they
    are; daily bars from a source replace what was stored for their day."""
    if minutes:
        await pool.execute(query("candles_history_insert"), *_columns(minutes, "time"))
    if days:
        await pool.execute(query("candles_daily_upsert"), *_columns(days, "day"))


def _columns(bars: list[CandleBar] | list[DayBar], start: str) -> tuple[list, ...]:
    fields = ("ticker_id", start, "open", "high", "low", "close", "volume")
    return tuple([getattr(bar, name) for bar in bars] for name in fields)


async def latest_stored(
    pool: asyncpg.Pool | asyncpg.Connection, ticker_id: str
) -> tuple[datetime | None, date | None]:
    """The start of the newest stored 1-minute bar and the newest daily bar's day, or None."""
    row = await pool.fetchrow(query("candles_latest"), ticker_id)
    assert row is not None
    return row["minute"], row["day"]


Interval = Literal["1m", "5m", "15m", "1h", "1d", "1w"]
INTERVALS: tuple[Interval, ...] = ("1m", "5m", "15m", "1h", "1d", "1w")
_INTRADAY = {"5m": timedelta(minutes=5), "15m": timedelta(minutes=15), "1h": timedelta(hours=1)}
_CALENDAR = {"1d": "day", "1w": "week"}


async def recent_candles(
    pool: asyncpg.Pool | asyncpg.Connection,
    ticker_id: str,
    limit: int,
    before: datetime | None = None,
) -> list[CandleBar]:
    """The last `limit` stored 1-minute bars of `ticker_id` that start before `before`, oldest
    first."""
    rows = await pool.fetch(query("candles_recent"), ticker_id, limit, before or _END_OF_TIME)
    return [CandleBar(**dict(row)) for row in rows]


async def candle_history(
    pool: asyncpg.Pool | asyncpg.Connection,
    ticker_id: str,
    interval: Interval,
    limit: int,
    before: datetime | None,
    now: datetime,
) -> list[CandleBar]:
    """The last `limit` bars of `interval` starting before `before`, oldest first, aggregated
    from the stored bars on the market's own day (KST, New York, UTC for crypto)."""
    if interval == "1m":
        return await recent_candles(pool, ticker_id, limit, before)
    end = before or _END_OF_TIME
    if interval in _INTRADAY:
        rows = await pool.fetch(
            query("candles_intraday"), ticker_id, _INTRADAY[interval], limit, end
        )
    else:
        rows = await pool.fetch(
            query("candles_daily"), ticker_id, _CALENDAR[interval], limit, end, now
        )
    return [CandleBar(ticker_id=ticker_id, **dict(row)) for row in rows]
