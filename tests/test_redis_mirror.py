"""The Redis mirror against the real Redis on 127.0.0.1:6379: keys, TTL, channel, outages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import anyio
import pytest
import redis.asyncio as aioredis

from daemon.actors.redis_mirror import RedisMirror
from daemon.messages import FxRate, MarketData, Quote
from tests.fakes.tcp_proxy import TcpProxy
from tests.fakes.waiting import eventually

REDIS_URL = "redis://127.0.0.1:6379/0"
NOW = datetime(2025, 3, 3, 12, 0, 1, 250_000, tzinfo=UTC)

pytestmark = pytest.mark.anyio


def quote(ticker: str, price: str) -> Quote:
    return Quote(
        ticker_id=ticker,
        price=Decimal(price),
        bid=Decimal(price) - 1,
        ask=Decimal(price) + 1,
        currency="KRW",
        ts=NOW,
        received_at=NOW,
        source="test",
        volume=Decimal("0.5"),
    )


async def test_quotes_are_set_with_ttl_and_published(redis_prefix: str) -> None:
    r = aioredis.Redis.from_url(REDIS_URL)
    pubsub = r.pubsub()
    await pubsub.subscribe(f"{redis_prefix}market_updates")
    await pubsub.get_message(timeout=1)  # the subscribe confirmation
    send, receive = anyio.create_memory_object_stream[MarketData](100)
    mirror = RedisMirror(REDIS_URL, receive, prefix=redis_prefix)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(mirror.run)
            await send.send(quote("CRYPTO-COIN-BTC", "150000000.12345678"))
            await send.send(quote("CRYPTO-COIN-BTC", "150000001"))
            await send.send(quote("KRX-STOCK-005930", "71000"))
            await send.send(
                FxRate(pair="USD/KRW", rate=Decimal("1380.55"), ts=NOW, received_at=NOW, source="t")
            )
            published = []
            with anyio.fail_after(5):
                while len(published) < 4:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
                    if message is not None:
                        published.append(json.loads(message["data"]))
            await send.aclose()
        key = f"{redis_prefix}price:CRYPTO-COIN-BTC"
        stored = json.loads(await r.get(key))
        ttl = await r.ttl(key)
        fx = json.loads(await r.get(f"{redis_prefix}fx:USD/KRW"))
    finally:
        await pubsub.aclose()
        await r.aclose()
    assert 0 < ttl <= 5
    assert stored == {
        "type": "quote",
        "ticker_id": "CRYPTO-COIN-BTC",
        "price": "150000001",
        "bid": "150000000",
        "ask": "150000002",
        "currency": "KRW",
        "ts": "2025-03-03T12:00:01.250000Z",
        "received_at": "2025-03-03T12:00:01.250000Z",
        "source": "test",
        "volume": "0.5",
        "prev_close": None,
    }
    assert [m.get("price") for m in published] == ["150000000.12345678", "150000001", "71000", None]
    assert fx["type"] == "fx"
    assert fx["rate"] == "1380.55"
    assert mirror.written == 4
    assert mirror.dropped == 0


async def test_dead_redis_drops_without_blocking_then_reconnects(redis_prefix: str) -> None:
    proxy = TcpProxy("127.0.0.1", 6379)
    await proxy.start()
    url = f"redis://127.0.0.1:{proxy.port}/0"
    r = aioredis.Redis.from_url(REDIS_URL)
    send, receive = anyio.create_memory_object_stream[MarketData](10)
    mirror = RedisMirror(url, receive, prefix=redis_prefix, timeout=0.2, backoff_initial=0.05)
    key = f"{redis_prefix}price:KRX-STOCK-005930"
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(mirror.run)
            await send.send(quote("KRX-STOCK-005930", "1"))
            await eventually(lambda: mirror.written == 1)

            await proxy.cut()  # Redis gone: sends never block, the mirror counts its drops
            with anyio.fail_after(3):
                for i in range(200):
                    await send.send(quote("KRX-STOCK-005930", str(2 + i)))
                    await anyio.sleep(0.001)
            assert mirror.dropped > 0
            assert not mirror.connected

            await proxy.start()  # back on the same port: the mirror reconnects by itself
            written = mirror.written
            with anyio.fail_after(5):
                while mirror.written == written:
                    await send.send(quote("KRX-STOCK-005930", "999"))
                    await anyio.sleep(0.05)
            assert json.loads(await r.get(key))["price"] == "999"
            assert mirror.connected
            await send.aclose()
    finally:
        await r.aclose()
        await proxy.close()


async def test_stalled_redis_times_out(redis_prefix: str) -> None:
    proxy = TcpProxy("127.0.0.1", 6379)
    proxy.stalled = True
    await proxy.start()
    send, receive = anyio.create_memory_object_stream[MarketData](10)
    mirror = RedisMirror(
        f"redis://127.0.0.1:{proxy.port}/0", receive, prefix=redis_prefix, timeout=0.1
    )
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(mirror.run)
            await send.send(quote("KRX-STOCK-005930", "1"))
            await eventually(lambda: mirror.dropped == 1, seconds=3)
            await send.aclose()
    finally:
        await proxy.close()
    assert mirror.written == 0


@pytest.fixture(autouse=True)
async def _cleanup(redis_prefix: str):
    yield
    r = aioredis.Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in r.scan_iter(match=f"{redis_prefix}*")]
        if keys:
            await r.delete(*keys)
    finally:
        await r.aclose()
