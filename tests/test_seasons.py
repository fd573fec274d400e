"""Seasons on an injected clock: start and end on time, across a daemon restart; accounts set
at the start; resets limited; standings frozen at the end."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TypeVar
from uuid import UUID

import anyio
import pytest

from daemon.accounts import AccountError, reset_account
from daemon.clock import TestClock
from daemon.platform import Platform
from daemon.seasons import (
    NewSeason,
    create_season,
    end_early,
    get_season,
    join_season,
    rules_for_user,
)
from tests.conftest import quote, running_platform, tick
from tests.settlement_helpers import new_user, place, submit, wallet

pytestmark = pytest.mark.anyio
T = TypeVar("T")
BTC = "CRYPTO-COIN-BTC"
SEASON_CASH = Decimal(5_000_000)


async def until(read: Callable[[], Awaitable[T]], done: Callable[[T], bool]) -> T:
    """What `read()` returns once `done` holds for it (the season clock acts on its own time)."""
    with anyio.fail_after(10):
        while not done(value := await read()):  # noqa: ASYNC110 - the database signals nothing
            await anyio.sleep(0.05)
    return value


async def status_becomes(platform: Platform, season_id: UUID, status: str) -> None:
    await until(
        lambda: get_season(platform.pool, season_id), lambda s: s is not None and s.status == status
    )


async def order_status(platform: Platform, order_id: UUID) -> str:
    return await platform.pool.fetchval("SELECT status FROM orders WHERE id = $1", order_id)


async def test_a_season_starts_while_the_daemon_was_down_and_ends_on_time(
    database_url: str,
) -> None:
    # The clock starts at the wall's time: the opening deposits, which the database stamps
    # itself, come before every snapshot, as in a live daemon.
    clock = TestClock(datetime.now(UTC))
    start = clock.now() + timedelta(hours=1)
    end = start + timedelta(days=7)
    async with running_platform(database_url, clock) as platform:
        alice = await new_user(platform)
        bob = await new_user(platform)
        loner = await new_user(platform)
        await tick(platform, quote(clock, BTC, "100000000"))
        assert (await place(platform, alice, BTC, "BUY", "0.01")).status == "FILLED"
        resting = await submit(platform, alice, BTC, "BUY", "0.01", limit_price="50000000")
        season = await create_season(
            platform.pool,
            NewSeason(name="겨울 시즌", starts_at=start, ends_at=end, initial_cash_krw=SEASON_CASH,
                      markets=["CRYPTO"], resets_allowed=1, portfolio_visibility="after_end"),
            None,
            clock.now(),
        )  # fmt: skip
        for player in (alice, bob):
            assert await join_season(platform.pool, season, player.id, clock.now())
        await platform.season_clock.tick()  # nothing is due yet
        assert (await get_season(platform.pool, season.id)).status == "scheduled"  # type: ignore[union-attr]

    clock.set(start + timedelta(minutes=10))  # the start passed while nothing ran
    async with running_platform(database_url, clock) as platform:
        await status_becomes(platform, season.id, "running")
        started = await get_season(platform.pool, season.id)
        assert started is not None
        assert started.started_at == start + timedelta(minutes=10)
        pool = platform.pool
        assert await wallet(platform, alice) == SEASON_CASH
        assert await wallet(platform, bob) == SEASON_CASH
        assert await wallet(platform, loner) == Decimal(10_000_000)  # not in it: free play
        assert (
            await pool.fetchval("SELECT count(*) FROM portfolios WHERE user_id = $1", alice.id) == 0
        )
        closures = await pool.fetch(
            "SELECT ticker_id, quantity, reason FROM position_closures WHERE user_id = $1", alice.id
        )
        assert [tuple(r) for r in closures] == [(BTC, Decimal("0.01"), "season_started")]
        ledger = await pool.fetch(
            "SELECT kind, amount_krw, created_at FROM cash_ledger WHERE user_id = $1 ORDER BY id DESC"
            " LIMIT 2", alice.id,
        )  # fmt: skip
        assert [(r["kind"], r["amount_krw"]) for r in ledger] == [
            ("DEPOSIT", SEASON_CASH),
            ("WITHDRAWAL", -(Decimal(10_000_000) - Decimal(1_000_500))),
        ]
        assert {r["created_at"] for r in ledger} == {start + timedelta(minutes=10)}
        status = await until(lambda: order_status(platform, resting.id), lambda s: s != "PENDING")
        assert status == "CANCELLED"
        rules = await rules_for_user(pool, alice.id)
        assert rules is not None
        assert rules.markets == frozenset({"CRYPTO"})
        assert await rules_for_user(pool, loner.id) is None

        # One reset allowed: back to the season's cash, then refused.
        now = clock.now()
        assert await reset_account(pool, alice.username, Decimal(10_000_000), now) == SEASON_CASH
        with pytest.raises(AccountError, match="allows 1 reset"):
            await reset_account(pool, alice.username, Decimal(10_000_000), now)
        assert await reset_account(pool, loner.username, Decimal(10_000_000), now) == Decimal(
            10_000_000
        )

        # A trade in the season: 0.01 BTC for 1,000,000 + 500 fee, then worth 1,100,000.
        clock.advance(60)
        await tick(platform, quote(clock, BTC, "100000000"))
        assert (await place(platform, alice, BTC, "BUY", "0.01")).status == "FILLED"
        await tick(platform, quote(clock, BTC, "110000000"))
        board = await platform.rankings.board("season", started, SEASON_CASH)
        players = [r for r in board if not r.benchmark]
        assert [r.user_id for r in players] == [alice.id, bob.id]
        # 3,999,500 cash + 1,100,000 = 5,099,500 on 5,000,000: +1.99 % (the reset is no return).
        assert players[0].return_pct == Decimal("1.99")
        assert players[0].trades == 1

        clock.set(end + timedelta(seconds=1))
        await status_becomes(platform, season.id, "ended")
        frozen = await pool.fetch(
            "SELECT user_id, rank, equity_krw, return_pct, trades FROM season_standings"
            " WHERE season_id = $1 ORDER BY rank", season.id,
        )  # fmt: skip
        assert [tuple(r) for r in frozen] == [
            (alice.id, 1, Decimal("5099500"), Decimal("1.99"), 1),
            (bob.id, 2, SEASON_CASH, Decimal("0.00"), 0),
        ]
        assert await rules_for_user(pool, alice.id) is None  # free play again
        # Frozen means frozen: prices move, the hall of fame does not.
        await tick(platform, quote(clock, BTC, "50000000"))
        await platform.season_clock.tick()
        assert await pool.fetchval(
            "SELECT equity_krw FROM season_standings WHERE user_id = $1", alice.id
        ) == Decimal("5099500")


async def test_the_start_cancels_open_orders_as_season_started(database_url: str) -> None:
    clock = TestClock(datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3))
    async with running_platform(database_url, clock) as platform:
        player = await new_user(platform)
        await tick(platform, quote(clock, BTC, "100000000"))
        resting = await submit(platform, player, BTC, "BUY", "0.01", limit_price="50000000")
        season = await create_season(
            platform.pool,
            NewSeason(name="s", starts_at=clock.now() + timedelta(minutes=1),
                      ends_at=clock.now() + timedelta(days=1)),
            None, clock.now(),
        )  # fmt: skip
        await join_season(platform.pool, season, player.id, clock.now())
        clock.advance(61)
        await status_becomes(platform, season.id, "running")
        reason = await until(
            lambda: platform.pool.fetchval("SELECT reason FROM orders WHERE id = $1", resting.id),
            lambda r: r is not None,
        )
        assert reason == "season_started"


async def test_a_late_joiner_starts_when_joining(database_url: str) -> None:
    clock = TestClock(datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3))
    async with running_platform(database_url, clock) as platform:
        early = await new_user(platform)
        season = await create_season(
            platform.pool,
            NewSeason(name="s", starts_at=clock.now() + timedelta(minutes=1),
                      ends_at=clock.now() + timedelta(days=1), initial_cash_krw=SEASON_CASH),
            None, clock.now(),
        )  # fmt: skip
        await join_season(platform.pool, season, early.id, clock.now())
        clock.advance(61)
        await status_becomes(platform, season.id, "running")
        late = await new_user(platform)
        running = await get_season(platform.pool, season.id)
        assert running is not None
        await join_season(platform.pool, running, late.id, clock.now())
        await until(lambda: wallet(platform, late), lambda cash: cash == SEASON_CASH)
        assert (
            await platform.pool.fetchval(
                "SELECT started_at FROM season_participants WHERE user_id = $1", late.id
            )
            == clock.now()
        )


async def test_settlement_holds_a_running_season_to_its_rules_and_lets_go_at_its_end(
    database_url: str,
) -> None:
    """A season of crypto only, without costs, one position at most 10 % of equity: an order in
    another market FAILs `season_market_excluded`, a BUY over the cap `season_position_limit`,
    fills pay no fee; once the season has ended the same orders are free play again."""
    clock = TestClock(datetime.now(UTC).replace(microsecond=0))
    async with running_platform(database_url, clock) as platform:
        player = await new_user(platform)
        await tick(platform, quote(clock, BTC, "100000000", bid="99990000", ask="100000000"))
        season = await create_season(
            platform.pool,
            NewSeason(name="코인 시즌", starts_at=clock.now() + timedelta(minutes=1),
                      ends_at=clock.now() + timedelta(days=7), initial_cash_krw=SEASON_CASH,
                      markets=["CRYPTO"], costs="none", max_position_pct=Decimal(10)),
            None,
            clock.now(),
        )  # fmt: skip
        assert await join_season(platform.pool, season, player.id, clock.now())
        clock.advance(120)
        await tick(platform, quote(clock, BTC, "100000000", bid="99990000", ask="100000000"))
        await platform.season_clock.tick()
        await status_becomes(platform, season.id, "running")

        # 0.004 BTC = 400,000 KRW, 8 % of 5,000,000: within the cap, and no fee in this season.
        first = await place(platform, player, BTC, "BUY", "0.004")
        assert (first.status, first.fee_krw) == ("FILLED", Decimal(0))
        # 0.002 more would make the position 600,000 KRW, 12 % of equity.
        over = await place(platform, player, BTC, "BUY", "0.002")
        assert (over.status, over.reason) == ("FAILED", "season_position_limit")
        apple = await place(platform, player, "US-STOCK-AAPL", "BUY", "1")
        assert (apple.status, apple.reason) == ("FAILED", "season_market_excluded")
        assert await wallet(platform, player) == SEASON_CASH - Decimal(400_000)

        clock.advance(60)
        await tick(platform, quote(clock, BTC, "100000000", bid="99990000", ask="100000000"))
        assert await end_early(platform.pool, season.id, clock.now())
        await platform.season_clock.tick()
        await status_becomes(platform, season.id, "ended")
        after = await place(platform, player, BTC, "BUY", "0.002")
        assert after.status == "FILLED"  # free play: no cap
        assert after.fee_krw > 0  # and the daemon's costs again
