"""The season clock: starts and ends seasons on time by the injected clock.

Everything it acts on is in the database (a season's status, each participant's start), so a
cold start and a restart are one path: a season whose start or end passed while the daemon was
down is started or ended at the first look. A start cancels the participants' open orders
(`season_started`) and sets their accounts to the season's cash; an end freezes the standings.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from uuid import UUID

import anyio
import asyncpg
import msgspec
import structlog
from anyio.abc import ObjectSendStream

from daemon.clock import Clock
from daemon.rankings import Rankings, RankRow
from daemon.seasons import (
    Season,
    get_season,
    leftover_orders,
    open_orders_of_unstarted,
    start_accounts,
)
from daemon.sqlfiles import query

log = structlog.get_logger(__name__)

Cancel = Callable[[UUID, UUID, str], Awaitable[object]]
Forget = Callable[[list[UUID]], Awaitable[None]]  # accounts changed behind settlement's back


class SeasonStarted(msgspec.Struct, frozen=True):
    season: Season
    players: list[UUID]  # whose accounts were set now (late joiners come one by one)


class SeasonEnded(msgspec.Struct, frozen=True):
    season: Season
    standings: list[RankRow]


SeasonEvent = SeasonStarted | SeasonEnded


class SeasonClock:
    def __init__(
        self,
        pool: asyncpg.Pool,
        clock: Clock,
        rankings: Rankings,
        cancel: Cancel,
        forget: Forget,
        *,
        poll_seconds: float = 1.0,
    ) -> None:
        self._pool = pool
        self._clock = clock
        self._rankings = rankings
        self._cancel = cancel
        self._forget = forget
        self._poll = poll_seconds
        self._listeners: list[ObjectSendStream[SeasonEvent]] = []

    def listen(self, send: ObjectSendStream[SeasonEvent]) -> None:
        """Also tell `send` of every start and end (the notifier, the badge actor)."""
        self._listeners.append(send)

    async def run(self) -> None:
        while True:
            await self.tick()
            await anyio.sleep(self._poll)

    async def tick(self) -> None:
        """Do what is due now: ends first, then starts, late joiners, leftover open orders."""
        now = self._clock.now()
        for row in await self._pool.fetch(query("season_due"), now):
            season = await get_season(self._pool, row["id"])
            if season is None:
                continue
            if row["status"] == "running":
                await self._end(season, now)
            else:
                await self._start(season, now)
        for row in await self._pool.fetch(query("season_unstarted_players")):
            season = await get_season(self._pool, row["season_id"])
            if season is not None:
                await self._start(season, now, row["user_id"])
        for user_id, order_id in await leftover_orders(self._pool):
            await self._cancel(user_id, order_id, "season_started")

    async def _start(self, season: Season, now: datetime, user_id: UUID | None = None) -> None:
        # Cancel first, so no free-play order fills into the season's account; any order placed
        # in between is still older than the start and cancelled just after it.
        for owner, order_id in await open_orders_of_unstarted(self._pool, season.id, user_id):
            await self._cancel(owner, order_id, "season_started")
        players = await start_accounts(self._pool, season, now, user_id)
        await self._forget(players)
        self._rankings.forget()
        for owner, order_id in await leftover_orders(self._pool):
            await self._cancel(owner, order_id, "season_started")
        log.info(
            "season_started" if user_id is None else "season_late_join",
            season_id=str(season.id),
            players=len(players),
        )
        if user_id is None:
            started = await get_season(self._pool, season.id)
            self._announce(SeasonStarted(started or season, players))

    async def _end(self, season: Season, now: datetime) -> None:
        board = await self._rankings.board("season", season, season.initial_cash_krw)
        players = [r for r in board if not r.benchmark]
        ranked = [msgspec.structs.replace(r, rank=rank) for rank, r in enumerate(players, start=1)]
        await self._pool.execute(
            query("season_freeze"),
            season.id,
            now,
            [r.user_id for r in ranked],
            [r.rank for r in ranked],
            [r.nickname for r in ranked],
            [r.equity_krw for r in ranked],
            [r.return_pct for r in ranked],
            [r.max_drawdown_pct for r in ranked],
            [r.volatility_pct for r in ranked],
            [r.sharpe for r in ranked],
            [r.trades for r in ranked],
        )
        await self._forget([r.user_id for r in ranked])
        log.info("season_ended", season_id=str(season.id), players=len(ranked))
        ended = await get_season(self._pool, season.id)
        self._announce(SeasonEnded(ended or season, ranked))

    def _announce(self, event: SeasonEvent) -> None:
        for listener in tuple(self._listeners):
            try:
                listener.send_nowait(event)
            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                self._listeners.remove(listener)
