"""The daemon's door refuses orders that break an exchange rule (lots, ticks, KRX daily limits,
Upbit's minimum) with a 400 whose detail names the rule and what to send; nothing is recorded."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from tests.api.conftest import Api
from tests.conftest import quote

pytestmark = pytest.mark.anyio

BTC = "CRYPTO-COIN-BTC"
SAMSUNG = "KRX-STOCK-005930"


def samsung_quote(api: Api, price: str = "100000", prev_close: str = "100000"):  # type: ignore[no-untyped-def]
    return msgspec.structs.replace(
        quote(api.clock, SAMSUNG, price, currency="KRW"), prev_close=Decimal(prev_close)
    )


def limit(ticker_id: str, quantity: str, price: str, side: str = "BUY") -> dict:
    return {
        "ticker_id": ticker_id, "side": side, "type": "LIMIT", "quantity": quantity,
        "limit_price": price,
    }  # fmt: skip


async def refused(api: Api, headers: dict[str, str], body: dict) -> str:
    response = await api.client.post("/api/orders", json=body, headers=headers)
    assert response.status_code == 400, response.text
    listed = await api.client.get("/api/orders", headers=headers)
    assert listed.json() == []  # nothing recorded
    return response.json()["detail"]


async def test_krx_quantities_are_whole_shares(api: Api) -> None:
    headers = await api.user()
    detail = await refused(api, headers, limit(SAMSUNG, "2.5", "100000"))
    assert "whole shares" in detail
    assert "send 2 or 3" in detail


async def test_an_off_tick_price_names_the_two_nearest_valid_prices(api: Api) -> None:
    headers = await api.user()
    detail = await refused(api, headers, limit(SAMSUNG, "1", "100050"))
    assert "100050" in detail
    assert "tick of 100" in detail
    assert "100000 or 100100" in detail


async def test_krx_limit_outside_thirty_percent_of_the_previous_close(api: Api) -> None:
    api.platform.book.update(samsung_quote(api))
    headers = await api.user()
    detail = await refused(api, headers, limit(SAMSUNG, "1", "131000"))
    assert "price limits" in detail
    assert "from 70000 to 130000" in detail
    inside = await api.client.post(
        "/api/orders", json=limit(SAMSUNG, "1", "130000"), headers=headers
    )
    assert inside.status_code == 202, inside.text


async def test_a_previous_close_from_an_earlier_session_is_not_todays_base(api: Api) -> None:
    api.platform.book.update(samsung_quote(api))
    api.clock.advance(24 * 3600)  # the next KRX session: yesterday's quote says nothing of today
    headers = await api.user()
    response = await api.client.post(
        "/api/orders", json=limit(SAMSUNG, "1", "131000"), headers=headers
    )
    assert response.status_code == 202, response.text


async def test_upbit_minimum_for_a_limit_and_for_a_market_order_with_a_price(api: Api) -> None:
    headers = await api.user()
    detail = await refused(api, headers, limit(BTC, "0.00001", "100000000"))
    assert "5000 KRW" in detail
    assert "at least 0.00005" in detail
    api.platform.book.update(quote(api.clock, BTC, "150000000", ask="150010000"))
    market = {"ticker_id": BTC, "side": "BUY", "type": "MARKET", "quantity": "0.00001"}
    detail = await refused(api, headers, market)
    assert "minimum" in detail
    assert "150010000" in detail
