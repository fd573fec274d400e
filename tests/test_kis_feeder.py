"""KIS: our client and feeder against a fake KIS on 127.0.0.1 (token, approval, REST, websocket)."""

from __future__ import annotations

import json
import stat
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import anyio
import asyncpg
import pytest
from anyio.abc import ObjectReceiveStream

from daemon.actors.kis_feeder import KisFeeder, exchange_day
from daemon.clock import LiveClock, TestClock
from daemon.engine.market import BookLevel
from daemon.feeds import volume_delta
from daemon.kis_client import (
    KST,
    Control,
    KisClient,
    KisFrameError,
    Realtime,
    kst_to_utc,
    parse_ws_message,
)
from daemon.messages import MarketData, OrderBook, Quote
from tests.fakes.fake_kis import FakeKis, krx_book_record, krx_record, us_book_record, us_record
from tests.fakes.waiting import eventually
from tests.test_upbit_feeder import assert_exact_types, instrument

pytestmark = pytest.mark.anyio

AT = datetime(2025, 3, 4, 0, 33, 54, tzinfo=UTC)  # 09:33:54 in Seoul

INSTRUMENTS = [
    instrument("KRX-STOCK-005930", "KRX", "KOSPI"),
    instrument("KRX-STOCK-000660", "KRX", "KOSPI"),
    instrument("US-STOCK-AAPL", "US", "NAS"),
    instrument("US-STOCK-BRK.B", "US", "NYS"),  # past max_subscriptions=3: polled over REST
    instrument("CRYPTO-COIN-BTC"),  # not KIS's
]


@pytest.fixture
async def fake() -> AsyncIterator[FakeKis]:
    fake = FakeKis()
    fake.set_domestic("005930", "71000", "3000000")
    fake.set_domestic("000660", "250000", "1000")
    fake.set_overseas("NAS", "AAPL", "241.8400")
    fake.set_overseas("NYS", "BRK/B", "490.1234", "5000")
    await fake.start()
    yield fake
    await fake.close()


def client_for(fake: FakeKis, data_dir: Path, **kwargs) -> KisClient:
    kwargs.setdefault("rate_per_second", 200)
    kwargs.setdefault("rate_limit_backoff", (0.05, 0.2))
    return KisClient(
        app_key=fake.app_key,
        app_secret=fake.app_secret,
        env="mock",
        api_url=fake.api_url,
        ws_url=fake.ws_url,
        data_dir=data_dir,
        clock=LiveClock(),
        **kwargs,
    )


async def next_quote(receive: ObjectReceiveStream[MarketData], predicate) -> Quote:
    with anyio.fail_after(5):
        async for item in receive:
            if isinstance(item, Quote) and predicate(item):
                return item
    raise AssertionError("stream ended")


def test_parse_multi_record_frames_and_control_messages() -> None:
    rec1 = krx_record("005930", "71900", "7", "3052507", AT)
    rec2 = krx_record("000660", "250500", "3", "1200", AT)
    frame = parse_ws_message("0|H0STCNT0|002|" + "^".join(rec1 + rec2))
    assert frame == Realtime(False, "H0STCNT0", [rec1, rec2])
    assert len(rec1) == 46
    pong = parse_ws_message('{"header":{"tr_id":"PINGPONG","datetime":"20250304093354"}}')
    assert isinstance(pong, Control)
    assert pong.is_pingpong
    assert pong.ok is None
    ack = parse_ws_message(
        '{"header":{"tr_id":"H0STCNT0","tr_key":"005930","encrypt":"N"},"body":{"rt_cd":"0",'
        '"msg_cd":"OPSP0000","msg1":"SUBSCRIBE SUCCESS","output":{"iv":"x","key":"y"}}}'
    )
    assert ack == Control("H0STCNT0", "005930", True, "OPSP0000", "SUBSCRIBE SUCCESS")
    for bad in ("0|H0STCNT0|002|a^b^c", "0|H0STCNT0|xx|a", "0|H0STCNT0", "hello", '{"a":1}'):
        with pytest.raises(KisFrameError):
            parse_ws_message(bad)
    assert kst_to_utc("20250304", "093354") == AT


