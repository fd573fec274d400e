"""SPEC 6A over HTTP: v2 requests, fills and events in GET, PATCH and DELETE with their 4xx,
status=open, the portfolio's reservations, GET /api/costs and the new reasons."""

from __future__ import annotations

import uuid

import anyio
import pytest

from tests.api.conftest import Api
from tests.conftest import quote

pytestmark = pytest.mark.anyio
BTC = "CRYPTO-COIN-BTC"
V2_FIELDS = {
    "time_in_force", "amount_krw", "stop_price", "trail_percent", "trail_amount", "trail_mark",
    "filled_quantity", "average_price", "reserved_krw", "triggered_at", "expires_at", "fees",
}  # fmt: skip


def limit_buy(price: str = "100000000", quantity: str = "0.01") -> dict:
    return {
        "ticker_id": BTC,
        "side": "BUY",
        "type": "LIMIT",
        "quantity": quantity,
        "limit_price": price,
    }


async def resting(api: Api, headers: dict[str, str], order_id: str) -> dict:
    """The order once settlement has accepted it (its reservation is set)."""
    for _ in range(500):
        order = (await api.client.get(f"/api/orders/{order_id}", headers=headers)).json()
        if [e["kind"] for e in order["events"]][:2] == ["accepted", "rested"]:
            return order
        await anyio.sleep(0.02)
    raise AssertionError(f"order {order_id} never rested")


async def test_patch_delete_and_the_reservation_in_the_portfolio(api: Api) -> None:
    api.platform.book.update(quote(api.clock, BTC, "150000000", bid="149990000", ask="150010000"))
    headers = await api.user()
    placed = await api.client.post("/api/orders", json=limit_buy(), headers=headers)
    assert placed.status_code == 202
    assert set(placed.json()) >= V2_FIELDS
    order_id = placed.json()["id"]
    order = await resting(api, headers, order_id)
    assert order["time_in_force"] == "GTC"
    assert order["reserved_krw"] == "1000500.00000000"  # 1,000,000 + 0.05 % fee
    assert order["fills"] == []
    portfolio = (await api.client.get("/api/portfolio", headers=headers)).json()
    assert portfolio["reserved_cash_krw"] == "1000500.00000000"
    assert portfolio["available_cash_krw"] == "8999500.00000000"
    open_ones = (await api.client.get("/api/orders?status=open", headers=headers)).json()
    assert [o["id"] for o in open_ones] == [order_id]

    path = f"/api/orders/{order_id}"
    changed = await api.client.patch(path, json={"limit_price": "110000000"}, headers=headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["limit_price"] == "110000000.00000000"
    assert changed.json()["reserved_krw"] == "1100550.00000000"
    detail = (await api.client.get(path, headers=headers)).json()
    modified = [e for e in detail["events"] if e["kind"] == "modified"]
    assert modified[0]["detail"] == {
        "limit_price": {"from": "100000000.00000000", "to": "110000000.00000000"}
    }

    for body, status, words in [
        ({"limit_price": "110000500"}, 400, "tick"),  # Upbit's 1,000 KRW tick at this price
        ({"stop_price": "1"}, 400, "not a field of a LIMIT order"),
        ({}, 400, "at least one of"),
        ({"quantity": "1"}, 409, "insufficient_cash"),
        ({"colour": "red"}, 400, "colour"),
    ]:
        answer = await api.client.patch(path, json=body, headers=headers)
        assert answer.status_code == status, (body, answer.text)
        assert words in answer.json()["detail"], answer.text
    stranger = await api.user()
    assert (await api.client.patch(path, json={"quantity": "0.02"}, headers=stranger)).status_code == 404  # fmt: skip
    assert (await api.client.delete(path, headers=stranger)).status_code == 404

    cancelled = await api.client.delete(path, headers=headers)
    assert cancelled.status_code == 200
    assert (cancelled.json()["status"], cancelled.json()["reason"]) == (
        "CANCELLED",
        "user_cancelled",
    )
    assert cancelled.json()["reserved_krw"] in ("0", "0E-8")
    assert (await api.client.delete(path, headers=headers)).status_code == 409
    late = await api.client.patch(path, json={"quantity": "0.02"}, headers=headers)
    assert late.status_code == 409
    assert "CANCELLED" in late.json()["detail"]
    portfolio = (await api.client.get("/api/portfolio", headers=headers)).json()
    assert portfolio["available_cash_krw"] == portfolio["cash_krw"]
    missing = await api.client.patch(
        f"/api/orders/{uuid.uuid4()}", json={"quantity": "1"}, headers=headers
    )
    assert missing.status_code == 404


async def test_a_fill_has_its_receipt_and_history(api: Api) -> None:
    api.platform.book.update(quote(api.clock, BTC, "150000000", bid="149990000", ask="150010000"))
    headers = await api.user()
    body = {"ticker_id": BTC, "side": "BUY", "type": "MARKET", "amount_krw": "100000"}
    placed = await api.client.post("/api/orders", json=body, headers=headers)
    assert placed.status_code == 202, placed.text
    assert placed.json()["quantity"] is None
    filled = await api.settled(headers, placed.json()["id"])
    assert filled["status"] == "FILLED"
    assert filled["quantity"] == filled["filled_quantity"]
    assert filled["price"] == filled["average_price"] == "150010000.00000000"
    assert filled["fees"] == [{"kind": "commission", "amount_krw": filled["fee_krw"]}]
    [fill] = filled["fills"]
    assert fill["rule"] == "marketable_at_ask"
    assert fill["quote"]["ask"] == "150010000.00000000"
    assert fill["quote"]["source"] == "test"
    assert fill["levels"] == []
    assert [e["kind"] for e in filled["events"]] == ["accepted", "filled"]
    assert [e["seq"] for e in filled["events"]] == [1, 2]


async def test_costs_and_reasons(api: Api) -> None:
    costs = (await api.client.get("/api/costs")).json()
    assert costs["preset"] == "kr-broker-2026"
    assert costs["slippage_reserve"] == "0.05"
    assert costs["fx_reserve"] == "0.02"
    taf = [r for r in costs["rules"] if r["kind"] == "finra_taf"]
    assert {"per_share", "max_per_trade", "currency"} <= set(taf[-1])
    assert taf[-1]["currency"] == "USD"
    tax = [r for r in costs["rules"] if r["kind"] == "krx_sell_tax"]
    assert tax[-1]["rate"] == "0.0020"
    assert tax[-1]["effective_from"] == "2026-01-01"
    codes = {r["code"] for r in (await api.client.get("/api/reasons")).json()}
    assert {
        "expired",
        "fok_unfilled",
        "ioc_unfilled",
        "amount_too_small",
        "season_started",
    } <= codes


async def test_v2_shape_refusals_are_400_with_a_detail(api: Api) -> None:
    headers = await api.user()
    for body, words in [
        ({**limit_buy(), "type": "STOP"}, "limit_price is only for LIMIT and STOP_LIMIT"),
        ({"ticker_id": BTC, "side": "SELL", "type": "MARKET", "amount_krw": "10000"}, "MARKET BUY"),
        ({**limit_buy(), "time_in_force": "DAY"}, "not offered on CRYPTO"),
        ({"ticker_id": BTC, "side": "SELL", "type": "TRAILING_STOP", "quantity": "0.01"}, "trail"),
        (
            {"ticker_id": BTC, "side": "BUY", "type": "MARKET"},
            "exactly one of quantity or amount_krw",
        ),
    ]:
        answer = await api.client.post("/api/orders", json=body, headers=headers)
        assert answer.status_code == 400, (body, answer.text)
        assert words in answer.json()["detail"], answer.text
