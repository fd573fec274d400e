"""The Discord notifier: fills and failures in Korean, batched into webhook messages; the daily
recap (the board with rank changes, the day's best trade, new badges) and the season's start and
end recaps. Best effort: a failed notification is logged and dropped, never retried forever.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from uuid import UUID
from zoneinfo import ZoneInfo

import anyio
import asyncpg
import httpx
import structlog
from anyio.abc import ObjectReceiveStream

from daemon.actors.season_clock import SeasonEnded, SeasonEvent, SeasonStarted
from daemon.badges import BY_CODE
from daemon.clock import Clock
from daemon.feeds import Backoff
from daemon.instruments import Instrument
from daemon.messages import Order, OrderEvent
from daemon.price_book import PriceBook
from daemon.rankings import Rankings, RankRow
from daemon.reasons import reason_text
from daemon.seasons import Season, current_season
from daemon.sqlfiles import query

log = structlog.get_logger(__name__)

KST = ZoneInfo("Asia/Seoul")
MESSAGE_LIMIT = 2000  # Discord's limit on a message's content
RANKING_SIZE = 10
MAX_RETRY_AFTER = 600.0  # seconds; past this a 429 answer is treated as nonsense

# Korean for every code in daemon/reasons.py; a code missing here falls back to reason_text().
REASONS_KO: dict[str, str] = {
    "market_closed": "지금은 장이 닫혀 있습니다",
    "insufficient_cash": "현금이 부족합니다 (수수료 포함)",
    "insufficient_quantity": "보유 수량이 부족합니다",
    "stale_price": "최신 시세가 없습니다 (5초 넘게 지난 가격)",
    "stale_fx_rate": "최신 원/달러 환율이 없어 해외 자산을 원화로 계산할 수 없습니다",
    "no_price": "아직 시세가 없습니다",
    "value_too_large": "주문 금액이 너무 커서 기록할 수 없습니다",
    "expired": "주문이 유효 기간 안에 체결되지 않아 만료되었습니다",
    "user_cancelled": "주문을 취소했습니다",
    "unknown_instrument": "여기서 거래하지 않는 종목입니다",
    "undeliverable": "여러 번 시도했지만 주문을 처리하지 못했습니다",
    "account_reset": "계좌가 초기화되어 대기 중인 주문이 취소되었습니다",
    "too_many_open_orders": "미체결 주문이 허용된 개수에 이르렀습니다. 일부를 취소한 뒤 다시 주문하세요",
    "fok_unfilled": "전량 즉시 체결(FOK) 주문을 한 번에 모두 체결할 수 없어 전혀 체결하지 않았습니다",
    "ioc_unfilled": "즉시 체결(IOC) 주문을 바로 체결할 수 없어 남은 수량을 취소했습니다",
    "insufficient_liquidity": "표시된 호가만으로 주문 전체를 체결할 수 없어 나머지를 취소했습니다",
    "below_minimum": "주문 금액이 업비트 최소 주문 금액 5,000원보다 적습니다",
    "outside_price_limits": "가격이 오늘의 KRX 가격제한폭(전일 종가 ±30%)을 벗어났습니다",
    "amount_too_small": "수수료를 포함하면 현재 가격에 최소 단위도 살 수 없는 금액입니다",
    "season_started": "시즌이 시작되어 계좌가 시즌 시작 금액으로 바뀌고 대기 중인 주문이 취소되었습니다",
    "season_market_excluded": "이번 시즌에는 거래할 수 없는 시장입니다",
    "season_position_limit": "시즌 규칙의 한 종목 비중 한도를 넘는 주문입니다",
    "calendar_unknown": "이 주문의 유효 기간에 해당하는 거래 세션을 알 수 없습니다",
}
_SIDES = {"BUY": "매수", "SELL": "매도"}
_MARKDOWN = str.maketrans({ch: "\\" + ch for ch in "\\*_~`|>[]()<#"})


def reason_ko(code: str | None) -> str:
    if code is None:
        return "이유를 알 수 없습니다"
    return REASONS_KO.get(code) or reason_text(code) or code


def escape(text: str) -> str:
    """`text` shown literally by Discord, not read as markdown (nicknames are user input)."""
    return text.translate(_MARKDOWN)


def plain_number(value: Decimal) -> str:
    """Thousands separators, no trailing zeros: 150,010,000 / 0.001 / 1,234.5."""
    text = format(value.normalize(), ",f")
    return "0" if text in ("-0", "0") else text


def krw(amount: Decimal) -> str:
    """A KRW amount to the whole won (to 2 places when that would show a non-zero as 0)."""
    whole = amount.quantize(Decimal(1), ROUND_HALF_EVEN)
    if whole == 0 and amount != 0:
        return plain_number(amount.quantize(Decimal("0.01"), ROUND_HALF_EVEN)) + "원"
    return plain_number(whole) + "원"


def price_text(price: Decimal, currency: str) -> str:
    if currency == "USD":
        cents = price.quantize(Decimal("0.01"), ROUND_HALF_EVEN)
        return "$" + (format(cents, ",.2f") if cents == price else plain_number(price))
    return plain_number(price) + "원"


def order_line(order: Order, nickname: str, instrument: Instrument | None) -> str | None:
    """The notification for a FILLED or FAILED order; None for other states."""
    name = (instrument.name_ko or instrument.name) if instrument else order.ticker_id
    unit = "주" if "-STOCK-" in order.ticker_id else ""
    quantity = order.filled_quantity if order.quantity is None else order.quantity
    what = f"{name} {plain_number(quantity)}{unit}"
    action = ("지정가 " if order.type == "LIMIT" else "") + _SIDES.get(order.side, order.side)
    who = escape(nickname)
    if order.status == "FILLED":
        line = f"🟢 {who} {action} 체결: {what}"
        if order.price is not None:
            line += " @ " + price_text(order.price, order.currency)
        if order.total_krw is not None:
            fee = order.fee_krw or Decimal(0)
            cash = order.total_krw + fee if order.side == "BUY" else order.total_krw - fee
            line += f" (합계 {krw(cash)})"
        return line
    if order.status == "FAILED":
        return f"🔴 {who} {action} 실패: {what} — {reason_ko(order.reason)}"
    return None


def signed_pct(value: Decimal) -> str:
    return ("+" if value > 0 else "") + f"{value}%"


def rank_arrow(change: int | None) -> str:
    """▲2 / ▼1 after a rank that moved since the previous period's end; nothing otherwise."""
    if not change:
        return ""
    return f" ▲{change}" if change > 0 else f" ▼{-change}"


