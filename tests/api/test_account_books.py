"""Resets in the books, today's and all-time profit, equity history, rankings with user ids."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from daemon.accounts import reset_account
from tests.api.conftest import Api
from tests.conftest import quote

pytestmark = pytest.mark.anyio
BTC = "CRYPTO-COIN-BTC"
INITIAL = Decimal(10_000_000)


async def buy(api: Api, headers: dict[str, str], quantity: str) -> dict:
    order = (await api.client.post(
        "/api/orders", json={"ticker_id": BTC, "side": "BUY", "type": "MARKET", "quantity": quantity},
        headers=headers,
    )).json()  # fmt: skip
    filled = await api.settled(headers, order["id"])
    assert filled["status"] == "FILLED", filled
    return filled


async def test_a_reset_is_explained_by_the_ledger_and_never_counted_as_a_loss(api: Api) -> None:
    headers = await api.user("resetter")
    me = (await api.client.get("/api/me", headers=headers)).json()
    pool = api.platform.pool
    cash_before_resets = []
    for price in ("100000000", "80000000"):
        api.platform.book.update(quote(api.clock, BTC, price))
        await buy(api, headers, "0.01")
        api.platform.book.update(quote(api.clock, BTC, "50000000"))  # the position lost value
        cash_before_resets.append(await pool.fetchval(
            "SELECT balance_krw FROM wallets WHERE user_id = $1", me["id"]
        ))  # fmt: skip
        await reset_account(pool, "resetter", INITIAL)

    [row] = [r for r in (await api.client.get("/api/rankings")).json() if r["user_id"] == me["id"]]
    assert row["return_pct"] == "0.00"
    assert Decimal(row["equity_krw"]) == INITIAL
    portfolio = (await api.client.get("/api/portfolio", headers=headers)).json()
    assert portfolio["positions"] == []
    # Every reset withdrew the cash held and deposited the initial cash; positions closed at 0.
    ledger = await pool.fetch(
        "SELECT kind, amount_krw FROM cash_ledger WHERE user_id = $1 AND kind IN"
        " ('DEPOSIT', 'WITHDRAWAL') ORDER BY id",
        me["id"],
    )
    assert [(r["kind"], r["amount_krw"]) for r in ledger] == [
        ("DEPOSIT", INITIAL),
        ("WITHDRAWAL", -cash_before_resets[0]),
        ("DEPOSIT", INITIAL),
        ("WITHDRAWAL", -cash_before_resets[1]),
        ("DEPOSIT", INITIAL),
    ]
    assert await pool.fetchval(
        "SELECT sum(amount_krw) FROM cash_ledger WHERE user_id = $1", me["id"]
    ) == Decimal(portfolio["cash_krw"])
    closures = await pool.fetch(
        "SELECT ticker_id, quantity, reason FROM position_closures WHERE user_id = $1 ORDER BY id",
        me["id"],
    )
    assert [tuple(r) for r in closures] == [(BTC, Decimal("0.01"), "account_reset")] * 2
    net = INITIAL * 3 - sum(cash_before_resets)
    assert Decimal(portfolio["net_deposits_krw"]) == net
    assert Decimal(portfolio["total_pnl_krw"]) == INITIAL - net
    # Reset today: the day starts from the money put in at the reset.
    assert Decimal(portfolio["day_start_equity_krw"]) == INITIAL
    assert Decimal(portfolio["day_pnl_krw"]) == 0
    assert portfolio["day_return_pct"] == "0.00"


async def test_a_trading_gain_after_a_reset_is_the_return(api: Api) -> None:
    headers = await api.user("regainer")
    api.platform.book.update(quote(api.clock, BTC, "100000000"))
    await buy(api, headers, "0.01")
    await reset_account(api.platform.pool, "regainer", INITIAL)
    await buy(api, headers, "0.05")  # 5,000,000 + 2,500 fee
    api.platform.book.update(quote(api.clock, BTC, "120000000"))  # +1,000,000
    [row] = [
        r for r in (await api.client.get("/api/rankings")).json() if r["nickname"] == "regainer"
    ]
    assert row["return_pct"] == "9.98"  # 997,500 on 10,000,000


async def test_today_starts_at_the_last_snapshot_before_midnight_kst(api: Api) -> None:
    headers = await api.user("daytrader")
    me = (await api.client.get("/api/me", headers=headers)).json()
    pool = api.platform.pool
    # Opened two days ago; worth 9,500,000 at 23:55 KST yesterday, 9,900,000 at 00:05 today.
    await pool.execute(
        "UPDATE cash_ledger SET created_at = '2026-11-23T00:00:00Z' WHERE user_id = $1", me["id"]
    )
    await pool.execute(
        "INSERT INTO equity_snapshots (user_id, taken_at, equity_krw) VALUES"
        " ($1, '2026-11-24T14:55:00Z', 9500000), ($1, '2026-11-24T15:05:00Z', 9900000)",
        me["id"],
    )
    api.clock.set(datetime(2026, 11, 25, 1, 0, 30, tzinfo=UTC))  # 10:00 KST
    portfolio = (await api.client.get("/api/portfolio", headers=headers)).json()
    assert Decimal(portfolio["equity_krw"]) == INITIAL
    assert Decimal(portfolio["day_start_equity_krw"]) == Decimal(9_500_000)
    assert Decimal(portfolio["day_pnl_krw"]) == Decimal(500_000)
    assert portfolio["day_return_pct"] == "5.26"
    assert Decimal(portfolio["net_deposits_krw"]) == INITIAL
    assert Decimal(portfolio["total_pnl_krw"]) == 0
    assert portfolio["total_return_pct"] == "0.00"
    history = (await api.client.get("/api/portfolio/history", headers=headers)).json()
    assert [h["equity_krw"] for h in history] == ["9500000.00000000", "9900000.00000000"]


async def test_history_has_only_recorded_points(api: Api) -> None:
    headers = await api.user()
    assert (await api.client.get("/api/portfolio/history", headers=headers)).json() == []


async def test_every_ranking_row_names_its_user(api: Api) -> None:
    first = await api.user("samename_a")
    second = await api.user("samename_b")
    ids = {(await api.client.get("/api/me", headers=h)).json()["id"] for h in (first, second)}
    rows = (await api.client.get("/api/rankings")).json()
    assert {r["user_id"] for r in rows if not r["benchmark"]} == ids
    # A benchmark is no player: it has no user id.
    assert {r["user_id"] for r in rows if r["benchmark"]} == {None}