async def test_feeder_streams_polls_echoes_and_reconnects(fake: FakeKis, tmp_path: Path) -> None:
    client = client_for(fake, tmp_path)
    send, receive = anyio.create_memory_object_stream[MarketData](1000)
    feeder = KisFeeder(
        client, INSTRUMENTS, send, LiveClock(), max_subscriptions=3, book_subscriptions=0,
        poll_interval=0.05, quiet_after=60, subscribe_gap=0, backoff_initial=0.05,
        backoff_max=0.2,
    )  # fmt: skip
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(feeder.run)
            await eventually(lambda: fake.subscribed() == {"005930", "000660", "DNASAAPL"})
            await eventually(lambda: len(feeder.streamed) == 3)
            assert feeder.connected
            assert feeder.ws_connected

            # BRK.B is not streamed: polled over REST as KIS spells it, on its exchange.
            brk = await next_quote(receive, lambda q: q.ticker_id == "US-STOCK-BRK.B")
            assert brk.price == Decimal("490.1234")
            assert brk.prev_close == Decimal("480.0000")
            assert brk.currency == "USD"
            assert_exact_types(brk)
            polled = [r for r in fake.http.requests if r.path.endswith("/quotations/price")]
            assert {(r.query["EXCD"], r.query["SYMB"]) for r in polled} >= {("NYS", "BRK/B")}
            assert all(r.headers["tr_id"] == "HHDFS00000300" for r in polled)

            # Several records in one frame: one quote each, exact, timed in UTC.
            await fake.send_frame(
                "H0STCNT0",
                [
                    krx_record("005930", "71900", "7", "3052507", AT),
                    krx_record("000660", "250500", "3", "1200", AT + timedelta(seconds=1)),
                    krx_record("005930", "72000", "2", "3052509", AT + timedelta(seconds=2)),
                ],
            )
            got = [
                await next_quote(receive, lambda q: q.source == "kis" and q.ticker_id[:3] == "KRX")
                for _ in range(3)
            ]
            assert [(q.ticker_id, q.price, q.volume) for q in got] == [
                ("KRX-STOCK-005930", Decimal(71900), Decimal(7)),
                ("KRX-STOCK-000660", Decimal(250500), Decimal(3)),
                ("KRX-STOCK-005930", Decimal(72000), Decimal(2)),
            ]
            assert got[0].ts == AT
            assert got[0].prev_close == Decimal(72000)  # 71900 after falling ("5") by 100
            assert got[0].bid == Decimal(71800)
            assert got[0].ask == 72000
            assert got[0].currency == "KRW"
            for q in got:
                assert_exact_types(q)
            await fake.send_frame(
                "HDFSCNT0", [us_record("DNASAAPL", "241.8500", "241.84", "241.86", "10", "9", AT)]
            )
            aapl = await next_quote(receive, lambda q: q.ticker_id == "US-STOCK-AAPL")
            assert (aapl.price, aapl.bid, aapl.ask, aapl.volume, aapl.ts) == (
                Decimal("241.8500"),
                Decimal("241.84"),
                Decimal("241.86"),
                Decimal(10),
                AT,
            )
            assert aapl.prev_close == Decimal("240.6200")  # up ("2") by 1.2300

            # PINGPONG is echoed; malformed frames are skipped and the stream carries on.
            await fake.ping()
            await eventually(lambda: len(fake.echoes) == 1)
            assert json.loads(fake.echoes[0])["header"]["tr_id"] == "PINGPONG"
            skipped = feeder.skipped
            await fake.send_raw("0|H0STCNT0|002|a^b^c")
            await fake.send_raw("garbage")
            await fake.send_frame("H0STCNT0", [krx_record("005930", "oops", "1", "1", AT)])
            await fake.send_frame("H0STCNT0", [krx_record("005930", "73000", "1", "3052510", AT)])
            after = await next_quote(receive, lambda q: q.price == 73000)
            assert after.ticker_id == "KRX-STOCK-005930"
            assert feeder.skipped == skipped + 3

            # A dropped connection: REST covers everything until the session is back.
            domestic_polls = fake.count("/uapi/domestic-stock/v1/quotations/inquire-price")
            fake.ws_enabled = False
            await fake.drop_connections()
            polled = await next_quote(
                receive, lambda q: q.ticker_id == "KRX-STOCK-000660" and q.price == 250000
            )
            assert polled.prev_close == Decimal(70000)  # stck_sdpr
            assert fake.count("/uapi/domestic-stock/v1/quotations/inquire-price") > domestic_polls
            assert not feeder.ws_connected
            assert feeder.connected
            fake.ws_enabled = True
            await eventually(lambda: fake.connections_opened == 2 and len(feeder.streamed) == 3)
            await fake.send_frame("H0STCNT0", [krx_record("000660", "251000", "1", "1300", AT)])
            back = await next_quote(receive, lambda q: q.price == 251000)
            assert back.ticker_id == "KRX-STOCK-000660"
            tg.cancel_scope.cancel()
    finally:
        await client.aclose()
    assert fake.count("/oauth2/tokenP") == 1
    assert fake.count("/oauth2/Approval") == 1  # reused when reconnecting
    token_file = tmp_path / "kis_token.json"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600