def ranking_message(title: str, rows: Iterable[RankRow]) -> str:
    """The top 10 players of a board (benchmarks left out), with their rank changes."""
    lines = [title]
    for rank, row in enumerate((r for r in rows if not r.benchmark), start=1):
        if rank > RANKING_SIZE:
            break
        lines.append(
            f"{rank}위 {escape(row.nickname)} — {krw(row.equity_krw)} "
            f"({signed_pct(row.return_pct)}){rank_arrow(row.rank_change)}"
        )
    if len(lines) == 1:
        lines.append("아직 참가자가 없습니다.")
    return "\n".join(lines)


def best_trade_line(
    fills: Iterable[asyncpg.Record], book: PriceBook, instruments: Mapping[str, Instrument]
) -> str | None:
    """The day's best trade: the fill the price has moved most in favour of since (a BUY the
    price rose after, a SELL it fell after), by percent of its fill price."""
    best: tuple[Decimal, asyncpg.Record] | None = None
    for fill in fills:
        quote = book.quote(fill["ticker_id"])
        if quote is None or not fill["price"]:
            continue
        moved = (quote.price - fill["price"]) / fill["price"] * 100
        gain = moved if fill["side"] == "BUY" else -moved
        if best is None or gain > best[0]:
            best = (gain, fill)
    if best is None:
        return None
    gain, fill = best
    instrument = instruments.get(fill["ticker_id"])
    name = (instrument.name_ko or instrument.name) if instrument else fill["ticker_id"]
    side = _SIDES.get(fill["side"], fill["side"])
    pct = gain.quantize(Decimal("0.01"), ROUND_HALF_EVEN)
    return (
        f"🏅 오늘의 베스트 트레이드: {escape(fill['nickname'])} {name} {side} "
        f"@ {price_text(fill['price'], fill['currency'])} → 지금까지 {signed_pct(pct)}"
    )


