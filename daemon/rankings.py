"""The rankings by period (SPEC 6C): every player's time-weighted return, rank change, max
drawdown, volatility, Sharpe ratio and trades, benchmark rows among them; a player's history.

What the equity snapshots say (each player's index at the period's start, its series folded
into a `Summary`, trades so far) is cached until a newer snapshot is taken; the live part
(equity now, the last link of the index, trades since) is computed by `board()` every time.
What the pages read (`recent_board`) is a board at most BOARD_MAX_AGE old, computed once for
every request in that time, and recomputed ahead of the pages while they are viewed
(`keep_warm`, driven by the board warmer actor); a season's start (`forget`) or end makes a new
one at once.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Literal
from uuid import UUID

import anyio
import asyncpg
import msgspec

from daemon.clock import Clock
from daemon.money import QUANTUM
from daemon.portfolios import KST, Standing, day_start, standings
from daemon.price_book import PriceBook
from daemon.ranking_metrics import (
    DAILY_PER_YEAR,
    HOURLY_PER_YEAR,
    Flow,
    Summary,
    chain,
    extend,
    extend_all,
    metrics,
    period_return_pct,
    summarise,
)
from daemon.seasons import Season, participants_started
from daemon.sqlfiles import query

Period = Literal["day", "week", "month", "season", "all"]
PERIODS: tuple[Period, ...] = ("day", "week", "month", "season", "all")
# What the starting cash would have done in each, ranked among the players.
BENCHMARKS: tuple[tuple[str, str | None], ...] = (
    ("KODEX 200", "KRX-ETF-069500"),
    ("SPY", "US-ETF-SPY"),
    ("BTC", "CRYPTO-COIN-BTC"),
    ("Cash", None),
)
BEGINNING = datetime(2000, 1, 1, tzinfo=KST)  # before any account: the start of "all"
_CACHE_SIZE = 32
# How old a board the pages may be shown: its equity at prices of up to this long ago. One
# board costs O(players) (1,000: tens of milliseconds of CPU), so it is computed once for all
# the requests in this time instead of once each.
BOARD_MAX_AGE = timedelta(seconds=5)
VIEWED_FOR = timedelta(minutes=2)  # how long after a page asked for a board it is kept warm


class RankRow(msgspec.Struct, frozen=True, kw_only=True):
    rank: int
    user_id: UUID | None  # None for a benchmark
    nickname: str
    equity_krw: Decimal
    return_pct: Decimal
    rank_change: int | None  # places gained since the previous period's end; None: unranked then
    max_drawdown_pct: Decimal
    volatility_pct: Decimal | None
    sharpe: Decimal | None
    trades: int
    benchmark: bool = False


class HistoryPoint(msgspec.Struct, frozen=True):
    time: datetime
    rank: int
    equity_krw: Decimal
    return_pct: Decimal


class Link(msgspec.Struct, frozen=True):
    """An account's latest snapshot before an instant (none: None) and the flows after it."""

    taken_at: datetime | None
    equity_krw: Decimal | None
    growth: Decimal
    flows: list[Flow]


class Window(msgspec.Struct, frozen=True):
    """Who is ranked from when, and the previous board's instants (SPEC 6C, docs/seasons.md)."""

    starts: dict[UUID, datetime]  # each player's period start
    previous_from: datetime | None  # the previous board's start (None: each player's own start)
    previous_to: datetime  # the previous board's end
    end: datetime  # now, or the season's end
    every_snapshot: bool  # the day's board uses every snapshot, the others the daily ones


