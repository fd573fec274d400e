"""Records every user's equity in KRW at a fixed interval, for the equity-over-time chart."""

from __future__ import annotations

from datetime import timedelta

import anyio
import asyncpg
import structlog

from daemon.clock import Clock
from daemon.portfolios import standings
from daemon.price_book import PriceBook
from daemon.sqlfiles import query

log = structlog.get_logger(__name__)


class EquityRecorder:
    def __init__(
        self, pool: asyncpg.Pool, book: PriceBook, clock: Clock, interval: timedelta
    ) -> None:
        self._pool = pool
        self._book = book
        self._clock = clock
        self._interval = interval

    async def record_once(self) -> int:
        """Snapshot everyone now; returns how many accounts were recorded."""
        everyone = await standings(self._pool, self._book)
        if everyone:
            await self._pool.execute(
                query("equity_snapshots_insert"),
                [s.user_id for s in everyone],
                [s.equity_krw for s in everyone],
                self._clock.now(),
            )
        return len(everyone)

    async def run(self) -> None:
        while True:
            # Wait first: just after a start the price book is still empty.
            await anyio.sleep(self._interval.total_seconds())
            recorded = await self.record_once()
            log.debug("equity_recorded", accounts=recorded)