def badge_lines(rows: Iterable[asyncpg.Record]) -> list[str]:
    lines = []
    for row in rows:
        badge = BY_CODE.get(row["badge"])
        lines.append(f"🎖️ {escape(row['nickname'])} — {badge.ko if badge else row['badge']}")
    return lines


def _kst(moment: datetime) -> str:
    return moment.astimezone(KST).strftime("%Y-%m-%d %H:%M")


def season_start_message(season: Season) -> str:
    markets = ", ".join(
        {"KRX": "국내 주식", "US": "미국 주식", "CRYPTO": "코인"}[m] for m in season.markets
    )
    rules = [f"시작 금액 {krw(season.initial_cash_krw)}", f"시장: {markets}",
             f"초기화 {season.resets_allowed}회", "수수료 없음" if season.costs == "none" else "수수료 있음"]  # fmt: skip
    if season.max_position_pct is not None:
        rules.append(f"한 종목 최대 {plain_number(season.max_position_pct)}%")
    return "\n".join([
        f"🏁 시즌 시작: {escape(season.name)}",
        f"기간: {_kst(season.starts_at)} ~ {_kst(season.ends_at)} (KST)",
        " · ".join(rules),
        f"참가자 {season.participants}명, 모두 행운을 빌어요!",
    ])  # fmt: skip


def season_end_message(season: Season, standings: list[RankRow]) -> str:
    lines = [f"🏆 시즌 종료: {escape(season.name)}"]
    for medal, row in zip(("🥇", "🥈", "🥉"), standings, strict=False):
        lines.append(
            f"{medal} {escape(row.nickname)} — {krw(row.equity_krw)} ({signed_pct(row.return_pct)})"
        )
    if not standings:
        lines.append("참가자가 없었습니다.")
    lines.append(f"참가자 {len(standings)}명의 최종 순위는 명예의 전당에 남았어요.")
    return "\n".join(lines)


def _length(text: str) -> int:
    # In UTF-16 units, never fewer than the characters Discord counts, so a message always fits.
    return len(text.encode("utf-16-le")) // 2


