"""Records every account's equity in KRW and its time-weighted return index, on the injected
clock at each multiple of the interval (5 minutes by default), so 00:00 KST, where every
ranking period starts, is always one of them (docs/seasons.md says why 5 minutes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import anyio
import asyncpg
import structlog

from daemon.clock import Clock
from daemon.portfolios import day_start, standings
from daemon.price_book import PriceBook
from daemon.rankings import growth_now, latest_links
from daemon.sqlfiles import query

log = structlog.get_logger(__name__)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_POLL = 1.0  # seconds: the longest sleep, so a test clock that jumps is noticed


def last_tick(now: datetime, interval: timedelta) -> datetime:
    """The latest multiple of `interval` (counted from the Unix epoch) at or before `now`."""
    return _EPOCH + ((now - _EPOCH) // interval) * interval


class EquityRecorder:
    def __init__(
        self, pool: asyncpg.Pool, book: PriceBook, clock: Clock, interval: timedelta
    ) -> None:
        if timedelta(days=1) % interval:
            raise ValueError(f"the equity interval must divide a day evenly, not {interval}")
        self._pool = pool
        self._book = book
        self._clock = clock
        self._interval = interval

    async def record_once(self, at: datetime) -> int:
        """Snapshot everyone as of `at`; returns how many accounts were recorded."""
        everyone = await standings(self._pool, self._book)
        links = await latest_links(self._pool, at, [s.user_id for s in everyone])
        if everyone:
            await self._pool.execute(
                query("equity_snapshots_insert"),
                [s.user_id for s in everyone],
                [s.equity_krw for s in everyone],
                [growth_now(links.get(s.user_id), s.equity_krw) for s in everyone],
                at,
                at == day_start(at),
            )
        return len(everyone)

    async def run(self) -> None:
        # Wait first: just after a start the price book is still empty.
        due = last_tick(self._clock.now(), self._interval) + self._interval
        while True:
            now = self._clock.now()
            if now < due:
                await anyio.sleep(min((due - now).total_seconds(), _POLL))
                continue
            # The latest tick: after a jump of the clock (a test's), not one long past.
            at = last_tick(now, self._interval)
            recorded = await self.record_once(at)
            log.debug("equity_recorded", accounts=recorded, at=at.isoformat())
            due = at + self._interval
