"""The Discord notifier against a local fake webhook and the real PostgreSQL."""

from __future__ import annotations

import logging
import socket
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import anyio
import asyncpg
import msgspec
import pytest
from anyio.abc import ObjectSendStream

from daemon.accounts import User, create_user
from daemon.actors.notifier import (
    REASONS_KO,
    DiscordNotifier,
    next_ranking_at,
    order_line,
    split_messages,
)
from daemon.clock import TestClock
from daemon.engine.decide import EngineEvent
from daemon.instruments import Instrument, load_instruments
from daemon.messages import Order, OrderEvent, Quote
from daemon.price_book import PriceBook
from daemon.rankings import Rankings
from daemon.reasons import REASONS
from tests.conftest import KRX_OPEN, quote, running_platform
from tests.fakes.http_server import HttpServer, Request, Response
from tests.fakes.waiting import eventually
from tests.settlement_helpers import INITIAL, submit

pytestmark = pytest.mark.anyio
BTC = "CRYPTO-COIN-BTC"
SAMSUNG = "KRX-STOCK-005930"
AAPL = "US-STOCK-AAPL"
WEBHOOK_PATH = "/api/webhooks/1234567890/s3cr3t-t0ken"


class FakeWebhook:
    """Records the JSON body of every message it accepts; can answer 429 first."""

    def __init__(self, port: int = 0) -> None:
        self.http = HttpServer(self._handle)
        self.http.port = port
        self.messages: list[dict[str, Any]] = []
        self.arrivals: list[float] = []  # monotonic time of every request, accepted or not
        self.rate_limit_next = 0

    @property
    def url(self) -> str:
        return self.http.url + WEBHOOK_PATH

    @property
    def contents(self) -> list[str]:
        return [message["content"] for message in self.messages]

    async def start(self) -> None:
        await self.http.start()

    async def close(self) -> None:
        await self.http.close()

    async def _handle(self, request: Request) -> Response:
        self.arrivals.append(time.monotonic())
        if request.method != "POST" or request.path != WEBHOOK_PATH:
            return Response.json({"message": "Unknown Webhook", "code": 10015}, 404)
        if self.rate_limit_next:
            self.rate_limit_next -= 1
            return Response.json_text(
                '{"message": "You are being rate limited.", "retry_after": 0.05, "global": false}',
                429,
                {"retry-after": "1"},
            )
        body = request.json()
        assert isinstance(body, dict)
        self.messages.append(body)
        return Response(204)


@pytest.fixture
async def webhook() -> AsyncIterator[FakeWebhook]:
    fake = FakeWebhook()
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def instruments(pool: asyncpg.Pool) -> dict[str, Instrument]:
    return {i.ticker_id: i for i in await load_instruments(pool)}


def notifier_for(
    url: str,
    pool: asyncpg.Pool,
    instruments: dict[str, Instrument],
    clock: TestClock | None = None,
    **options: Any,
) -> tuple[DiscordNotifier, ObjectSendStream[OrderEvent]]:
    clock = clock or TestClock(KRX_OPEN)
    send, receive = anyio.create_memory_object_stream[OrderEvent](1000)
    options = {"batch_seconds": 0.1, "retry_delay": 0.01, **options}
    book = PriceBook(clock)
    rankings = Rankings(pool, book, clock, timedelta(minutes=5))
    notifier = DiscordNotifier(
        url, receive, pool, book, clock, instruments=instruments, rankings=rankings, **options
    )
    return notifier, send


def filled_btc(user: User, quantity: str = "0.001") -> Order:
    return Order(
        id=uuid.uuid4(), user_id=user.id, client_order_id=None, ticker_id=BTC, side="BUY",
        type="MARKET", time_in_force="GTC", status="FILLED", quantity=Decimal(quantity),
        currency="KRW-COIN", created_at=KRX_OPEN, average_price=Decimal("150010000"),
        filled_quantity=Decimal(quantity), applied_exchange_rate=Decimal(1),
        total_krw=Decimal("150010.00000000"), fee_krw=Decimal("75.00500000"), filled_at=KRX_OPEN,
    )  # fmt: skip