def period_bounds(period: Period, now: datetime) -> tuple[datetime, datetime]:
    """(start, previous start) of the day, week (from Monday) or month `now` is in, at 00:00
    KST; for `all` and `season`, (the beginning, today's 00:00 KST: the previous board's end)."""
    today = now.astimezone(KST).date()
    match period:
        case "day":
            start = day_start(now)
            return start, start - timedelta(days=1)
        case "week":
            start = datetime.combine(today - timedelta(days=today.weekday()), time(), KST)
            return start, start - timedelta(days=7)
        case "month":
            first = today.replace(day=1)
            previous = (first - timedelta(days=1)).replace(day=1)
            return datetime.combine(first, time(), KST), datetime.combine(previous, time(), KST)
        case _:
            return BEGINNING, day_start(now)


async def latest_links(
    conn: asyncpg.Pool | asyncpg.Connection,
    before: datetime,
    accounts: Collection[UUID],
    snapshots: dict[UUID, asyncpg.Record] | None = None,
) -> dict[UUID, Link]:
    """The last link of each of `accounts`: its latest snapshot before `before` (or as in
    `snapshots`, which `latest_snapshots` gave for that instant) and the flows after it."""
    if snapshots is None:
        snapshots = await latest_snapshots(conn, before)
    since = min((s["taken_at"] for s in snapshots.values()), default=BEGINNING)
    unsnapped = [a for a in accounts if a not in snapshots]  # new since the last snapshot
    flows: dict[UUID, list[Flow]] = {}
    for row in await conn.fetch(query("ranking_flows"), since, unsnapped):
        snapshot = snapshots.get(row["user_id"])
        if snapshot is None or row["created_at"] > snapshot["taken_at"]:
            flows.setdefault(row["user_id"], []).append(
                Flow(row["created_at"], row["amount_krw"], row["restart"])
            )
    links = {}
    for user_id in accounts:
        snapshot = snapshots.get(user_id)
        if snapshot is None:
            links[user_id] = Link(None, None, Decimal(1), flows.get(user_id, []))
        else:
            links[user_id] = Link(
                snapshot["taken_at"], snapshot["equity_krw"], snapshot["growth"],
                flows.get(user_id, []),
            )  # fmt: skip
    return links


async def latest_snapshots(
    conn: asyncpg.Pool | asyncpg.Connection, before: datetime
) -> dict[UUID, asyncpg.Record]:
    return {r["user_id"]: r for r in await conn.fetch(query("ranking_latest"), before)}


def growth_now(link: Link | None, equity_krw: Decimal) -> Decimal:
    """The index of an account worth `equity_krw` now, chained on from its last link."""
    if link is None:
        return chain(Decimal(1), None, [], equity_krw)
    return chain(link.growth, link.equity_krw, link.flows, equity_krw)


class _History(msgspec.Struct, frozen=True):
    """What the snapshots say about one board, valid until a newer snapshot."""

    summaries: dict[UUID, Summary]
    previous: dict[UUID, Decimal]  # previous board's return per player ranked then
    points: dict[UUID, list[tuple[datetime, Decimal, Decimal]]]  # (time, equity, growth)
    trades: dict[UUID, int]
    upto: datetime  # trades and points are counted up to here
    benchmarks: dict[str, Summary]


class _Board(msgspec.Struct, frozen=True):
    at: datetime  # when it was computed (the injected clock)
    rows: list[RankRow]

    def younger_than(self, age: timedelta, now: datetime) -> bool:
        return self.at <= now < self.at + age


class _Viewed(msgspec.Struct, frozen=True):
    at: datetime  # when a page last asked (the injected clock)
    period: Period
    season: Season | None
    initial_cash_krw: Decimal


