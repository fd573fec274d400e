"""USD/KRW: from the fake KIS (t_rate), falling back to a fake public daily-rate source."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import anyio
import pytest

from daemon.actors.fx_feeder import FxFeeder, parse_fallback
from daemon.clock import LiveClock
from daemon.messages import FxRate, MarketData
from tests.fakes.fake_fx import FakeFx, er_api_body, frankfurter_body
from tests.fakes.fake_kis import FakeKis
from tests.test_kis_feeder import client_for

pytestmark = pytest.mark.anyio


@pytest.fixture
async def kis() -> AsyncIterator[FakeKis]:
    fake = FakeKis()
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def fx() -> AsyncIterator[FakeFx]:
    fake = FakeFx(er_api_body("1456.61234567"))
    await fake.start()
    yield fake
    await fake.close()


async def rates(feeder: FxFeeder, count: int) -> list[FxRate]:
    send, receive = anyio.create_memory_object_stream[MarketData](100)
    feeder._out = send
    got: list[FxRate] = []
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(feeder.run)
            async for item in receive:
                assert isinstance(item, FxRate)
                got.append(item)
                if len(got) == count:
                    break
            tg.cancel_scope.cancel()
    return got


def assert_exact(rate: FxRate) -> None:
    assert type(rate.rate) is Decimal
    assert rate.pair == "USD/KRW"
    assert rate.ts.tzinfo is not None
    assert rate.received_at.tzinfo is UTC


async def test_rate_comes_from_kis_when_configured(
    kis: FakeKis, fx: FakeFx, tmp_path: Path
) -> None:
    kis.t_rate = "1380.55"
    client = client_for(kis, tmp_path)
    send, _ = anyio.create_memory_object_stream[MarketData](1)
    feeder = FxFeeder(
        send, LiveClock(), kis=client, kis_probe=("NAS", "AAPL"), fallback_url=fx.url,
        interval=0.05,
    )  # fmt: skip
    try:
        got = await rates(feeder, 2)
    finally:
        await client.aclose()
    assert [(r.rate, r.source) for r in got] == [(Decimal("1380.55"), "kis")] * 2
    assert_exact(got[0])
    detail = [r for r in kis.http.requests if r.path.endswith("/price-detail")]
    assert detail[0].headers["tr_id"] == "HHDFS76200200"
    assert detail[0].query["SYMB"] == "AAPL"
    assert fx.hits == 0
    assert feeder.connected
    assert feeder.source == "kis"


async def test_falls_back_when_kis_fails_and_returns_to_it(
    kis: FakeKis, fx: FakeFx, tmp_path: Path
) -> None:
    kis.detail_error = {"rt_cd": "1", "msg_cd": "EGW00500", "msg1": "시스템 오류"}
    client = client_for(kis, tmp_path)
    send, _ = anyio.create_memory_object_stream[MarketData](1)
    feeder = FxFeeder(send, LiveClock(), kis=client, fallback_url=fx.url, interval=0.05)
    try:
        got = await rates(feeder, 3)
        assert [(r.rate, r.source) for r in got] == [(Decimal("1456.61234567"), "fallback")] * 3
        assert got[0].ts == datetime(2025, 3, 4, 0, 0, 1, tzinfo=UTC)  # the source's own time
        assert_exact(got[0])
        assert fx.hits == 1  # fetched once, re-announced while current
        kis.detail_error = None
        again = await rates(feeder, 1)
    finally:
        await client.aclose()
    assert again[0].source == "kis"


async def test_fallback_alone_goes_stale_when_its_source_stays_down(fx: FakeFx) -> None:
    fx.body = frankfurter_body("1432.5")
    send, _ = anyio.create_memory_object_stream[MarketData](1)
    feeder = FxFeeder(
        send, LiveClock(), fallback_url=fx.url, interval=0.05, fallback_refresh=0.1,
        fallback_max_age=0.4,
    )  # fmt: skip
    got = await rates(feeder, 1)
    assert got[0].rate == Decimal("1432.5")
    assert got[0].ts == datetime(2025, 3, 3, tzinfo=UTC)
    fx.status = 429  # rate limited from now on: the cached rate outlives max age, then stops
    send, receive = anyio.create_memory_object_stream[MarketData](100)
    feeder._out = send
    async with anyio.create_task_group() as tg:
        tg.start_soon(feeder.run)
        await anyio.sleep(0.8)
        assert not feeder.connected
        tg.cancel_scope.cancel()
    announced = []
    while True:
        try:
            announced.append(receive.receive_nowait())
        except anyio.WouldBlock:
            break
    assert 0 < len(announced) < 12  # some while the cache was young, then silence


async def test_unreachable_fallback_never_crashes(fx: FakeFx) -> None:
    url = fx.url
    await fx.close()
    send, receive = anyio.create_memory_object_stream[MarketData](10)
    feeder = FxFeeder(send, LiveClock(), fallback_url=url, interval=0.02, timeout=0.5)
    async with anyio.create_task_group() as tg:
        tg.start_soon(feeder.run)
        await anyio.sleep(0.2)
        assert not feeder.connected
        assert feeder.last_received is None
        tg.cancel_scope.cancel()
    with pytest.raises(anyio.WouldBlock):
        receive.receive_nowait()


def test_parse_fallback_refuses_wrong_answers() -> None:
    now = datetime(2025, 3, 4, tzinfo=UTC)
    for body in (
        {"result": "error", "error-type": "unsupported-code"},
        {"base": "EUR", "rates": {"KRW": "1500"}},
        {"rates": {"KRW": 1456.6}},  # a float: never accepted
        {"rates": {}},
        [],
    ):
        with pytest.raises((ValueError, KeyError, TypeError)):
            parse_fallback(body, now)
    assert parse_fallback({"rates": {"KRW": "1400"}}, now) == (Decimal(1400), now)


def test_build_feeders_follows_papertrade_feeds(tmp_path: Path) -> None:
    from daemon.actors.kis_feeder import KisFeeder
    from daemon.actors.upbit_feeder import UpbitFeeder
    from daemon.config import ConfigError, Settings
    from daemon.feeds import build_feeders
    from tests.test_upbit_feeder import INSTRUMENTS

    send, _ = anyio.create_memory_object_stream[MarketData](1)
    settings = Settings(
        feeds=("sim", "upbit", "kis", "fx"), kis_app_key="key", kis_app_secret="secret",
        kis_env="mock", data_dir=tmp_path, fx_fallback_url="http://127.0.0.1:9/fx",
    )  # fmt: skip
    feeders = build_feeders(settings, INSTRUMENTS, send, LiveClock())
    assert [f.name for f in feeders] == ["upbit", "kis", "fx"]
    upbit, kis, fx = feeders
    assert isinstance(upbit, UpbitFeeder)
    assert isinstance(kis, KisFeeder)
    assert isinstance(fx, FxFeeder)
    assert fx._kis is kis._client
    assert kis._client.api_url == "https://openapivts.koreainvestment.com:29443"
    assert all(not f.connected and f.last_received is None for f in feeders)

    assert build_feeders(Settings(feeds=("sim",)), INSTRUMENTS, send, LiveClock()) == []
    only_fx = build_feeders(Settings(feeds=("fx",)), INSTRUMENTS, send, LiveClock())
    assert isinstance(only_fx[0], FxFeeder)
    assert only_fx[0]._kis is None
    with pytest.raises(ConfigError, match="KIS_APP_KEY"):
        build_feeders(Settings(feeds=("kis",)), INSTRUMENTS, send, LiveClock())
