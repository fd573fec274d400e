"""GET /api/rankings by period and /api/rankings/history against a hand-computed account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import anyio
import pytest

from daemon.accounts import reset_account
from daemon.portfolios import day_start
from daemon.rankings import BOARD_MAX_AGE, VIEWED_FOR
from tests.api.conftest import Api

pytestmark = pytest.mark.anyio
OPENED = datetime(2026, 11, 23, tzinfo=UTC)  # the accounts opened two days before


async def _me(api: Api, name: str) -> str:
    headers = await api.user(name)
    user_id = (await api.client.get("/api/me", headers=headers)).json()["id"]
    await api.platform.pool.execute(
        "UPDATE cash_ledger SET created_at = $2 WHERE user_id = $1", user_id, OPENED
    )
    return user_id


async def _worth(api: Api, user_id: str, krw: int) -> None:
    # Cash stands for the whole equity here: what is tested is the chaining, not valuation.
    await api.platform.pool.execute(
        "UPDATE wallets SET balance_krw = $2 WHERE user_id = $1", user_id, Decimal(krw)
    )


async def test_time_weighted_return_with_a_deposit_and_a_reset(api: Api) -> None:
    pool = api.platform.pool
    record = api.platform.equity.record_once
    start = day_start(api.clock.now())  # 2026-11-25 00:00 KST; the clock is at 10:00 KST
    me = await _me(api, "twr_me")
    rival = await _me(api, "twr_rival")
    # The rival was +50 % yesterday and flat today: yesterday's leader.
    await pool.execute(
        "INSERT INTO equity_snapshots (user_id, taken_at, equity_krw, growth, boundary) VALUES"
        " ($1, $2, 10000000, 1, true), ($1, $3, 15000000, 1.5, true)",
        rival, start - timedelta(days=1), start,
    )  # fmt: skip
    await _worth(api, rival, 15_000_000)
    await _worth(api, me, 10_000_000)
    await record(start)  # index 1: the opening 10,000,000 is the base
    await _worth(api, me, 11_000_000)
    await record(start + timedelta(hours=1))  # 11 / 10: index 1.1
    await pool.execute(
        "INSERT INTO cash_ledger (user_id, kind, amount_krw, created_at) VALUES ($1, 'DEPOSIT', 5000000, $2)",
        me, start + timedelta(hours=1, minutes=30),
    )  # fmt: skip
    await _worth(api, me, 17_600_000)
    await record(start + timedelta(hours=2))  # 17.6 / (11 + 5): 1.1, index 1.21
    await reset_account(pool, "twr_me", Decimal(10_000_000), start + timedelta(hours=2, minutes=30))
    await _worth(api, me, 9_000_000)
    await record(start + timedelta(hours=3))  # 9 / 10 (the reset's deposit): 0.9, index 1.089
    await _worth(api, me, 9_900_000)  # now: 9.9 / 9: 1.1, index 1.1979

    day = (await api.client.get("/api/rankings", params={"period": "day"})).json()
    [mine] = [r for r in day if r["user_id"] == me]
    [theirs] = [r for r in day if r["user_id"] == rival]
    assert mine["rank"] == 1
    assert mine["return_pct"] == "19.79"  # 1.1979 - 1, whatever was deposited or reset
    assert mine["equity_krw"] == "9900000.00000000"
    assert mine["max_drawdown_pct"] == "10.00"  # 1.21 → 1.089
    # Steps +10 %, +10 %, -10 %, +10 %: mean 0.05, sample deviation 0.1; per year 365 days of
    # 288 five-minute snapshots = 105,120: 0.1 × √105120 = 32.4222 → 3242.22 %;
    # Sharpe (0.05 - 0.025 / 105120) / 0.1 × √105120 = 162.1103.
    assert mine["volatility_pct"] == "3242.22"
    assert mine["sharpe"] == "162.11"
    assert mine["rank_change"] == 1  # 2nd at yesterday's end (0 % against +50 %), 1st now
    assert theirs["return_pct"] == "0.00"
    assert theirs["rank_change"] == -1
    assert mine["trades"] == 0
    cash = [r for r in day if r["benchmark"]]
    assert [(r["nickname"], r["return_pct"], r["user_id"]) for r in cash] == [
        ("Cash", "0.00", None)
    ]
    # All time: the same chain from the first snapshot.
    every = (await api.client.get("/api/rankings", params={"period": "all"})).json()
    assert [r["return_pct"] for r in every if r["user_id"] == me] == ["19.79"]

    history = (await api.client.get(
        "/api/rankings/history", params={"user_id": me, "period": "day"}
    )).json()  # fmt: skip
    assert [(p["rank"], p["equity_krw"], p["return_pct"]) for p in history] == [
        (1, "11000000.00000000", "10.00"),
        (1, "17600000.00000000", "21.00"),
        (1, "9000000.00000000", "8.90"),
    ]


async def test_bad_periods_are_refused(api: Api) -> None:
    answer = await api.client.get("/api/rankings", params={"period": "year"})
    assert answer.status_code == 400
    assert "period" in answer.json()["detail"]
    none_yet = await api.client.get("/api/rankings", params={"period": "season"})
    assert none_yet.status_code == 404
    assert "no season" in none_yet.json()["detail"]


async def test_a_viewed_board_is_recomputed_ahead_of_the_pages(api: Api) -> None:
    """The board warmer recomputes a board a page asked for once it is half its max age old, so
    the next page reads it kept instead of computing it; a board nobody asked for in VIEWED_FOR
    is left to go stale."""
    me = await _me(api, "warm_board")

    async def equity() -> str:
        rows = (await api.client.get("/api/rankings", params={"period": "all"})).json()
        return next(r["equity_krw"] for r in rows if r["user_id"] == me)

    assert await equity() == "10000000.00000000"
    await _worth(api, me, 12_000_000)
    # Past half the max age (the injected clock stands still otherwise): only the warmer can
    # compute the board anew before a page's request would.
    api.clock.advance(BOARD_MAX_AGE.total_seconds() * 0.6)
    with anyio.fail_after(20):
        while await equity() != "12000000.00000000":  # noqa: ASYNC110 - polling the API
            await anyio.sleep(0.1)

    api.clock.advance((VIEWED_FOR + BOARD_MAX_AGE).total_seconds())
    await anyio.sleep(1.5)  # three looks of the warmer: the view is over, nothing recomputed
    await _worth(api, me, 13_000_000)
    await anyio.sleep(1.5)
    api.clock.advance(BOARD_MAX_AGE.total_seconds() * 0.1)
    kept = api.platform.rankings._boards  # what the warmer keeps
    assert all(board.at < api.clock.now() - VIEWED_FOR for board in kept.values())


async def test_the_pages_board_is_computed_once_per_max_age_and_anew_after_a_forget(
    api: Api,
) -> None:
    me = await _me(api, "cached_board")

    async def equity() -> str:
        rows = (await api.client.get("/api/rankings", params={"period": "all"})).json()
        return next(r["equity_krw"] for r in rows if r["user_id"] == me)

    assert await equity() == "10000000.00000000"
    await _worth(api, me, 12_000_000)
    assert await equity() == "10000000.00000000"  # the same board, BOARD_MAX_AGE long
    api.clock.advance(BOARD_MAX_AGE.total_seconds())
    assert await equity() == "12000000.00000000"
    await _worth(api, me, 13_000_000)
    api.platform.rankings.forget()  # what a season's start does
    assert await equity() == "13000000.00000000"
    # The exact board (a season's end freezes it, badges read it) is never the kept one.
    await _worth(api, me, 14_000_000)
    rows = await api.platform.rankings.board("all", None, Decimal(10_000_000))
    assert next(r.equity_krw for r in rows if str(r.user_id) == me) == Decimal(14_000_000)