class Rankings:
    """Boards by period, their history cached per snapshot generation (one per platform)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        book: PriceBook,
        clock: Clock,
        snapshot_interval: timedelta,
        board_max_age: timedelta = BOARD_MAX_AGE,
    ) -> None:
        self._pool = pool
        self._book = book
        self._clock = clock
        self._per_year = int(timedelta(days=365) / snapshot_interval)
        self._cache: dict[tuple, _History] = {}
        self._latest: tuple[datetime | None, dict[UUID, asyncpg.Record]] = (None, {})
        self._board_max_age = board_max_age
        self._boards: dict[tuple, _Board] = {}
        self._building: dict[tuple, anyio.Event] = {}  # boards being computed: wait for them
        self._viewed: dict[tuple, _Viewed] = {}  # boards the pages asked for, kept warm a while
        self._forgets = 0  # a board whose computing began before a forget is not kept

    async def recent_board(
        self, period: Period, season: Season | None, initial_cash_krw: Decimal
    ) -> list[RankRow]:
        """`board()` as computed at most `board_max_age` ago (one computing at a time for all
        the callers of a board). For the pages; what must be exact now (a season's frozen
        standings, badges) asks `board()`."""
        key = (
            period,
            None if season is None else (season.id, season.status, season.started_at),
            initial_cash_krw,
        )
        self._viewed[key] = _Viewed(self._clock.now(), period, season, initial_cash_krw)
        while True:
            now = self._clock.now()
            kept = self._boards.get(key)
            if kept is not None and kept.younger_than(self._board_max_age, now):
                return kept.rows
            building = self._building.get(key)
            if building is None:
                break
            await building.wait()
        return await self._rebuild(key, period, season, initial_cash_krw)

    async def keep_warm(self) -> None:
        """Recompute, ahead of the pages, each board viewed in the last VIEWED_FOR once it is
        half its max age old: a page then reads a kept board instead of waiting for one (a
        board of 1,000 players over 90 days takes ~170 ms, ~1.9 s after a new snapshot)."""
        now = self._clock.now()
        for key, viewed in list(self._viewed.items()):
            if now - viewed.at > VIEWED_FOR:
                self._viewed.pop(key, None)
                continue
            kept = self._boards.get(key)
            if key in self._building or (
                kept is not None and kept.younger_than(self._board_max_age / 2, now)
            ):
                continue
            await self._rebuild(key, viewed.period, viewed.season, viewed.initial_cash_krw)

    async def _rebuild(
        self, key: tuple, period: Period, season: Season | None, initial_cash_krw: Decimal
    ) -> list[RankRow]:
        """Compute the board of `key` now and keep it (one computing at a time per key)."""
        now = self._clock.now()
        self._building[key] = done = anyio.Event()
        forgets = self._forgets
        try:
            rows = await self.board(period, season, initial_cash_krw)
            if forgets == self._forgets:
                if len(self._boards) >= _CACHE_SIZE:
                    self._boards.clear()
                self._boards[key] = _Board(now, rows)
            return rows
        finally:
            del self._building[key]
            done.set()

    async def board(
        self, period: Period, season: Season | None, initial_cash_krw: Decimal
    ) -> list[RankRow]:
        """The ranked rows of `period` (`season`: its participants, from their starts)."""
        players, window = await self._window(period, season)
        if season is not None and period == "season":
            initial_cash_krw = season.initial_cash_krw
        history = await self._history(period, window)
        links = await latest_links(
            self._pool, window.end, [p.user_id for p in players], await self._snapshots(window.end)
        )
        recent = await self._trades(history.upto, window.end)
        per_year = self._per_year if window.every_snapshot else DAILY_PER_YEAR
        # A benchmark's closes are hourly on the day's board.
        benchmark_per_year = HOURLY_PER_YEAR if window.every_snapshot else DAILY_PER_YEAR
        rows = []
        for player in players:
            summary = history.summaries.get(player.user_id) or summarise(Decimal(1))
            current = growth_now(links.get(player.user_id), player.equity_krw)
            found = metrics(extend(summary, current), per_year)
            trades = history.trades.get(player.user_id, 0) + recent.get(player.user_id, 0)
            rows.append((player.user_id, player.nickname, player.equity_krw, found, trades))
        for name, ticker in BENCHMARKS:
            row = self._benchmark(name, ticker, history, initial_cash_krw, benchmark_per_year)
            if row is not None:
                rows.append(row)
        # Ties: players before benchmarks, then the larger equity.
        rows.sort(key=lambda r: (-r[3].return_pct, r[0] is None, -r[2], r[1]))
        before = _ranks(history.previous)
        ranked = []
        for rank, (user_id, nickname, equity, found, trades) in enumerate(rows, start=1):
            previous = before.get(user_id) if user_id is not None else None
            ranked.append(
                RankRow(
                    rank=rank,
                    user_id=user_id,
                    nickname=nickname,
                    equity_krw=equity,
                    return_pct=found.return_pct,
                    rank_change=None if previous is None else previous - rank,
                    max_drawdown_pct=found.max_drawdown_pct,
                    volatility_pct=found.volatility_pct,
                    sharpe=found.sharpe,
                    trades=trades,
                    benchmark=user_id is None,
                )
            )
        return ranked

    async def history(
        self, user_id: UUID, period: Period, season: Season | None
    ) -> list[HistoryPoint]:
        """`user_id`'s rank (among the players only) and equity at each snapshot the board uses
        (every one for a day, the daily ones otherwise), oldest first; [] if not ranked."""
        _, window = await self._window(period, season)
        if user_id not in window.starts:
            return []
        history = await self._history(period, window)
        starts = {u: s.first for u, s in history.summaries.items()}
        at: dict[datetime, dict[UUID, tuple[Decimal, Decimal]]] = {}
        for user, points in history.points.items():
            for taken_at, equity, growth in points:
                at.setdefault(taken_at, {})[user] = (equity, growth)
        result = []
        for taken_at in sorted(at):
            if user_id not in at[taken_at]:
                continue
            returns = {u: period_return_pct(starts[u], g) for u, (_, g) in at[taken_at].items()}
            result.append(
                HistoryPoint(
                    taken_at, _ranks(returns)[user_id], at[taken_at][user_id][0], returns[user_id]
                )
            )
        return result

    def forget(self) -> None:
        """Drop what is cached: snapshots were rewritten at an instant already seen (a start)."""
        self._cache.clear()
        self._latest = (None, {})
        self._boards.clear()
        self._forgets += 1

    async def _snapshots(self, end: datetime) -> dict[UUID, asyncpg.Record]:
        """Everyone's latest snapshot before `end`, kept until a newer snapshot is taken."""
        generation = await self._pool.fetchval(query("ranking_generation"))
        if generation is not None and generation < end and self._latest[0] == generation:
            return self._latest[1]
        snapshots = await latest_snapshots(self._pool, end)
        if generation is not None and generation < end:
            self._latest = (generation, snapshots)
        return snapshots

    async def _window(self, period: Period, season: Season | None) -> tuple[list[Standing], Window]:
        now = self._clock.now()
        players = await standings(self._pool, self._book)
        start, previous = period_bounds(period, now)
        everyone = {p.user_id: start for p in players}
        if period in ("day", "week", "month"):
            return players, Window(everyone, previous, start, now, period == "day")
        if period == "all":
            return players, Window(everyone, start, previous, now, False)
        if season is None or season.started_at is None:
            return [], Window({}, start, previous, now, False)  # not started: nobody ranked yet
        joined = {
            r["user_id"]: r["started_at"] for r in await participants_started(self._pool, season.id)
        }
        players = [p for p in players if p.user_id in joined]
        end = min(now, season.ended_at or season.ends_at)
        return players, Window(joined, None, min(previous, end), end, False)

    async def _history(self, period: Period, window: Window) -> _History:
        generation = await self._pool.fetchval(query("ranking_generation"))
        key = (period, window.previous_from, window.previous_to, window.end.date(), generation,
               frozenset(window.starts.items()))  # fmt: skip
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        users = list(window.starts)
        earliest = min(window.starts.values(), default=window.end)
        upto = min(generation or earliest, window.end)
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            first = await _growth_at(conn, users, [window.starts[u] for u in users])
            previous_from = (
                first
                if window.previous_from is None
                else await _growth_at(conn, users, [window.previous_from] * len(users))
            )
            previous_to = await _growth_at(conn, users, [window.previous_to] * len(users))
            points: dict[UUID, list[tuple[datetime, Decimal, Decimal]]] = {}
            for row in await conn.fetch(
                query("ranking_series"), earliest, upto, window.every_snapshot
            ):
                user = row["user_id"]
                if user in window.starts and row["taken_at"] > window.starts[user]:
                    points.setdefault(user, []).append(
                        (row["taken_at"], row["equity_krw"], row["growth"])
                    )
            trades = {
                r["user_id"]: r["trades"]
                for r in await conn.fetch(query("ranking_trades"), earliest, upto)
                if r["user_id"] in window.starts
            }
            samples = _sample_times(earliest, window.end, window.every_snapshot)
            benchmarks = {}
            for _, ticker in BENCHMARKS:
                if ticker is not None:
                    closes = [
                        r["close"]
                        for r in await conn.fetch(query("ranking_closes"), ticker, samples)
                    ]
                    if closes:
                        benchmarks[ticker] = extend_all(summarise(closes[0]), closes[1:])
        summaries = {
            u: extend_all(
                summarise(first.get(u) or Decimal(1)), [g for _, _, g in points.get(u, [])]
            )
            for u in users
        }
        previous = {
            u: period_return_pct(previous_from.get(u) or Decimal(1), end)
            for u, end in previous_to.items()
            # Ranked then: had a snapshot by its end (and, in a season, had started).
            if end is not None
            and (window.previous_from is not None or window.starts[u] < window.previous_to)
        }
        history = _History(summaries, previous, points, trades, upto, benchmarks)
        if len(self._cache) >= _CACHE_SIZE:
            self._cache.clear()
        self._cache[key] = history
        return history

    async def _trades(self, after: datetime, upto: datetime) -> dict[UUID, int]:
        rows = await self._pool.fetch(query("ranking_trades"), after, upto)
        return {r["user_id"]: r["trades"] for r in rows}

    def _benchmark(
        self,
        name: str,
        ticker: str | None,
        history: _History,
        initial_cash_krw: Decimal,
        per_year: int,
    ) -> tuple[None, str, Decimal, object, int] | None:
        if ticker is None:
            found = metrics(extend(summarise(Decimal(1)), Decimal(1)), per_year)
            return None, name, initial_cash_krw, found, 0
        summary = history.benchmarks.get(ticker)
        quote = self._book.quote(ticker)
        if summary is None or quote is None:
            return None  # no price at the start or now: no row rather than a made-up one
        found = metrics(extend(summary, quote.price), per_year)
        equity = (initial_cash_krw * quote.price / summary.first).quantize(QUANTUM)
        return None, name, equity, found, 0


async def _growth_at(
    conn: asyncpg.Connection, users: list[UUID], at: list[datetime]
) -> dict[UUID, Decimal | None]:
    """Each user's index at its instant (its latest snapshot then; None: none yet)."""
    rows = await conn.fetch(query("ranking_starts"), users, at)
    return {r["user_id"]: r["growth"] for r in rows}


def _sample_times(start: datetime, end: datetime, every_snapshot: bool) -> list[datetime]:
    """The instants of a benchmark's closes: the start, each hour (a day's board) or each
    00:00 KST after it (the others), up to `end`."""
    step = timedelta(hours=1) if every_snapshot else timedelta(days=1)
    times = [start]
    t = max(day_start(start), day_start(end) - timedelta(days=400)) + step
    while t <= end:
        if t > start:
            times.append(t)
        t += step
    return times


def _ranks(returns: dict[UUID, Decimal]) -> dict[UUID, int]:
    order = sorted(returns, key=lambda u: -returns[u])
    return {u: i for i, u in enumerate(order, start=1)}
