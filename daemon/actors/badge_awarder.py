"""The badge awarder: the one actor that awards badges (daemon/badges.py), from order events
(fills), equity (the boards, looked at once per snapshot interval) and season events.

A badge is held once, ever: the table's key says so and an award of one already held does
nothing; so the awarder remembers who holds what it has awarded or seen held, and asks the
database only about the others. Fills are looked at in batches: a second after a fill, every
fill event since is taken, and their players' facts come from one query (at a hundred fills a
second, one query a second instead of three or four per fill, beside settlement's commits).
Recovery is the same path as a check: at start it looks at every player's orders and the
boards, so what happened while it was down is awarded late rather than never.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import timedelta
from decimal import Decimal
from uuid import UUID

import anyio
import asyncpg
import structlog
from anyio.abc import ObjectReceiveStream

from daemon.actors.season_clock import SeasonEnded, SeasonEvent, SeasonStarted
from daemon.clock import Clock
from daemon.messages import OrderEvent
from daemon.rankings import Rankings
from daemon.seasons import current_season
from daemon.sqlfiles import query

log = structlog.get_logger(__name__)

# Filled-order counts, markets and day streaks that earn a badge.
_ORDER_BADGES = (
    ("first_trade", "trades", 1),
    ("ten_trades", "trades", 10),
    ("hundred_trades", "trades", 100),
    ("three_markets", "markets", 3),
    ("streak_30", "streak", 30),
)
_PODIUM = 3
_FILLS_GATHERED_SECONDS = 1.0  # how long fill events gather before their players are looked at
_PLAYERS_PAGE = 500  # players looked at in one query at start


class BadgeAwarder:
    def __init__(
        self,
        pool: asyncpg.Pool,
        clock: Clock,
        rankings: Rankings,
        orders: ObjectReceiveStream[OrderEvent],
        seasons: ObjectReceiveStream[SeasonEvent],
        *,
        initial_cash_krw: Decimal,
        interval: timedelta,
    ) -> None:
        self._pool = pool
        self._clock = clock
        self._rankings = rankings
        self._orders = orders
        self._seasons = seasons
        self._initial_cash = initial_cash_krw
        self._interval = interval
        self.awarded = 0
        self._held: set[tuple[UUID, str]] = set()  # (player, badge): held for good

    async def run(self) -> None:
        await self.check_orders(None)
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._on_orders)
            tg.start_soon(self._on_seasons)
            while True:
                await self.check_equity()
                await anyio.sleep(self._interval.total_seconds())

    async def check_orders(self, user_ids: Collection[UUID] | None) -> None:
        """Award the order badges `user_ids` (None: everyone, a page of players at a time) have
        earned; players who hold them all already are not looked at."""
        if user_ids is not None:
            await self._check_players(user_ids)
            return
        after = UUID(int=0)
        while page := await self._pool.fetch(query("badge_players_page"), after, _PLAYERS_PAGE):
            await self._check_players([r["id"] for r in page])
            after = page[-1]["id"]

    async def _check_players(self, user_ids: Iterable[UUID]) -> None:
        ids = [u for u in user_ids if any((u, b) not in self._held for b, _, _ in _ORDER_BADGES)]
        if not ids:
            return
        facts = await self._pool.fetch(query("badge_order_facts"), ids)
        for badge, fact, threshold in _ORDER_BADGES:
            await self.award(badge, [r["user_id"] for r in facts if r[fact] >= threshold])

    async def check_equity(self) -> None:
        """Award the badges the boards say are earned: all-time, last week's, the season's."""
        every = [
            r
            for r in await self._rankings.board("all", None, self._initial_cash)
            if not r.benchmark
        ]
        await self.award("double_up", [r.user_id for r in every if r.return_pct >= 100])
        await self.award(
            "comeback", [r.user_id for r in every if r.max_drawdown_pct >= 10 and r.return_pct > 0]
        )
        week = await self._rankings.board("week", None, self._initial_cash)
        # rank_change is measured against the end of last week: rank + change was the rank then.
        await self.award(
            "week_top_3",
            [
                r.user_id
                for r in week
                if not r.benchmark and r.rank_change is not None
                and r.rank + r.rank_change <= _PODIUM
            ],
        )  # fmt: skip
        season = await current_season(self._pool)
        if season is not None and season.status == "running":
            board = await self._rankings.board("season", season, season.initial_cash_krw)
            await self.award(
                "season_plus_10",
                [r.user_id for r in board if not r.benchmark and r.return_pct >= 10],
                season.id,
            )

    async def award(
        self, badge: str, users: Iterable[UUID | None], season_id: UUID | None = None
    ) -> list[UUID]:
        """Award `badge` to `users` who do not hold it yet; returns those newly awarded."""
        players = [u for u in users if u is not None and (u, badge) not in self._held]
        if not players:
            return []
        rows = await self._pool.fetch(
            query("badge_award"), players, badge, self._clock.now(), season_id
        )
        self._held.update((u, badge) for u in players)  # newly awarded, or held before
        for row in rows:
            log.info("badge_awarded", badge=badge, user_id=str(row["user_id"]))
        self.awarded += len(rows)
        return [r["user_id"] for r in rows]

    async def _on_orders(self) -> None:
        async for event in self._orders:
            await anyio.sleep(_FILLS_GATHERED_SECONDS)
            events, ended = [event], False
            try:
                while True:
                    events.append(self._orders.receive_nowait())
            except anyio.WouldBlock:
                pass
            except anyio.EndOfStream:
                ended = True
            if filled := _filled_by(events):
                await self.check_orders(filled)
            if ended:
                return

    async def _on_seasons(self) -> None:
        async for event in self._seasons:
            await self.on_season(event)

    async def on_season(self, event: SeasonEvent) -> None:
        """Award what a season's start (early birds) or end (podium, champion, +10 %) earns."""
        match event:
            case SeasonStarted(season=season):
                early = await self._pool.fetch(query("badge_early_birds"), season.id)
                await self.award("early_bird", [r["user_id"] for r in early], season.id)
            case SeasonEnded(season=season, standings=standings):
                await self.award(
                    "season_podium", [r.user_id for r in standings if r.rank <= _PODIUM],
                    season.id,
                )  # fmt: skip
                await self.award(
                    "season_champion", [r.user_id for r in standings if r.rank == 1], season.id
                )
                await self.award(
                    "season_plus_10",
                    [r.user_id for r in standings if r.return_pct >= 10],
                    season.id,
                )


def _filled_by(events: Iterable[OrderEvent]) -> set[UUID]:
    return {e.order.user_id for e in events if e.order.status == "FILLED"}