async def test_subscriptions_past_the_server_limit_are_polled(
    fake: FakeKis, tmp_path: Path
) -> None:
    fake.max_subscriptions = 2  # the server refuses the third: MAX SUBSCRIBE OVER
    client = client_for(fake, tmp_path)
    send, receive = anyio.create_memory_object_stream[MarketData](1000)
    feeder = KisFeeder(
        client, INSTRUMENTS[:3], send, LiveClock(), poll_interval=0.05, quiet_after=60,
        subscribe_gap=0,
    )  # fmt: skip
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(feeder.run)
            await eventually(lambda: len(feeder.streamed) == 2)
            polls = fake.count("/uapi/overseas-price/v1/quotations/price")
            await next_quote(receive, lambda q: q.ticker_id == "US-STOCK-AAPL")
            await eventually(lambda: fake.count("/uapi/overseas-price/v1/quotations/price") > polls)
            assert feeder.streamed == {"KRX-STOCK-005930", "KRX-STOCK-000660"}
            tg.cancel_scope.cancel()
    finally:
        await client.aclose()


async def test_token_is_cached_in_the_data_folder_across_restarts(
    fake: FakeKis, tmp_path: Path
) -> None:
    first = client_for(fake, tmp_path)
    second = client_for(fake, tmp_path)  # a restart: same data folder, fresh process state
    try:
        assert (await first.domestic_price("005930"))["stck_prpr"] == "71000"
        assert (await second.domestic_price("005930"))["stck_prpr"] == "71000"
    finally:
        await first.aclose()
        await second.aclose()
    assert fake.count("/oauth2/tokenP") == 1
    cached = json.loads((tmp_path / "kis_token.json").read_text())
    assert cached["access_token"] in fake.tokens
    assert fake.app_key not in json.dumps(cached)  # only a hash of the key is kept


async def test_expired_token_is_reissued_at_most_once_a_minute(
    fake: FakeKis, tmp_path: Path
) -> None:
    fake.enforce_token_minute = False
    client = client_for(fake, tmp_path, min_token_interval=0.4)
    try:
        started = time.monotonic()
        await client.domestic_price("005930")
        fake.expire_tokens()  # KIS answers EGW00123: the client re-issues, but not sooner
        output = await client.domestic_price("000660")
        elapsed = time.monotonic() - started
    finally:
        await client.aclose()
    assert output["stck_prpr"] == "250000"
    assert fake.count("/oauth2/tokenP") == 2
    assert client.tokens_issued == 2
    assert elapsed >= 0.35


