"""Badges are awarded from events once, ever, across a restart; the recaps announce them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from daemon.actors.notifier import season_end_message, season_start_message
from daemon.actors.season_clock import SeasonEnded
from daemon.badges import BADGES
from daemon.clock import TestClock
from daemon.rankings import RankRow
from daemon.seasons import NewSeason, create_season, get_season
from tests.conftest import quote, running_platform, tick
from tests.settlement_helpers import new_user, place

pytestmark = pytest.mark.anyio
BTC = "CRYPTO-COIN-BTC"


async def held(platform, user_id) -> list[str]:  # type: ignore[no-untyped-def]
    rows = await platform.pool.fetch(
        "SELECT badge FROM badges_awarded WHERE user_id = $1 ORDER BY badge", user_id
    )
    return [r["badge"] for r in rows]


def test_the_list_has_at_least_ten_distinct_badges() -> None:
    assert len({b.code for b in BADGES}) == len(BADGES) >= 10


async def test_a_badge_is_awarded_once_even_across_a_restart(database_url: str) -> None:
    clock = TestClock(datetime.now(UTC))
    async with running_platform(database_url, clock) as platform:
        player = await new_user(platform)
        await tick(platform, quote(clock, BTC, "100000000"))
        for _ in range(2):
            assert (await place(platform, player, BTC, "BUY", "0.001")).status == "FILLED"
        await platform.badges.check_orders({player.id})  # what the fill events did, once more
        assert await held(platform, player.id) == ["first_trade"]
        first = await platform.pool.fetchval(
            "SELECT awarded_at FROM badges_awarded WHERE user_id = $1", player.id
        )
        # Doubling the equity earns double_up from the boards; a second look awards nothing.
        await platform.pool.execute(
            "UPDATE wallets SET balance_krw = balance_krw + 30000000 WHERE user_id = $1", player.id
        )
        await platform.badges.check_equity()
        awarded = platform.badges.awarded
        await platform.badges.check_equity()
        assert platform.badges.awarded == awarded
        assert await held(platform, player.id) == ["double_up", "first_trade"]
    clock.advance(3600)
    async with running_platform(database_url, clock) as platform:  # recovery looks at all again
        await platform.badges.check_orders(None)
        await platform.badges.check_equity()
        assert platform.badges.awarded == 0
        assert await held(platform, player.id) == ["double_up", "first_trade"]
        assert (
            await platform.pool.fetchval(
                "SELECT awarded_at FROM badges_awarded WHERE user_id = $1 AND badge = 'first_trade'",
                player.id,
            )
            == first
        )


async def filled_on(platform, user_id, ticker_id: str, at: datetime) -> None:  # type: ignore[no-untyped-def]
    await platform.pool.execute(
        "INSERT INTO orders (id, user_id, ticker_id, side, type, time_in_force, status, quantity,"
        " filled_quantity, currency, price, applied_exchange_rate, total_krw, fee_krw, created_at,"
        " filled_at) VALUES (gen_random_uuid(), $1, $2, 'BUY', 'MARKET', 'GTC', 'FILLED', 1, 1,"
        " 'KRW', 1, 1, 1, 0, $3, $3)",
        user_id, ticker_id, at,
    )  # fmt: skip


async def test_a_start_looks_at_every_player_page_by_page_counting_kst_day_streaks(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thirty KST days in a row earn streak_30 (29 UTC days: a fill at 15:30 UTC is on the next
    KST day), a day without a fill breaks the run; trades and markets are counted per player, and
    every player is looked at."""
    monkeypatch.setattr("daemon.actors.badge_awarder._PLAYERS_PAGE", 1)
    clock = TestClock(datetime(2026, 11, 30, 12, tzinfo=UTC))
    async with running_platform(database_url, clock) as platform:
        streaker, broken, idle = [await new_user(platform) for _ in range(3)]
        start = datetime(2026, 10, 1, 15, 30, tzinfo=UTC)  # 00:30 KST on 2 October
        markets = (BTC, "KRX-STOCK-005930", "US-STOCK-AAPL")
        await filled_on(platform, streaker.id, BTC, start - timedelta(hours=1))  # 1 Oct, 23:30 KST
        for day in range(29):  # 2-30 October KST
            await filled_on(platform, streaker.id, markets[day % 3], start + timedelta(days=day))
        for day in (*range(29), *range(30, 40)):  # 29 days, a day without a fill, 10 more
            await filled_on(platform, broken.id, BTC, start + timedelta(days=day))
        await platform.badges.check_orders(None)
        assert await held(platform, streaker.id) == [
            "first_trade", "streak_30", "ten_trades", "three_markets",
        ]  # fmt: skip
        assert await held(platform, broken.id) == ["first_trade", "ten_trades"]
        assert await held(platform, idle.id) == []


async def test_a_season_end_awards_the_podium(database_url: str) -> None:
    clock = TestClock(datetime.now(UTC))
    async with running_platform(database_url, clock) as platform:
        players = [await new_user(platform) for _ in range(4)]
        season = await create_season(
            platform.pool,
            NewSeason(name="s", starts_at=clock.now() + timedelta(minutes=1),
                      ends_at=clock.now() + timedelta(days=1)),
            None, clock.now(),
        )  # fmt: skip
        standings = [
            RankRow(rank=i, user_id=p.id, nickname=p.username, equity_krw=Decimal(1),
                    return_pct=Decimal(12 - i), rank_change=None, max_drawdown_pct=Decimal(0),
                    volatility_pct=None, sharpe=None, trades=0)
            for i, p in enumerate(players, start=1)
        ]  # fmt: skip
        stored = await get_season(platform.pool, season.id)
        assert stored is not None
        await platform.badges.on_season(SeasonEnded(stored, standings))
        assert await held(platform, players[0].id) == [
            "season_champion",
            "season_plus_10",
            "season_podium",
        ]
        assert await held(platform, players[1].id) == ["season_plus_10", "season_podium"]
        assert await held(platform, players[2].id) == ["season_podium"]
        assert await held(platform, players[3].id) == []
        message = season_end_message(stored, standings)
        assert message.split("\n")[1].startswith("🥇 ")
        assert "명예의 전당" in message
        assert "시즌 시작: s" in season_start_message(stored)