FILLED_EVENT = EngineEvent(kind="filled", at=KRX_OPEN)


async def alice(pool: asyncpg.Pool) -> User:
    return await create_user(pool, "alice", "password123", "앨리스", INITIAL)


async def test_a_fill_and_a_failure_arrive_as_one_korean_message(
    database_url: str, webhook: FakeWebhook
) -> None:
    clock = TestClock(KRX_OPEN)
    async with running_platform(database_url, clock) as platform:
        notifier = DiscordNotifier(
            webhook.url, platform.listen_orders(), platform.pool, platform.book, clock,
            instruments=platform.instruments, rankings=platform.rankings, batch_seconds=0.3,
        )  # fmt: skip
        async with anyio.create_task_group() as tg:
            tg.start_soon(notifier.run)
            platform.book.update(quote(clock, BTC, "150000000", bid="149990000", ask="150010000"))
            platform.book.update(quote(clock, SAMSUNG, "71000", currency="KRW"))
            user = await create_user(platform.pool, "alice", "password123", "앨리스", INITIAL)
            await submit(platform, user, BTC, "BUY", "0.001")
            await submit(platform, user, SAMSUNG, "SELL", "10")
            await eventually(lambda: notifier.sent >= 1)
            await anyio.sleep(0.4)  # nothing else may follow
            tg.cancel_scope.cancel()

    assert webhook.contents == [
        "🟢 앨리스 매수 체결: 비트코인 0.001 @ 150,010,000원 (합계 150,085원)\n"
        "🔴 앨리스 매도 실패: 삼성전자 10주 — 보유 수량이 부족합니다"
    ]
    assert webhook.messages[0]["allowed_mentions"] == {"parse": []}


async def test_a_rate_limit_is_waited_out_and_the_message_arrives_once(
    pool: asyncpg.Pool, instruments: dict[str, Instrument], webhook: FakeWebhook
) -> None:
    user = await alice(pool)
    notifier, send = notifier_for(webhook.url, pool, instruments)
    webhook.rate_limit_next = 1
    async with anyio.create_task_group() as tg:
        tg.start_soon(notifier.run)
        await send.send(OrderEvent(filled_btc(user), FILLED_EVENT))
        await eventually(lambda: notifier.sent == 1)
        tg.cancel_scope.cancel()

    assert len(webhook.arrivals) == 2
    # The body's retry_after (0.05 s) is obeyed, not the rounded-up header (1 s).
    assert 0.045 <= webhook.arrivals[1] - webhook.arrivals[0] < 0.9
    assert webhook.contents == [
        "🟢 앨리스 매수 체결: 비트코인 0.001 @ 150,010,000원 (합계 150,085원)"
    ]
    assert notifier.dropped == 0


async def test_long_batches_are_split_into_messages_discord_accepts(
    pool: asyncpg.Pool, instruments: dict[str, Instrument], webhook: FakeWebhook
) -> None:
    user = await alice(pool)
    notifier, send = notifier_for(webhook.url, pool, instruments, batch_seconds=0.3)
    orders = [filled_btc(user, f"0.{i:03d}") for i in range(1, 81)]
    for order in orders:
        send.send_nowait(OrderEvent(order, FILLED_EVENT))
    async with anyio.create_task_group() as tg:
        tg.start_soon(notifier.run)
        await eventually(lambda: sum(c.count("\n") + 1 for c in webhook.contents) >= len(orders))
        tg.cancel_scope.cancel()

    assert len(webhook.contents) >= 3
    assert all(len(content) <= 2000 for content in webhook.contents)
    lines = "\n".join(webhook.contents).split("\n")
    assert [line.split(" @ ")[0] for line in lines] == [
        f"🟢 앨리스 매수 체결: 비트코인 {Decimal(o.quantity).normalize()}" for o in orders
    ]


