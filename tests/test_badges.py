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
