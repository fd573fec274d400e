"""WS /ws over a real connection: quotes for subscriptions, own order events only, slow consumers."""

from __future__ import annotations

import json
import socket
from decimal import Decimal

import anyio
import anyio.lowlevel
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.api.conftest import Api
from tests.conftest import quote

pytestmark = pytest.mark.anyio
BTC = "CRYPTO-COIN-BTC"
ETH = "CRYPTO-COIN-ETH"


def ws_url(api: Api) -> str:
    return api.base_url.replace("http://", "ws://") + "/ws"


async def next_of(ws, kind: str, timeout: float = 5) -> dict:  # type: ignore[no-untyped-def]
    with anyio.fail_after(timeout):
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == kind:
                return message


async def publish(api: Api, ticker: str, price: str) -> None:
    await api.platform.market_in.send(quote(api.clock, ticker, price))


async def test_subscribed_quotes_arrive_and_others_do_not(api: Api) -> None:
    async with websockets.connect(ws_url(api)) as ws:
        await ws.send(json.dumps({"op": "subscribe", "tickers": [BTC]}))
        assert (await next_of(ws, "subscribed"))["tickers"] == [BTC]
        await publish(api, ETH, "5000000")
        await publish(api, BTC, "150000000")
        message = await next_of(ws, "quote")
        assert message["ticker_id"] == BTC
        assert message["price"] == "150000000"
        assert message["stale"] is False
        await ws.send(json.dumps({"op": "ping"}))
        assert (await next_of(ws, "pong")) == {"type": "pong"}


async def test_a_new_subscriber_gets_the_current_price_at_once(api: Api) -> None:
    await publish(api, BTC, "123")
    async with websockets.connect(ws_url(api)) as ws:
        await ws.send(json.dumps({"op": "subscribe", "tickers": ["*"]}))
        assert (await next_of(ws, "quote"))["price"] == "123"


async def test_order_events_go_to_their_owner_only(api: Api) -> None:
    api.platform.book.update(quote(api.clock, BTC, "150000000"))
    alice = await api.user()
    bob = await api.user()
    async with (
        websockets.connect(ws_url(api)) as ws_alice,
        websockets.connect(ws_url(api)) as ws_bob,
    ):
        await ws_alice.send(json.dumps({"op": "auth", "token": alice["Authorization"].split()[1]}))
        await ws_bob.send(json.dumps({"op": "auth", "token": bob["Authorization"].split()[1]}))
        assert (await next_of(ws_alice, "auth"))["ok"] is True
        assert (await next_of(ws_bob, "auth"))["ok"] is True
        body = {"ticker_id": BTC, "side": "BUY", "type": "MARKET", "quantity": "0.001"}
        order = (await api.client.post("/api/orders", json=body, headers=alice)).json()
        pending = await next_of(ws_alice, "order")
        filled = await next_of(ws_alice, "order")
        assert [pending["order"]["status"], filled["order"]["status"]] == ["PENDING", "FILLED"]
        assert filled["order"]["id"] == order["id"]
        assert Decimal(filled["order"]["total_krw"]) == Decimal("150000")
        await ws_bob.send(json.dumps({"op": "ping"}))
        # Bob's next message is the pong: no order event of Alice's came before it.
        assert json.loads(await ws_bob.recv())["type"] == "pong"


async def test_bad_token_closes_with_policy_violation(api: Api) -> None:
    async with websockets.connect(ws_url(api)) as ws:
        await ws.send(json.dumps({"op": "auth", "token": "forged"}))
        error = await next_of(ws, "error")
        assert "token" in error["detail"]
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd.code == 1008


async def test_bad_messages_get_an_error_and_the_connection_stays(api: Api) -> None:
    async with websockets.connect(ws_url(api)) as ws:
        for bad in ["not json", json.dumps({"op": "dance"}), json.dumps({"op": "subscribe"})]:
            await ws.send(bad)
            assert (await next_of(ws, "error"))["detail"]
        await ws.send(json.dumps({"op": "subscribe", "tickers": ["CRYPTO-COIN-NOPE"]}))
        assert "unknown ticker" in (await next_of(ws, "error"))["detail"]
        await ws.send(json.dumps({"op": "ping"}))
        assert (await next_of(ws, "pong"))["type"] == "pong"


async def test_a_slow_client_loses_old_quotes_but_stalls_nobody(api: Api) -> None:
    headers = await api.user()
    token = headers["Authorization"].split()[1]
    # The slow client subscribes and then never reads; its socket buffers fill up.
    tiny = socket.socket()
    tiny.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills after a few quotes
    tiny.connect(("127.0.0.1", api.platform.http.port))
    # No compression: repetitive quotes would otherwise shrink enough to fit in the buffers.
    slow = await websockets.connect(ws_url(api), sock=tiny, max_queue=1, compression=None)
    await slow.send(json.dumps({"op": "subscribe", "tickers": ["*"]}))
    await slow.send(json.dumps({"op": "auth", "token": token}))
    try:
        async with websockets.connect(ws_url(api)) as fast:
            await fast.send(json.dumps({"op": "subscribe", "tickers": [BTC]}))
            await next_of(fast, "subscribed")
            # More than the kernel's socket buffers hold (up to 4 MiB on loopback), so the
            # slow client's sender blocks and its backlog overflows.
            count = 30000
            hub = api.platform.ws_hub
            with anyio.fail_after(60):
                for n in range(count):
                    hub.on_market(quote(api.clock, BTC, str(1000 + n)))
                    if n % 200 == 0:
                        await (
                            anyio.lowlevel.checkpoint()
                        )  # let the senders run, as between real ticks
                last = None
                while last != str(1000 + count - 1):
                    message = json.loads(await fast.recv())
                    if message["type"] == "quote":
                        last = message["price"]
        assert api.platform.ws_hub.dropped() > 0  # the slow client's backlog overflowed
        # Its own order events are never dropped, however slow it is: once it reads again,
        # the fill is there behind whatever quotes survived.
        api.platform.book.update(quote(api.clock, BTC, "150000000"))
        body = {"ticker_id": BTC, "side": "BUY", "type": "MARKET", "quantity": "0.001"}
        order = (await api.client.post("/api/orders", json=body, headers=headers)).json()
        await api.settled(headers, order["id"])
        seen = set()
        with anyio.fail_after(20):
            while "FILLED" not in seen:
                message = json.loads(await slow.recv())
                if message["type"] == "order" and message["order"]["id"] == order["id"]:
                    seen.add(message["order"]["status"])
        assert seen == {"PENDING", "FILLED"}
    finally:
        await slow.close()


async def test_every_client_gets_the_fx_rate(api: Api) -> None:
    from tests.conftest import usd_krw

    async with websockets.connect(ws_url(api)) as bare, websockets.connect(ws_url(api)) as btc:
        await btc.send(json.dumps({"op": "subscribe", "tickers": [BTC]}))
        await next_of(btc, "subscribed")
        await bare.send(json.dumps({"op": "ping"}))
        await next_of(bare, "pong")  # connected: the hub knows it
        await api.platform.market_in.send(usd_krw(api.clock, "1466.5"))
        for ws in (bare, btc):
            message = await next_of(ws, "fx")
            assert message["rate"] == "1466.5"