async def test_backs_off_on_egw00201(fake: FakeKis, tmp_path: Path) -> None:
    fake.rate_limit_next = 2
    client = client_for(fake, tmp_path, rate_limit_backoff=(0.1, 0.5))
    try:
        await client.access_token()
        started = time.monotonic()
        output = await client.overseas_price("NAS", "AAPL")
        elapsed = time.monotonic() - started
    finally:
        await client.aclose()
    assert output["last"] == "241.8400"
    assert client.rate_limited == 2
    assert elapsed >= 0.25  # paused 0.1 s, then 0.2 s


async def test_requests_are_paced_to_the_rate_limit(fake: FakeKis, tmp_path: Path) -> None:
    client = client_for(fake, tmp_path, rate_per_second=20)
    try:
        await client.access_token()
        started = time.monotonic()
        for _ in range(6):
            await client.domestic_price("005930")
        elapsed = time.monotonic() - started
    finally:
        await client.aclose()
    assert elapsed >= 0.24  # six requests at 20/s: at least five gaps of 50 ms


async def test_refused_approval_key_is_renewed(fake: FakeKis, tmp_path: Path) -> None:
    client = client_for(fake, tmp_path)
    await client.approval_key()
    fake.approval_keys.clear()  # KIS forgot it: "invalid approval : NOT FOUND"
    send, _ = anyio.create_memory_object_stream[MarketData](1000)
    feeder = KisFeeder(
        client, INSTRUMENTS[:1], send, LiveClock(), subscribe_gap=0, backoff_initial=0.05,
        backoff_max=0.1,
    )  # fmt: skip
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(feeder.run)
            await eventually(lambda: feeder.streamed == {"KRX-STOCK-005930"})
            tg.cancel_scope.cancel()
    finally:
        await client.aclose()
    assert fake.count("/oauth2/Approval") == 2
    assert fake.connections_opened == 2


async def next_book(receive: ObjectReceiveStream[MarketData], ticker: str) -> OrderBook:
    with anyio.fail_after(5):
        async for item in receive:
            if isinstance(item, OrderBook) and item.ticker_id == ticker:
                return item
    raise AssertionError("stream ended")


async def test_books_share_the_subscription_limit_and_replay_exactly(
    fake: FakeKis, tmp_path: Path
) -> None:
    client = client_for(fake, tmp_path)
    send, receive = anyio.create_memory_object_stream[MarketData](1000)
    # A limit of 4: books for the first 2 instruments, trades for the first 2.
    feeder = KisFeeder(
        client, INSTRUMENTS, send, LiveClock(), max_subscriptions=4, poll_interval=0.05,
        quiet_after=60, subscribe_gap=0,
    )  # fmt: skip
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(feeder.run)
            await eventually(lambda: len(feeder.streamed) == 2 and len(feeder.booked) == 2)
            assert fake.subscribed(("H0STASP0",)) == {"005930", "000660"}
            assert fake.subscribed() == {"005930", "000660"}
            assert feeder.booked == {"KRX-STOCK-005930", "KRX-STOCK-000660"}

            # A trade first, so the book can re-send its price with the new bid and ask.
            await fake.send_frame("H0STCNT0", [krx_record("005930", "71900", "7", "3052507", AT)])
            await next_quote(receive, lambda q: q.price == 71900)
            asks = [(str(72000 + 100 * i), str(1000 + i)) for i in range(10)]
            bids = [(str(71900 - 100 * i), str(2000 + i)) for i in range(9)]  # a level missing
            record = krx_book_record("005930", asks, bids, datetime.now(UTC))
            await fake.send_frame("H0STASP0", [record])
            book = await next_book(receive, "KRX-STOCK-005930")
            assert book.source == "kis"
            assert len(book.asks) == 10
            assert len(book.bids) == 9
            assert book.asks[0] == BookLevel(Decimal(72000), Decimal(1000))
            assert book.bids[8] == BookLevel(Decimal(71100), Decimal(2008))
            assert abs((book.ts - datetime.now(UTC)).total_seconds()) < 2
            refreshed = await next_quote(receive, lambda q: q.ask == 72000 and q.volume == 0)
            assert (refreshed.price, refreshed.bid, refreshed.ask) == (71900, 71900, 72000)
            assert refreshed.volume == 0
            assert refreshed.ts == book.ts

            await fake.send_frame("H0STASP0", [[*record[:5], "oops", *record[6:]]])
            await eventually(lambda: feeder.skipped == 1)
            tg.cancel_scope.cancel()
    finally:
        await client.aclose()