def split_messages(lines: Iterable[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Join lines into as few messages of at most `limit` characters as possible, in order."""
    messages: list[str] = []
    current = ""
    for line in lines:
        while _length(line) > limit:  # never happens with our lines; cut rather than fail
            line = line[: len(line) - (_length(line) - limit) - 1] + "…"
        candidate = f"{current}\n{line}" if current else line
        if _length(candidate) <= limit:
            current = candidate
        else:
            messages.append(current)
            current = line
    if current:
        messages.append(current)
    return messages


def next_ranking_at(now: datetime, hour_kst: int) -> datetime:
    """The next `hour_kst`:00 in Seoul strictly after `now`, in UTC."""
    local = now.astimezone(KST)
    target = local.replace(hour=hour_kst, minute=0, second=0, microsecond=0)
    if target <= local:
        target += timedelta(days=1)  # Korea has no daylight saving time: a day is 24 hours
    return target.astimezone(UTC)


def retry_after_seconds(response: httpx.Response, default: float = 1.0) -> float:
    """How long a 429 answer asks us to wait: `retry_after` in the JSON body, else Retry-After."""
    wait: object = None
    try:
        body = response.json()
        if isinstance(body, dict):
            wait = body.get("retry_after")
    except ValueError:
        pass
    if not isinstance(wait, int | float) or isinstance(wait, bool):
        wait = response.headers.get("retry-after")
    try:
        seconds = float(wait)  # type: ignore[arg-type]  # ok-float: seconds, not money
    except (TypeError, ValueError):
        return default
    return min(max(seconds, 0.0), MAX_RETRY_AFTER) if math.isfinite(seconds) else default


class _RedactWebhook(logging.Filter):
    """httpx logs every request's URL at INFO; the webhook's URL is its password."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self._secret = httpx.URL(url).path

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                "<discord webhook>" if self._secret in str(arg) else arg for arg in record.args
            )
        return True


class DiscordNotifier:
    def __init__(
        self,
        webhook_url: str,
        orders: ObjectReceiveStream[OrderEvent],
        pool: asyncpg.Pool,
        book: PriceBook,
        clock: Clock,
        *,
        instruments: Mapping[str, Instrument],
        rankings: Rankings,
        initial_cash_krw: Decimal = Decimal(10_000_000),
        seasons: ObjectReceiveStream[SeasonEvent] | None = None,
        batch_seconds: float = 2.0,
        ranking_hour_kst: int = 9,
        max_waiting: int = 1000,
        max_attempts: int = 5,
        retry_delay: float = 1.0,
        timeout: float = 10.0,
    ) -> None:
        if not 0 <= ranking_hour_kst <= 23:
            raise ValueError(f"ranking_hour_kst must be 0 to 23, not {ranking_hour_kst}")
        self._url = webhook_url
        self._orders = orders
        self._pool = pool
        self._book = book
        self._clock = clock
        self._instruments = instruments
        self._rankings = rankings
        self._initial_cash = initial_cash_krw
        self._seasons = seasons
        self._batch_seconds = batch_seconds
        self._ranking_hour = ranking_hour_kst
        self._max_waiting = max_waiting
        self._max_attempts = max_attempts
        self._retry_delay = retry_delay
        self._timeout = timeout
        self._nicknames: dict[UUID, str] = {}
        self._waiting: list[str] = []
        self._skipped = 0  # lines not kept because too many were waiting
        self._wake = anyio.Event()
        self._inbox_ended = False
        self._http: httpx.AsyncClient | None = None
        self._send_lock = anyio.Lock()  # one request at a time, so rate limits are obeyed in order
        self.sent = 0  # messages delivered
        self.dropped = 0  # messages given up on
        self.skipped = 0  # lines summarised as "... and N more"

    async def run(self) -> None:
        """Until the order stream ends: batch and send order lines, and post the daily ranking."""
        async with self._client() as http, anyio.create_task_group() as tg:
            self._http = http
            try:
                tg.start_soon(self._collect)
                tg.start_soon(self._post_rankings)
                if self._seasons is not None:
                    tg.start_soon(self._season_recaps, self._seasons)
                await self._send_batches()
                tg.cancel_scope.cancel()
            finally:
                self._http = None

    async def post_ranking(self) -> bool:
        """Post the daily recap now: the running season's board (else the all-time one) with
        rank changes since yesterday, the day's best trade, badges not yet told; whether
        Discord took it."""
        now = self._clock.now()
        season = await current_season(self._pool)
        day = now.astimezone(KST).date().isoformat()
        if season is not None and season.status == "running":
            rows = await self._rankings.board("season", season, season.initial_cash_krw)
            title = f"📊 오늘의 랭킹 ({day}, {escape(season.name)})"
        else:
            rows = await self._rankings.board("all", None, self._initial_cash)
            title = f"📊 오늘의 랭킹 ({day})"
        lines = ranking_message(title, rows).split("\n")
        fills = await self._pool.fetch(query("notifier_day_fills"), now - timedelta(days=1), now)
        best = best_trade_line(fills, self._book, self._instruments)
        if best is not None:
            lines.append(best)
        lines += badge_lines(await self._pool.fetch(query("badge_unannounced")))
        return await self._deliver_all(lines)

    async def post_season(self, event: SeasonEvent) -> bool:
        """Post a season's start or end recap (the end's with the badges it brought)."""
        match event:
            case SeasonStarted(season=season):
                lines = season_start_message(season).split("\n")
            case SeasonEnded(season=season, standings=standings):
                await anyio.sleep(self._batch_seconds)  # the badge awarder has had its turn
                lines = season_end_message(season, standings).split("\n")
                lines += badge_lines(await self._pool.fetch(query("badge_unannounced")))
        return await self._deliver_all(lines)

    async def _deliver_all(self, lines: list[str]) -> bool:
        delivered = True
        for message in split_messages(lines):
            delivered = await self._deliver(message) and delivered
        return delivered

    async def _season_recaps(self, events: ObjectReceiveStream[SeasonEvent]) -> None:
        async for event in events:
            try:
                await self.post_season(event)
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
                log.error("notifier_season_recap_failed", error=repr(exc)[:200])

    # --- order lines ---

    async def _collect(self) -> None:
        async for event in self._orders:
            order = event.order
            if order.status not in ("FILLED", "FAILED"):
                continue
            if len(self._waiting) >= self._max_waiting:
                self._skipped += 1
            else:
                nickname = await self._nickname(order.user_id)
                line = order_line(order, nickname, self._instruments.get(order.ticker_id))
                if line is not None:
                    self._waiting.append(line)
            self._wake.set()
        self._inbox_ended = True
        self._wake.set()

    async def _nickname(self, user_id: UUID) -> str:
        cached = self._nicknames.get(user_id)
        if cached is not None:
            return cached
        try:
            nickname = await self._pool.fetchval(query("notifier_nickname"), user_id)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            log.warning("notifier_nickname_failed", user_id=str(user_id), error=repr(exc)[:200])
            return str(user_id)[:8]
        if nickname is None:
            return str(user_id)[:8]
        if len(self._nicknames) >= 10_000:
            self._nicknames.clear()
        self._nicknames[user_id] = nickname
        return nickname

    async def _send_batches(self) -> None:
        while True:
            await self._wake.wait()
            if not self._inbox_ended:
                await anyio.sleep(self._batch_seconds)  # let the batch fill
            lines, self._waiting = self._waiting, []
            skipped, self._skipped = self._skipped, 0
            self._wake = anyio.Event()
            if skipped:
                self.skipped += skipped
                lines.append(f"… 외 {skipped:,}건의 알림은 생략했습니다")
                log.warning("notifier_lines_skipped", skipped=skipped)
            for message in split_messages(lines):
                await self._deliver(message)
            if self._inbox_ended and not self._waiting and not self._skipped:
                return

    # --- the daily ranking ---

    async def _post_rankings(self) -> None:
        due = next_ranking_at(self._clock.now(), self._ranking_hour)
        while True:
            now = self._clock.now()
            if now < due:
                await anyio.sleep((due - now).total_seconds())
                continue
            try:
                await self.post_ranking()
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
                log.error("notifier_ranking_failed", error=repr(exc)[:200])
            due = next_ranking_at(self._clock.now(), self._ranking_hour)

    # --- the webhook ---

    @asynccontextmanager
    async def _client(self) -> AsyncIterator[httpx.AsyncClient]:
        if self._http is not None:
            yield self._http
            return
        redact = _RedactWebhook(self._url)
        httpx_log = logging.getLogger("httpx")
        httpx_log.addFilter(redact)
        try:
            async with httpx.AsyncClient(
                timeout=self._timeout, headers={"user-agent": "papertrade (notifier)"}
            ) as http:
                yield http
        finally:
            httpx_log.removeFilter(redact)

    async def _deliver(self, content: str) -> bool:
        """POST one message, obeying 429s and retrying 5xx and network errors a few times."""
        body = {"content": content, "allowed_mentions": {"parse": []}}
        backoff = Backoff(self._retry_delay, 30.0)
        failure = ""
        async with self._send_lock, self._client() as http:
            for attempt in range(1, self._max_attempts + 1):
                try:
                    response = await http.post(self._url, json=body)
                except httpx.HTTPError as exc:
                    failure = type(exc).__name__
                else:
                    status = response.status_code
                    if response.is_success:
                        self.sent += 1
                        log.info("notifier_sent", chars=len(content), attempts=attempt)
                        await self._obey_bucket(response)
                        return True
                    if status == 429:
                        wait = retry_after_seconds(response)
                        log.warning("notifier_rate_limited", retry_after=wait, attempt=attempt)
                        await anyio.sleep(wait)
                        failure = "HTTP 429"
                        continue
                    if status < 500:  # our message or the webhook is wrong: retrying won't help
                        self.dropped += 1
                        log.error(
                            "notifier_rejected", status=status, detail=response.text[:200],
                            chars=len(content),
                        )  # fmt: skip
                        return False
                    failure = f"HTTP {status}"
                if attempt < self._max_attempts:
                    delay = backoff.next_delay()
                    log.warning(
                        "notifier_retry", error=failure, attempt=attempt, retry_in=round(delay, 3)
                    )
                    await anyio.sleep(delay)
        self.dropped += 1
        log.error(
            "notifier_dropped", error=failure, attempts=self._max_attempts, chars=len(content)
        )
        return False

    async def _obey_bucket(self, response: httpx.Response) -> None:
        """Wait out an exhausted rate-limit bucket before the next request rather than get a 429."""
        if response.headers.get("x-ratelimit-remaining") != "0":
            return
        try:
            wait = float(response.headers.get("x-ratelimit-reset-after", "0"))  # ok-float: seconds
        except ValueError:
            return
        if math.isfinite(wait) and wait > 0:
            await anyio.sleep(min(wait, MAX_RETRY_AFTER))