async def test_a_flood_is_summarised_rather_than_queued_without_end(
    pool: asyncpg.Pool, instruments: dict[str, Instrument], webhook: FakeWebhook
) -> None:
    user = await alice(pool)
    notifier, send = notifier_for(webhook.url, pool, instruments, max_waiting=5)
    for _ in range(20):
        send.send_nowait(OrderEvent(filled_btc(user), FILLED_EVENT))
    await send.aclose()  # the inbox ends: run() sends what is left and returns
    with anyio.fail_after(5):
        await notifier.run()

    [content] = webhook.contents
    assert content.count("🟢") == 5
    assert content.endswith("… 외 15건의 알림은 생략했습니다")
    assert notifier.skipped == 15


async def test_the_daily_ranking_lists_the_top_ten_in_order(
    pool: asyncpg.Pool, instruments: dict[str, Instrument], webhook: FakeWebhook
) -> None:
    async with anyio.create_task_group() as tg:  # password hashing is slow: in parallel
        for i in range(11):
            tg.start_soon(
                create_user, pool, f"player{i:02d}", "password123", f"선수{i:02d}", INITIAL
            )
    # Equity moves on some wallets (not their deposits), so returns differ from 0.
    moves = [("player03", "12500000"), ("player07", "9000000.5"), ("player10", "8000000")]
    for username, balance in moves:
        await pool.execute(
            "UPDATE wallets SET balance_krw = $2 FROM users "
            "WHERE users.id = wallets.user_id AND users.username = $1",
            username,
            Decimal(balance),
        )
    at_0930_kst = TestClock(datetime(2026, 11, 26, 0, 30, tzinfo=UTC))
    notifier, _ = notifier_for(webhook.url, pool, instruments, clock=at_0930_kst)

    assert await notifier.post_ranking()

    [content] = webhook.contents
    assert content.split("\n") == [
        "📊 오늘의 랭킹 (2026-11-26)",
        "1위 선수03 — 12,500,000원 (+25.00%)",
        *(
            f"{rank}위 선수{i:02d} — 10,000,000원 (0.00%)"
            for rank, i in enumerate([0, 1, 2, 4, 5, 6, 8, 9], start=2)
        ),
        "10위 선수07 — 9,000,000원 (-10.00%)",
    ]  # 선수10, 11th, is left out


async def test_a_dead_webhook_is_survived_and_later_messages_still_go_out(
    pool: asyncpg.Pool, instruments: dict[str, Instrument], caplog: pytest.LogCaptureFixture
) -> None:
    user = await alice(pool)
    with socket.socket() as probe:  # a port nobody listens on: connections are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = FakeWebhook(port)
    notifier, send = notifier_for(down.url, pool, instruments, max_attempts=3)
    caplog.set_level(logging.INFO, logger="httpx")
    async with anyio.create_task_group() as tg:
        tg.start_soon(notifier.run)
        await send.send(OrderEvent(filled_btc(user), FILLED_EVENT))
        await eventually(lambda: notifier.dropped == 1)

        await down.start()  # the webhook comes back on the same address
        try:
            await send.send(OrderEvent(filled_btc(user, "0.002"), FILLED_EVENT))
            await eventually(lambda: notifier.sent == 1)
        finally:
            await down.close()
        tg.cancel_scope.cancel()

    assert [c.split(" @ ")[0] for c in down.contents] == ["🟢 앨리스 매수 체결: 비트코인 0.002"]
    assert "HTTP Request: POST <discord webhook>" in caplog.text
    assert "s3cr3t" not in caplog.text


def test_every_reason_code_has_korean_text() -> None:
    assert set(REASONS_KO) == set(REASONS)


def test_us_fills_show_dollars_and_the_krw_total() -> None:
    order = Order(
        id=uuid.uuid4(), user_id=uuid.uuid4(), client_order_id=None, ticker_id=AAPL,
        side="SELL", type="LIMIT", time_in_force="DAY", status="FILLED", quantity=Decimal("2"),
        limit_price=Decimal("230"), currency="USD", created_at=KRX_OPEN,
        average_price=Decimal("230.5"), filled_quantity=Decimal("2"),
        applied_exchange_rate=Decimal("1380.5"),
        total_krw=Decimal("636410.5"), fee_krw=Decimal("1591.02625"), filled_at=KRX_OPEN,
    )  # fmt: skip
    apple = Instrument(
        ticker_id=AAPL, name="Apple", name_ko="애플", market="US", currency="USD",
        exchange="NAS", sim_start_price=Decimal(230),
    )  # fmt: skip
    assert (
        order_line(order, "*bob*", apple)
        == "🟢 \\*bob\\* 지정가 매도 체결: 애플 2주 @ $230.50 (합계 634,819원)"
    )
    assert order_line(msgspec.structs.replace(order, status="PENDING"), "bob", apple) is None