async def test_a_us_book_has_level_one(fake: FakeKis, tmp_path: Path) -> None:
    client = client_for(fake, tmp_path)
    send, receive = anyio.create_memory_object_stream[MarketData](1000)
    us = [i for i in INSTRUMENTS if i.market == "US"]
    feeder = KisFeeder(client, us, send, LiveClock(), quiet_after=60, subscribe_gap=0)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(feeder.run)
            await eventually(lambda: len(feeder.booked) == 2)
            assert fake.subscribed(("HDFSASP0",)) == {"DNASAAPL", "DNYSBRK/B"}
            record = us_book_record("DNASAAPL", ("241.8400", "300"), ("241.8600", "120"), AT)
            await fake.send_frame("HDFSASP0", [record])
            book = await next_book(receive, "US-STOCK-AAPL")
            assert book.bids == (BookLevel(Decimal("241.8400"), Decimal(300)),)
            assert book.asks == (BookLevel(Decimal("241.8600"), Decimal(120)),)
            assert book.ts == AT
            tg.cancel_scope.cancel()
    finally:
        await client.aclose()


async def test_a_quiet_streamed_stock_is_polled_before_its_price_goes_stale(
    fake: FakeKis, tmp_path: Path
) -> None:
    client = client_for(fake, tmp_path)
    send, _receive = anyio.create_memory_object_stream[MarketData](1000)
    feeder = KisFeeder(
        client, INSTRUMENTS[:1], send, LiveClock(), poll_interval=0.05, subscribe_gap=0,
        quiet_after=0.2, quiet_poll_interval=0.2,
    )  # fmt: skip
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(feeder.run)
            await eventually(lambda: feeder.streamed == {"KRX-STOCK-005930"})
            start = time.monotonic()
            polls = fake.count("/uapi/domestic-stock/v1/quotations/inquire-price")
            await eventually(
                lambda: fake.count("/uapi/domestic-stock/v1/quotations/inquire-price") >= polls + 3
            )
            assert time.monotonic() - start < 3  # every 0.2 s, with room for a busy machine
            tg.cancel_scope.cancel()
    finally:
        await client.aclose()
    defaults = KisFeeder(client, INSTRUMENTS[:1], send, LiveClock())
    assert defaults._quiet_after + defaults._quiet_poll_interval < 5  # the staleness limit


def test_volume_from_cumulative_figures() -> None:
    first, state = volume_delta(None, "2025-03-04", Decimal(100))
    assert (first, state) == (0, ("2025-03-04", Decimal(100)))
    assert volume_delta(state, "2025-03-04", Decimal(130)) == (30, ("2025-03-04", Decimal(130)))
    # A lagging snapshot adds nothing and the higher figure stays.
    assert volume_delta(state, "2025-03-04", Decimal(90)) == (0, state)
    assert volume_delta(state, "2025-03-05", Decimal(7)) == (7, ("2025-03-05", Decimal(7)))
    # The exchange's own day: 23:30 in New York is the next day in Seoul.
    late = datetime(2025, 3, 5, 4, 30, tzinfo=UTC)
    assert exchange_day("US", late) == "2025-03-04"
    assert exchange_day("KRX", late) == "2025-03-05"


