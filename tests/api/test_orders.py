"""POST/GET/DELETE /api/orders: the contract, idempotency, isolation between users, bad input."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.api.conftest import Api
from tests.conftest import quote

pytestmark = pytest.mark.anyio
BTC = "CRYPTO-COIN-BTC"
ORDER_FIELDS = {
    "id", "client_order_id", "ticker_id", "side", "type", "status", "quantity", "limit_price",
    "price", "currency", "applied_exchange_rate", "total_krw", "fee_krw", "reason",
    "reason_text", "created_at", "filled_at", "time_in_force", "amount_krw", "stop_price",
    "trail_percent", "trail_amount", "trail_mark", "filled_quantity", "average_price",
    "reserved_krw", "triggered_at", "expires_at", "fees",
}  # fmt: skip


def buy(quantity: str = "0.001", **extra: object) -> dict:
    return {"ticker_id": BTC, "side": "BUY", "type": "MARKET", "quantity": quantity, **extra}


async def test_place_then_fill(api: Api) -> None:
    api.platform.book.update(quote(api.clock, BTC, "150000000", bid="149990000", ask="150010000"))
    headers = await api.user()
    response = await api.client.post("/api/orders", json=buy(), headers=headers)
    assert response.status_code == 202
    order = response.json()
    assert set(order) == ORDER_FIELDS
    assert order["status"] == "PENDING"
    assert order["quantity"] == "0.00100000"
    assert order["created_at"].endswith("Z")
    filled = await api.settled(headers, order["id"])
    assert filled["status"] == "FILLED"
    assert filled["price"] == "150010000.00000000"
    assert filled["total_krw"] == "150010.00000000"
    assert filled["fee_krw"] == "75.00500000"
    assert filled["applied_exchange_rate"] == "1.00000000"
    assert filled["filled_at"].endswith("Z")
    assert filled["reason"] is None
    assert filled["reason_text"] is None

    portfolio = (await api.client.get("/api/portfolio", headers=headers)).json()
    assert portfolio["cash_krw"] == "9849914.99500000"
    listing = (await api.client.get("/api/orders", headers=headers)).json()
    assert [o["id"] for o in listing] == [order["id"]]


async def test_failure_has_a_code_and_a_sentence(api: Api) -> None:
    api.platform.book.update(quote(api.clock, BTC, "150000000"))
    headers = await api.user()
    order = (await api.client.post("/api/orders", json=buy("1"), headers=headers)).json()
    failed = await api.settled(headers, order["id"])
    assert failed["status"] == "FAILED"
    assert failed["reason"] == "insufficient_cash"
    assert "Not enough cash" in failed["reason_text"]


async def test_same_client_order_id_is_the_same_order(api: Api) -> None:
    api.platform.book.update(quote(api.clock, BTC, "150000000"))
    headers = await api.user()
    first = await api.client.post(
        "/api/orders", json=buy(client_order_id="retry-1"), headers=headers
    )
    again = await api.client.post(
        "/api/orders", json=buy(client_order_id="retry-1"), headers=headers
    )
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    assert len((await api.client.get("/api/orders", headers=headers)).json()) == 1


async def test_orders_are_private(api: Api) -> None:
    api.platform.book.update(quote(api.clock, BTC, "150000000"))
    alice = await api.user()
    mallory = await api.user()
    order = (await api.client.post("/api/orders", json=buy(limit_price=None), headers=alice)).json()
    assert (await api.client.get(f"/api/orders/{order['id']}", headers=mallory)).status_code == 404
    assert (
        await api.client.delete(f"/api/orders/{order['id']}", headers=mallory)
    ).status_code == 404
    assert (await api.client.get("/api/orders", headers=mallory)).json() == []
    assert (await api.client.get(f"/api/orders/{uuid.uuid4()}", headers=alice)).status_code == 404
    assert (await api.client.get("/api/orders/not-a-uuid", headers=alice)).status_code == 404


async def test_cancel_pending_limit_then_409_after(api: Api) -> None:
    api.platform.book.update(quote(api.clock, BTC, "150000000"))
    headers = await api.user()
    body = {
        "ticker_id": BTC,
        "side": "BUY",
        "type": "LIMIT",
        "quantity": "0.001",
        "limit_price": "10000000",
    }
    order = (await api.client.post("/api/orders", json=body, headers=headers)).json()
    assert order["limit_price"] == "10000000.00000000"
    cancelled = await api.client.delete(f"/api/orders/{order['id']}", headers=headers)
    assert cancelled.status_code == 200
    assert (cancelled.json()["status"], cancelled.json()["reason"]) == (
        "CANCELLED",
        "user_cancelled",
    )
    filled = (await api.client.post("/api/orders", json=buy(), headers=headers)).json()
    await api.settled(headers, filled["id"])
    late = await api.client.delete(f"/api/orders/{filled['id']}", headers=headers)
    assert late.status_code == 409
    assert "FILLED" in late.json()["detail"]


async def test_filters_and_newest_first(api: Api) -> None:
    api.platform.book.update(quote(api.clock, BTC, "150000000"))
    headers = await api.user()
    ids = []
    for _n in range(3):
        api.clock.advance(1)
        ids.append(
            (await api.client.post("/api/orders", json=buy("0.001"), headers=headers)).json()["id"]
        )
    for order_id in ids:
        await api.settled(headers, order_id)
    listing = (await api.client.get("/api/orders", params={"limit": 2}, headers=headers)).json()
    assert [o["id"] for o in listing] == ids[::-1][:2]
    filled = (
        await api.client.get("/api/orders", params={"status": "FILLED"}, headers=headers)
    ).json()
    assert len(filled) == 3
    assert (
        await api.client.get("/api/orders", params={"status": "FAILED"}, headers=headers)
    ).json() == []
    assert (
        await api.client.get("/api/orders", params={"status": "nope"}, headers=headers)
    ).status_code == 400
    assert (
        await api.client.get("/api/orders", params={"limit": 0}, headers=headers)
    ).status_code == 400


BAD_ORDERS = [
    (buy(ticker_id="btc"), "ticker_id"),
    (buy(ticker_id="CRYPTO-COIN-NOPE"), "not traded"),
    (buy(ticker_id="NASDAQ-STOCK-AAPL"), "market"),
    (buy(side="HOLD"), "side"),
    (buy(type="ICEBERG"), "type"),
    (buy(type="STOP"), "stop_price"),
    (buy("0"), "greater than 0"),
    (buy("-1"), "must match"),
    (buy("0.000000001"), "8 decimal"),
    (buy("1000000000000"), "too large"),
    (buy("NaN"), "must match"),
    (buy("Infinity"), "must match"),
    (buy("1e400"), "must match"),
    (buy("abc"), "must match"),
    (buy(0.5), "JSON string"),
    (buy(True), "quantity"),
    (buy(["1"]), "quantity"),
    (buy("9" * 60_000), "too large"),
    (buy(limit_price="100"), "only for LIMIT"),
    ({**buy(), "type": "LIMIT"}, "limit_price"),
    ({**buy(), "type": "LIMIT", "limit_price": "0"}, "greater than 0"),
    (buy(client_order_id=""), "client_order_id"),
    (buy(client_order_id="x" * 65), "client_order_id"),
    (buy(client_order_id="has space"), "client_order_id"),
    (buy(unexpected="field"), "unexpected"),
    ({"side": "BUY", "quantity": "1"}, "ticker_id"),
    ([], "object"),
]


@pytest.mark.parametrize(("body", "words"), BAD_ORDERS)
async def test_bad_orders_are_400_with_a_reason_and_write_nothing(
    api: Api, body: object, words: str
) -> None:
    headers = await api.user()
    response = await api.client.post(
        "/api/orders",
        content=json.dumps(body),
        headers={**headers, "content-type": "application/json"},
    )
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    assert words.lower() in detail.lower(), detail
    assert await api.platform.pool.fetchval("SELECT count(*) FROM orders") == 0


@pytest.mark.parametrize(
    "raw", [b"{", b"not json", b"\xff\xfe", b'{"ticker_id": "CRYPTO-COIN-BTC",}', b""]
)
async def test_malformed_json_is_400(api: Api, raw: bytes) -> None:
    headers = await api.user()
    response = await api.client.post(
        "/api/orders", content=raw, headers={**headers, "content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["detail"]
    assert await api.platform.pool.fetchval("SELECT count(*) FROM orders") == 0


async def test_huge_body_is_refused(api: Api) -> None:
    headers = await api.user()
    body = json.dumps(buy(client_order_id="a" * 200_000))
    response = await api.client.post(
        "/api/orders", content=body, headers={**headers, "content-type": "application/json"}
    )
    assert response.status_code == 413
    assert await api.platform.pool.fetchval("SELECT count(*) FROM orders") == 0


async def test_orders_need_a_token(api: Api) -> None:
    assert (await api.client.post("/api/orders", json=buy())).status_code == 401
    assert (await api.client.get("/api/orders")).status_code == 401
