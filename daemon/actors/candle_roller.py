"""The candle roller: quotes in, 1-minute bars out, upserted to PostgreSQL in batches.

The forming bar of each ticker is also pushed (at most once a second) to the websocket hub.
1-minute bars are kept for MINUTE_RETENTION; once an hour older ones are rolled up into daily
bars (where the day has none) and deleted. Daily bars are kept for good.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import anyio
import asyncpg
import structlog
from anyio.abc import ObjectReceiveStream, ObjectSendStream

from daemon.candles import add_tick, market_of, minute_of, new_bar
from daemon.clock import Clock
from daemon.market_hours import MarketHours
from daemon.messages import CandleBar, MarketData, Quote
from daemon.money import MoneyError, check_fits
from daemon.sqlfiles import query
from daemon.streams import batches

log = structlog.get_logger(__name__)

_PUSH_EVERY = timedelta(seconds=1)
MINUTE_RETENTION = timedelta(days=30)
PRUNE_EVERY = 3600.0  # seconds
_ZERO = Decimal(0)


class _Slot:
    """One bar in memory: its state, its newest tick time and the volume not yet flushed."""

    __slots__ = ("bar", "last_ts", "unflushed")

    def __init__(self, bar: CandleBar, last_ts: datetime, unflushed: Decimal) -> None:
        self.bar = bar
        self.last_ts = last_ts
        self.unflushed = unflushed


class CandleRoller:
    def __init__(
        self,
        pool: asyncpg.Pool,
        inbox: ObjectReceiveStream[MarketData],
        out: ObjectSendStream[CandleBar] | None,
        clock: Clock,
        flush_interval: float = 1.0,
        calendar: MarketHours | None = None,
        retention: timedelta = MINUTE_RETENTION,
        prune_every: float = PRUNE_EVERY,
    ) -> None:
        self._pool = pool
        self._calendar = calendar  # a quote while its market is closed makes no bar
        self._inbox = inbox
        self._out = out
        self._clock = clock
        self._flush_interval = flush_interval
        self._retention = retention
        self._prune_every = prune_every
        self.pruned = 0
        self._forming: dict[str, _Slot] = {}
        self._closed: dict[str, _Slot] = {}  # the bar before the forming one, for late ticks
        self._dirty: dict[tuple[str, datetime], _Slot] = {}
        self._pushed_at: dict[str, datetime] = {}
        self._unpushed: set[str] = set()
        self.ticks = 0
        self.late_dropped = 0
        self.closed_dropped = 0  # quotes re-sent while their market is closed
        self.rejected = 0
        self.flushes = 0
        self.flush_failures = 0
        self.pushes_dropped = 0

    def forming(self, ticker_id: str) -> CandleBar | None:
        slot = self._forming.get(ticker_id)
        return None if slot is None else slot.bar

    async def run(self) -> None:
        await self._recover()
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._flush_periodically)
                tg.start_soon(self._prune_periodically)
                async for batch in batches(self._inbox):
                    for data in batch:
                        if isinstance(data, Quote):
                            self._on_quote(data)
                tg.cancel_scope.cancel()
        finally:
            with anyio.move_on_after(5, shield=True):
                await self.flush()

    async def _recover(self) -> None:
        """Load the last two minutes' bars: a restart mid-minute keeps their open and volume."""
        since = minute_of(self._clock.now()) - timedelta(minutes=1)
        rows = await self._pool.fetch(query("candles_since"), since)
        for row in sorted(rows, key=lambda row: row["time"]):
            bar = CandleBar(**dict(row))
            slot = _Slot(bar, bar.time, _ZERO)
            current = self._forming.get(bar.ticker_id)
            if current is not None:
                self._closed[bar.ticker_id] = current
            self._forming[bar.ticker_id] = slot
        log.info("candles_recovered", bars=len(rows))

    def _on_quote(self, quote: Quote) -> None:
        try:
            price = check_fits(quote.price, "price")
            volume = check_fits(quote.volume, "volume")
        except MoneyError as exc:
            self.rejected += 1
            log.warning("candle_tick_rejected", ticker=quote.ticker_id, reason=str(exc))
            return
        if price <= 0 or volume < 0:
            self.rejected += 1
            return
        ticker = quote.ticker_id
        if self._calendar is not None and not self._calendar.is_open(market_of(ticker), quote.ts):
            self.closed_dropped += 1
            return
        bucket = minute_of(quote.ts)
        slot = self._forming.get(ticker)
        if slot is None or bucket > slot.bar.time:
            if slot is not None:
                self._closed[ticker] = slot
            slot = _Slot(new_bar(ticker, bucket, price, volume), quote.ts, volume)
            self._forming[ticker] = slot
        else:
            if bucket < slot.bar.time:
                slot = self._closed.get(ticker)  # type: ignore[assignment]
                if slot is None or slot.bar.time != bucket:
                    self.late_dropped += 1
                    return
            is_latest = quote.ts >= slot.last_ts
            slot.bar = add_tick(slot.bar, price, volume, is_latest=is_latest)
            if is_latest:
                slot.last_ts = quote.ts
            slot.unflushed += volume
        self.ticks += 1
        self._dirty[(ticker, bucket)] = slot
        if slot is self._forming[ticker]:
            self._push(ticker, slot.bar)

    def _push(self, ticker: str, bar: CandleBar) -> None:
        if self._out is None:
            return
        now = self._clock.now()
        last = self._pushed_at.get(ticker)
        if last is not None and now - last < _PUSH_EVERY:
            self._unpushed.add(ticker)
            return
        self._pushed_at[ticker] = now
        self._unpushed.discard(ticker)
        try:
            self._out.send_nowait(bar)
        except anyio.WouldBlock:
            self.pushes_dropped += 1
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            log.warning("candle_subscriber_gone")
            self._out = None

    async def _flush_periodically(self) -> None:
        while True:
            await anyio.sleep(self._flush_interval)
            for ticker in tuple(self._unpushed):
                self._push(ticker, self._forming[ticker].bar)
            await self.flush()

    async def _prune_periodically(self) -> None:
        while True:
            await self.prune()
            await anyio.sleep(self._prune_every)

    async def prune(self) -> None:
        """Delete 1-minute bars older than the retention, keeping their days as daily bars."""
        cutoff = self._clock.now() - self._retention
        try:
            row = await self._pool.fetchrow(query("candles_prune"), cutoff)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            log.warning("candle_prune_failed", error=repr(exc))
            return
        assert row is not None
        if row["pruned"]:
            self.pruned += row["pruned"]
            log.info("candles_pruned", minutes=row["pruned"], days_kept=row["rolled"])

    async def flush(self) -> None:
        """Upsert every bar changed since the last flush in one statement; on failure keep them."""
        if not self._dirty:
            return
        batch = [(key, slot, slot.bar, slot.unflushed) for key, slot in self._dirty.items()]
        self._dirty = {}
        for _, slot, _, _ in batch:
            slot.unflushed = _ZERO
        columns: tuple[list, ...] = ([], [], [], [], [], [], [])
        for (ticker, bucket), _, bar, volume in batch:
            for column, value in zip(
                columns,
                (ticker, bucket, bar.open, bar.high, bar.low, bar.close, volume),
                strict=True,
            ):
                column.append(value)
        try:
            # Shielded: a stop signal mid-flush must not lose the batch it has taken out.
            with anyio.fail_after(10, shield=True):
                await self._pool.execute(query("candles_upsert"), *columns)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            self.flush_failures += 1
            log.warning("candle_flush_failed", bars=len(batch), error=repr(exc))
            for key, slot, _, volume in batch:
                slot.unflushed += volume
                self._dirty.setdefault(key, slot)
            return
        self.flushes += 1