async def test_daily_chart_backfill_pages_into_candles_1d_and_resumes(
    fake: FakeKis, tmp_path: Path, pool: asyncpg.Pool
) -> None:
    now = datetime(2026, 11, 25, 2, 0, 30, tzinfo=UTC)  # 11:00 in Seoul, 21:00 in New York
    today = now.astimezone(KST).date()
    fake.daily["005930"] = [
        ((today - timedelta(days=n)).strftime("%Y%m%d"), str(71000 + n)) for n in range(120)
    ]
    us_today = datetime.fromisoformat(exchange_day("US", now)).date()
    fake.daily["NYS:BRK/B"] = [
        ((us_today - timedelta(days=n)).strftime("%Y%m%d"), f"490.{n:04d}") for n in range(130)
    ]
    live = now.replace(second=0, microsecond=0)
    # 70 minutes of today's session so far (KST times are the fake's filter), and the US's 150.
    fake.minutes["005930"] = [(live - timedelta(minutes=n), str(71000 + n)) for n in range(70)]
    fake.minutes["NYS:BRK/B"] = [(live - timedelta(minutes=n), "490.5") for n in range(150)]
    client = client_for(fake, tmp_path)
    send, receive = anyio.create_memory_object_stream[MarketData](10_000)
    wanted = [INSTRUMENTS[0], INSTRUMENTS[3]]  # Samsung (KRX), BRK.B (NYSE)

    async def backfill() -> KisFeeder:
        feeder = KisFeeder(
            client, wanted, send, TestClock(now), poll_interval=0.05, subscribe_gap=0,
            pool=pool, backfill_gap=0.05,
        )  # fmt: skip
        async with anyio.create_task_group() as tg:
            tg.start_soon(feeder.run)

            async def drain() -> None:
                async for _ in receive:
                    pass

            tg.start_soon(drain)
            await eventually(lambda: feeder.backfill_finished, seconds=10)
            tg.cancel_scope.cancel()
        return feeder

    try:
        await backfill()
        calls = [r for r in fake.http.requests if "daily" in r.path]
        assert len(calls) == 2
        domestic = next(r for r in calls if "itemchartprice" in r.path)
        assert domestic.query["FID_INPUT_DATE_2"] == today.strftime("%Y%m%d")
        rows = {
            (r["ticker_id"], r["day"]): r["close"]
            for r in await pool.fetch("SELECT ticker_id, day, close FROM candles_1d")
        }
        samsung = sorted(day for ticker, day in rows if ticker == "KRX-STOCK-005930")
        assert samsung[-1] == today - timedelta(days=1)  # today's bar is still forming
        assert len(samsung) == 99  # a 100-day page, today left to the live bars
        assert rows[("KRX-STOCK-005930", today - timedelta(days=1))] == Decimal(71001)
        brk = sorted(day for ticker, day in rows if ticker == "US-STOCK-BRK.B")
        assert len(brk) == 99
        assert rows[("US-STOCK-BRK.B", us_today - timedelta(days=2))] == Decimal("490.0002")

        # Minutes: the KRX session paged back 30 at a time (newest first), the US's latest 120;
        # never the forming minute.
        pages = [r.query["FID_INPUT_HOUR_1"] for r in fake.http.requests if "time-item" in r.path
                 and "FID_INPUT_HOUR_1" in r.query]  # fmt: skip
        kst = live.astimezone(KST)
        assert pages[0] == kst.strftime("%H%M%S")
        assert pages[1] == (kst - timedelta(minutes=30)).strftime("%H%M%S")
        assert len(pages) == 3  # 30 + 30 + 10
        minutes = {
            r["ticker_id"]: (r["n"], r["newest"])
            for r in await pool.fetch(
                "SELECT ticker_id, count(*) AS n, max(bucket) AS newest FROM candles_1m GROUP BY 1"
            )
        }
        assert minutes["KRX-STOCK-005930"] == (69, live - timedelta(minutes=1))
        assert minutes["US-STOCK-BRK.B"] == (119, live - timedelta(minutes=1))

        fake.http.requests.clear()
        again = await backfill()  # yesterday and the last minute are stored: nothing to ask
        assert [r for r in fake.http.requests if "daily" in r.path or "time-item" in r.path] == []
        assert again.backfilled == 0
    finally:
        await client.aclose()
