"""Upbit chart backfill: the real ccxt client pages a fake's candle endpoints into PostgreSQL,
paced, resuming from what is stored."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import anyio
import asyncpg
import pytest

from daemon.actors.upbit_feeder import UpbitFeeder
from daemon.candles import minute_of
from daemon.clock import TestClock
from daemon.messages import MarketData
from tests.fakes.fake_upbit import FakeUpbit
from tests.fakes.waiting import eventually
from tests.test_upbit_feeder import instrument

pytestmark = pytest.mark.anyio


async def backfill(fake: FakeUpbit, pool: asyncpg.Pool, clock: TestClock) -> UpbitFeeder:
    send, receive = anyio.create_memory_object_stream[MarketData](10_000)
    feeder = UpbitFeeder(
        [instrument("CRYPTO-COIN-BTC")], send, clock, api_url=fake.api_url, ws_url=fake.ws_url,
        poll_interval=0.05, pool=pool, backfill_gap=0.05,
    )  # fmt: skip
    async with anyio.create_task_group() as tg:
        tg.start_soon(feeder.run)

        async def drain() -> None:
            async for _ in receive:
                pass

        tg.start_soon(drain)
        await eventually(lambda: feeder.backfill_finished, seconds=20)
        tg.cancel_scope.cancel()
    return feeder


async def test_pages_minutes_and_days_then_resumes(pool: asyncpg.Pool) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    clock = TestClock(now)
    live = minute_of(now)
    fake = FakeUpbit({"KRW-BTC": "100000"})
    fake.set_candles("KRW-BTC", "minutes", live, 450)  # the forming minute and 449 before it
    fake.set_candles("KRW-BTC", "days", datetime.combine(now.date(), datetime.min.time(), UTC), 300)
    await fake.start()
    try:
        started = time.monotonic()
        feeder = await backfill(fake, pool, clock)
        elapsed = time.monotonic() - started
        minute_requests = [r for r in fake.http.requests if r.path == "/v1/candles/minutes/1"]
        assert [r.query.get("count") for r in minute_requests] == ["200", "200", "200"]
        assert "to" not in minute_requests[0].query
        assert minute_requests[1].query["to"] == (live - timedelta(minutes=199)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        assert fake.count("/v1/candles/days") == 1
        assert feeder.backfill_requests == 4
        assert elapsed >= 4 * 0.05  # paced
        minutes = await pool.fetch("SELECT * FROM candles_1m ORDER BY bucket")
        assert len(minutes) == 449  # not the forming minute: the live roller owns it
        assert minutes[-1]["bucket"] == live - timedelta(minutes=1)
        assert minutes[-1]["open"] == Decimal(100_001)
        assert minutes[-1]["volume"] == Decimal("0.12345678")
        days = await pool.fetch("SELECT day FROM candles_1d ORDER BY day")
        assert len(days) == 199  # 200 asked for; today's is still forming
        assert days[-1]["day"] == now.date() - timedelta(days=1)

        # A restart five minutes later fetches only what it missed.
        clock.advance(300)
        fake.set_candles("KRW-BTC", "minutes", live + timedelta(minutes=5), 455)
        fake.http.requests.clear()
        await backfill(fake, pool, clock)
        minute_requests = [r for r in fake.http.requests if r.path == "/v1/candles/minutes/1"]
        assert len(minute_requests) == 1
        day_requests = [r for r in fake.http.requests if r.path == "/v1/candles/days"]
        assert [r.query["count"] for r in day_requests] == ["2"]
        newest = await pool.fetchval("SELECT max(bucket) FROM candles_1m")
        assert newest == live + timedelta(minutes=4)
    finally:
        await fake.close()
