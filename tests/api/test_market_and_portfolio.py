"""Instruments, quotes, FX, candles, portfolio valuation, rankings, health, readiness, metrics."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import msgspec
import pytest

from tests.api.conftest import Api
from tests.conftest import quote, usd_krw
from tests.fakes.waiting import eventually

pytestmark = pytest.mark.anyio
BTC = "CRYPTO-COIN-BTC"


async def test_instruments_say_whether_open(api: Api) -> None:
    instruments = (await api.client.get("/api/instruments")).json()
    by_id = {i["ticker_id"]: i for i in instruments}
    assert len(instruments) >= 50
    samsung = by_id["KRX-STOCK-005930"]
    assert samsung == {
        "ticker_id": "KRX-STOCK-005930", "name": "Samsung Electronics", "name_ko": "삼성전자",
        "market": "KRX", "currency": "KRW", "exchange": "KOSPI", "is_open": True,
        "next_open": "2026-11-26T00:00:00Z", "next_close": "2026-11-25T06:30:00Z",
    }  # fmt: skip
    assert by_id["US-STOCK-AAPL"]["is_open"] is False
    assert by_id["US-STOCK-AAPL"]["currency"] == "USD"
    assert by_id[BTC]["is_open"] is True
    assert by_id[BTC]["next_open"] is None


async def test_quotes_and_staleness(api: Api) -> None:
    assert (await api.client.get(f"/api/quotes/{BTC}")).status_code == 404
    assert (await api.client.get("/api/quotes/CRYPTO-COIN-NOPE")).status_code == 404
    assert (await api.client.get("/api/quotes/garbage")).status_code == 404
    api.platform.book.update(quote(api.clock, BTC, "150000000", bid="149990000", ask="150010000"))
    body = (await api.client.get(f"/api/quotes/{BTC}")).json()
    assert body["price"] == "150000000"
    assert body["bid"] == "149990000"
    assert body["stale"] is False
    assert body["ts"].endswith("Z")
    api.clock.advance(6)
    assert (await api.client.get(f"/api/quotes/{BTC}")).json()["stale"] is True
    assert [q["ticker_id"] for q in (await api.client.get("/api/quotes")).json()] == [BTC]


async def test_fx(api: Api) -> None:
    api.platform.book.update(usd_krw(api.clock, "1452.35"))
    assert (await api.client.get("/api/fx")).json() == [
        {"pair": "USD/KRW", "rate": "1452.35", "ts": "2026-11-25T01:00:11Z", "stale": False}
    ]


async def test_candles_oldest_first_with_the_forming_bar_last(api: Api) -> None:
    pool = api.platform.pool
    await pool.execute(
        "INSERT INTO candles_1m (ticker_id, bucket, open, high, low, close, volume) VALUES"
        " ($1, '2026-11-25T00:58:00Z', 10, 12, 9, 11, 5), ($1, '2026-11-25T00:59:00Z', 11, 13, 10, 12, 7)",
        BTC,
    )
    candles = (
        await api.client.get(f"/api/candles/{BTC}", params={"interval": "1m", "limit": 10})
    ).json()
    assert [c["time"] for c in candles] == ["2026-11-25T00:58:00Z", "2026-11-25T00:59:00Z"]
    assert candles[0]["open"] == "10"
    assert (
        await api.client.get(f"/api/candles/{BTC}", params={"interval": "7m"})
    ).status_code == 400
    assert (await api.client.get(f"/api/candles/{BTC}", params={"limit": 0})).status_code == 400
    assert (await api.client.get("/api/candles/NOPE")).status_code == 404


async def test_candle_numbers_have_one_plain_format_stored_or_forming(api: Api) -> None:
    pool = api.platform.pool
    await pool.execute(
        "INSERT INTO candles_1m (ticker_id, bucket, open, high, low, close, volume) VALUES"
        " ($1, '2026-11-25T00:58:00Z', 10.5, 12, 9, 11, 3), ($1, '2026-11-25T00:59:00Z', 11, 11, 11, 11, 0)",
        BTC,
    )
    api.clock.set(datetime(2026, 11, 25, 1, 0, 5, tzinfo=UTC))
    await api.platform.market_in.send(
        msgspec.structs.replace(quote(api.clock, BTC, "1000"), volume=Decimal("1191"))
    )
    candles_roller = api.platform.candles
    assert candles_roller is not None
    await eventually(lambda: candles_roller.forming(BTC) is not None, 10)
    candles = (await api.client.get(f"/api/candles/{BTC}")).json()
    assert [(c["open"], c["high"], c["volume"]) for c in candles] == [
        ("10.5", "12", "3"),
        ("11", "11", "0"),
        ("1000", "1000", "1191"),
    ]


async def test_decimals_never_come_with_an_exponent(api: Api) -> None:
    headers = await api.user()
    portfolio = (await api.client.get("/api/portfolio", headers=headers)).json()
    assert portfolio["day_pnl_krw"] == "0.00000000"  # Decimal("0E-8") before
    assert portfolio["total_pnl_krw"] == "0.00000000"


async def test_portfolio_values_positions_in_krw(api: Api) -> None:
    headers = await api.user()
    api.platform.book.update(quote(api.clock, BTC, "100000000"))
    order = (await api.client.post(
        "/api/orders", json={"ticker_id": BTC, "side": "BUY", "type": "MARKET", "quantity": "0.01"}, headers=headers
    )).json()  # fmt: skip
    await api.settled(headers, order["id"])
    api.platform.book.update(quote(api.clock, BTC, "110000000"))
    portfolio = (await api.client.get("/api/portfolio", headers=headers)).json()
    cash = Decimal(10_000_000) - Decimal(1_000_000) - Decimal(500)
    assert Decimal(portfolio["cash_krw"]) == cash
    [position] = portfolio["positions"]
    assert position["ticker_id"] == BTC
    assert Decimal(position["quantity"]) == Decimal("0.01")
    assert Decimal(position["average_price"]) == Decimal("100000000")
    assert Decimal(position["last_price"]) == Decimal("110000000")
    assert Decimal(position["fx_rate"]) == 1
    assert Decimal(position["market_value_krw"]) == Decimal("1100000")
    assert Decimal(position["unrealized_pnl_krw"]) == Decimal("100000")
    assert Decimal(portfolio["equity_krw"]) == cash + Decimal("1100000")
    api.clock.advance(60)
    assert await api.platform.equity.record_once(api.clock.now()) == 1
    api.platform.book.update(quote(api.clock, BTC, "120000000"))
    api.clock.advance(60)
    assert await api.platform.equity.record_once(api.clock.now()) == 1
    history = (await api.client.get("/api/portfolio/history", headers=headers)).json()
    assert [Decimal(p["equity_krw"]) for p in history] == [
        cash + Decimal("1100000"),
        cash + Decimal("1200000"),
    ]
    assert history[0]["time"] < history[1]["time"]


async def test_usd_position_uses_the_fx_rate(api: Api) -> None:
    from datetime import UTC, datetime

    api.clock.set(datetime(2026, 11, 25, 15, 0, 30, tzinfo=UTC))  # NYSE open
    headers = await api.user()
    api.platform.book.update(usd_krw(api.clock, "1400"))
    api.platform.book.update(quote(api.clock, "US-STOCK-AAPL", "200", currency="USD"))
    order = (await api.client.post(
        "/api/orders", json={"ticker_id": "US-STOCK-AAPL", "side": "BUY", "type": "MARKET", "quantity": "1"},
        headers=headers,
    )).json()  # fmt: skip
    filled = await api.settled(headers, order["id"])
    assert filled["status"] == "FILLED", filled
    api.platform.book.update(usd_krw(api.clock, "1500"))
    [position] = (await api.client.get("/api/portfolio", headers=headers)).json()["positions"]
    assert Decimal(position["fx_rate"]) == 1500
    assert Decimal(position["market_value_krw"]) == 300000
    assert Decimal(position["unrealized_pnl_krw"]) == 0  # pnl in the asset's price, at today's rate


async def test_rankings_highest_first(api: Api) -> None:
    winner = await api.user("winner_1")
    await api.user("loser_1")
    api.platform.book.update(quote(api.clock, BTC, "100000000"))
    order = (await api.client.post(
        "/api/orders", json={"ticker_id": BTC, "side": "BUY", "type": "MARKET", "quantity": "0.05"}, headers=winner
    )).json()  # fmt: skip
    await api.settled(winner, order["id"])
    api.platform.book.update(quote(api.clock, BTC, "200000000"))
    rankings = [r for r in (await api.client.get("/api/rankings")).json() if not r["benchmark"]]
    assert [r["nickname"] for r in rankings] == ["winner_1", "loser_1"]
    assert [r["rank"] for r in rankings] == [1, 2]
    # 10M - 5M - 2,500 fee + 0.05 x 200M = 14,997,500: +49.98 %
    assert rankings[0]["equity_krw"] == "14997500.00000000"
    assert rankings[0]["return_pct"] == "49.98"
    assert rankings[1]["return_pct"] == "0.00"


async def test_health_readiness_metrics(api: Api) -> None:
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] is True
    metrics = (await api.client.get("/metrics")).text
    assert "papertrade_settlement_queue_depth" in metrics
    assert "papertrade_websocket_clients" in metrics
    assert (await api.client.get("/schema/openapi.json")).json()["info"]["title"] == "papertrade"


async def test_unknown_api_path_is_a_json_404_and_pages_get_the_app(api: Api) -> None:
    missing = await api.client.get("/api/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["detail"]
    page = await api.client.get("/markets")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