def test_the_ranking_is_due_at_the_next_nine_oclock_in_seoul() -> None:
    before = datetime(2026, 11, 25, 23, 59, tzinfo=UTC)  # 08:59 KST on the 26th
    after = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)  # 09:00 KST exactly: already posted
    assert next_ranking_at(before, 9) == datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
    assert next_ranking_at(after, 9) == datetime(2026, 11, 27, 0, 0, tzinfo=UTC)


def test_a_message_never_exceeds_the_limit() -> None:
    lines = [f"line {i} " + "가" * 90 for i in range(50)]
    messages = split_messages(lines, limit=500)
    assert all(len(m) <= 500 for m in messages)
    assert "\n".join(messages).split("\n") == lines


async def test_a_reset_player_back_at_the_starting_cash_shows_no_loss(
    pool: asyncpg.Pool, instruments: dict[str, Instrument], webhook: FakeWebhook
) -> None:
    from daemon.accounts import reset_account

    await alice(pool)
    await pool.execute("UPDATE wallets SET balance_krw = 9000000")  # lost a million trading
    await reset_account(pool, "alice", INITIAL)
    notifier, _ = notifier_for(webhook.url, pool, instruments)

    assert await notifier.post_ranking()

    assert webhook.contents[0].split("\n")[1] == "1위 앨리스 — 10,000,000원 (0.00%)"


def test_the_recap_shows_rank_changes_and_the_days_best_trade() -> None:
    from daemon.actors.notifier import best_trade_line, ranking_message
    from daemon.rankings import RankRow

    def row(rank: int, name: str, change: int | None, benchmark: bool = False) -> RankRow:
        return RankRow(rank=rank, user_id=None if benchmark else uuid.uuid4(), nickname=name,
                       equity_krw=Decimal(10_000_000), return_pct=Decimal("1.50"),
                       rank_change=change, max_drawdown_pct=Decimal(0), volatility_pct=None,
                       sharpe=None, trades=1, benchmark=benchmark)  # fmt: skip

    lines = ranking_message(
        "📊",
        [row(1, "민지", 2), row(2, "BTC", None, True), row(3, "준", -1), row(4, "새내기", None)],
    )
    assert lines.split("\n")[1:] == [
        "1위 민지 — 10,000,000원 (+1.50%) ▲2",
        "2위 준 — 10,000,000원 (+1.50%) ▼1",  # benchmarks are left out of the recap
        "3위 새내기 — 10,000,000원 (+1.50%)",
    ]
    clock = TestClock(KRX_OPEN)
    book = PriceBook(clock)
    book.update(Quote(ticker_id=BTC, price=Decimal(110), currency="KRW-COIN", ts=KRX_OPEN,
                      received_at=KRX_OPEN, source="test"))  # fmt: skip
    fills = [
        {
            "ticker_id": BTC,
            "side": "BUY",
            "price": Decimal(100),
            "currency": "KRW-COIN",
            "nickname": "민지",
        },
        {
            "ticker_id": BTC,
            "side": "SELL",
            "price": Decimal(120),
            "currency": "KRW-COIN",
            "nickname": "준",
        },
        {
            "ticker_id": BTC,
            "side": "BUY",
            "price": Decimal(105),
            "currency": "KRW-COIN",
            "nickname": "철수",
        },
    ]
    # BUY at 100 → 110 is +10 %; SELL at 120 → 110 is +8.33 % (the price fell after); BUY at 105 +4.76 %.
    line = best_trade_line(fills, book, {})  # type: ignore[arg-type]
    assert line == "🏅 오늘의 베스트 트레이드: 민지 CRYPTO-COIN-BTC 매수 @ 100원 → 지금까지 +10.00%"
