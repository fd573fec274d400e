"""The KIS feeder: KRX and US stock trades (H0STCNT0, HDFSCNT0) and order books (H0STASP0
10 levels, HDFSASP0 level 1 for the US) streamed over the KIS websocket, and REST quotes polled,
within the rate limit, for whatever the stream does not cover.

Given a database, it backfills chart prices on start, beside the live prices, one call every
`backfill_gap` seconds through the shared request budget: daily (domestic
inquire-daily-itemchartprice, overseas dailyprice: 100 days, for each instrument lacking
yesterday's bar) and 1-minute (domestic inquire-time-itemchartprice: today's session, 30 a call,
paged back to the newest stored minute; overseas inquire-time-itemchartprice: the latest 120).

The session's registrations are split between trades and books: books for the first
`book_subscriptions` instruments (half the limit by default: 20), trades for as many as the rest
of the limit allows (the same first 20, then more if books take fewer). Everything else is
polled over REST.
"""

from __future__ import annotations

import math
import time
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import anyio
import asyncpg
import msgspec
import structlog
import websockets
from anyio.abc import ObjectSendStream
from websockets.asyncio.client import ClientConnection

from daemon.candles import DayBar, latest_stored, minute_of, store_history
from daemon.clock import Clock
from daemon.engine.market import BookLevel
from daemon.feeds import Backoff, volume_delta, wire_decimal
from daemon.instruments import Instrument
from daemon.kis_client import (
    KST,
    TR_KRX_BOOK,
    TR_KRX_TRADES,
    TR_US_BOOK,
    TR_US_TRADES,
    Control,
    KisClient,
    KisError,
    KisFrameError,
    KisRateLimited,
    Realtime,
    kst_to_utc,
    parse_ws_message,
    subscribe_message,
    us_tr_key,
)
from daemon.messages import CandleBar, MarketData, OrderBook, Quote

log = structlog.get_logger(__name__)

MAX_SUBSCRIPTIONS = 40
_ZERO = Decimal(0)
# Field positions in the realtime records (KIS "실시간-003" and "실시간-007" layouts).
_KRX = dict(
    symbol=0, time=1, price=2, sign=3, diff=4, ask=10, bid=11, volume=12, cumulative=13, date=33
)
_US = dict(
    key=0,
    kst_date=6,
    kst_time=7,
    price=11,
    sign=12,
    diff=13,
    bid=15,
    ask=16,
    volume=19,
    cumulative=20,
)
# H0STASP0 (실시간-004): time, then 10 asks, 10 bids, their sizes (best first each).
_KRX_BOOK = dict(symbol=0, time=1, asks=3, bids=13, ask_sizes=23, bid_sizes=33)
# HDFSASP0 (실시간-021): Korean date and time, then per level bid, ask, their sizes, 2 changes.
_US_BOOK = dict(key=0, kst_date=5, kst_time=6, levels=11, width=6)
_BOOK_LEVELS = 10
_TRADES = (TR_KRX_TRADES, TR_US_TRADES)
_BOOKS = (TR_KRX_BOOK, TR_US_BOOK)
_NEW_YORK = ZoneInfo("America/New_York")
_BAD_RECORD = (KeyError, IndexError, ValueError, ArithmeticError)


class KisFeeder:
    """One websocket session (at most 40 subscriptions) plus a REST poller.

    Polled every `poll_interval`: the instruments without a trade subscription, those whose
    subscription was refused, and all of them while the websocket is down. A streamed instrument
    with neither a trade nor a book change for `quiet_after` seconds is polled every
    `quiet_poll_interval` (2 s each: well inside the 5 s after which a price is stale).
    A book also re-sends the instrument's last price with the new bid and ask, so a quiet stock
    whose book moves stays fresh without REST.
    """

    name = "kis"

    def __init__(
        self,
        client: KisClient,
        instruments: list[Instrument],
        out: ObjectSendStream[MarketData],
        clock: Clock,
        *,
        max_subscriptions: int = MAX_SUBSCRIPTIONS,
        book_subscriptions: int | None = None,
        poll_interval: float = 1.0,
        quiet_after: float = 2.0,
        quiet_poll_interval: float = 2.0,
        subscribe_gap: float = 0.05,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        open_timeout: float = 10.0,
        pool: asyncpg.Pool | None = None,
        backfill_gap: float = 0.5,
    ) -> None:
        self._client = client
        self._out = out
        self._clock = clock
        self._instruments = [i for i in instruments if i.market in ("KRX", "US")]
        self._keys: dict[tuple[str, str], Instrument] = {}
        trades, books = [], []
        for instrument in self._instruments:
            if instrument.market == "KRX":
                trade, book = TR_KRX_TRADES, TR_KRX_BOOK
                key = instrument.symbol
            else:
                trade, book = TR_US_TRADES, TR_US_BOOK
                key = us_tr_key(instrument.exchange, instrument.symbol)
            trades.append((trade, key))
            books.append((book, key))
            self._keys[(trade, key)] = self._keys[(book, key)] = instrument
        if book_subscriptions is None:
            book_subscriptions = max_subscriptions // 2
        books = books[: min(book_subscriptions, max_subscriptions)]
        self._wanted = trades[: max_subscriptions - len(books)] + books
        self._poll_interval = poll_interval
        self._quiet_after = quiet_after
        self._quiet_poll_interval = quiet_poll_interval
        self._subscribe_gap = subscribe_gap
        self._backoff = (backoff_initial, backoff_max)
        self._open_timeout = open_timeout
        self._pool = pool
        self._backfill_gap = backfill_gap
        self.backfilled = 0  # daily bars written
        self.backfill_finished = False
        self._streamed: set[str] = set()  # ticker ids whose trades the live session confirmed
        self._booked: set[str] = set()  # ticker ids whose books the live session confirmed
        # ticker id -> monotonic time of its last trade or book change on the stream
        self._last_tick: dict[str, float] = {}
        self._last_polled: dict[str, float] = {}  # ticker id -> monotonic time
        self._last_quote: dict[str, Quote] = {}
        self._cumulative: dict[str, tuple[str, Decimal]] = {}  # (exchange day, volume so far)
        self._last_poll_ok = -math.inf
        self._renew_approval = False
        self.ws_connected = False
        self.connected = False
        self.last_received: datetime | None = None
        self.quotes = 0
        self.books = 0
        self.skipped = 0
        self.polled = 0
        self.polls_overtaken = 0  # answers dropped: a stream trade or book came in meanwhile

    @property
    def streamed(self) -> frozenset[str]:
        """The ticker ids the live websocket session has confirmed."""
        return frozenset(self._streamed)

    @property
    def booked(self) -> frozenset[str]:
        """The ticker ids whose order books the live websocket session has confirmed."""
        return frozenset(self._booked)

    async def run(self) -> None:
        if not self._instruments:
            log.warning("kis_no_instruments", feed=self.name)
            return
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._stream)
            tg.start_soon(self._poll)
            if self._pool is not None:
                tg.start_soon(self._backfill, self._pool)

    # -- chart history ---------------------------------------------------------------------

    async def _backfill(self, pool: asyncpg.Pool) -> None:
        for instrument in self._instruments:
            try:
                await self._backfill_one(pool, instrument)
            except (KisError, asyncpg.PostgresError, OSError, *_BAD_RECORD) as exc:
                log.warning(
                    "kis_backfill_failed", feed=self.name, ticker=instrument.ticker_id,
                    error=str(exc)[:200],
                )  # fmt: skip
        self.backfill_finished = True
        log.info("kis_backfilled", feed=self.name, bars=self.backfilled)

    async def _backfill_one(self, pool: asyncpg.Pool, instrument: Instrument) -> None:
        now = self._clock.now()
        today = exchange_day(instrument.market, now)
        newest_minute, newest_day = await latest_stored(pool, instrument.ticker_id)
        if newest_day is None or (datetime.fromisoformat(today).date() - newest_day).days > 1:
            await anyio.sleep(self._backfill_gap)  # the polls share the request budget
            days = await self._daily_bars(instrument, today)
            await store_history(pool, [], [d for d in days if d.day.isoformat() < today])
            self.backfilled += len(days)
        live = minute_of(now)  # the live roller owns the forming minute
        since = newest_minute or live - timedelta(days=1)
        if since >= live - timedelta(minutes=1):
            return  # up to date: a restart asks nothing
        if instrument.market == "KRX":
            minutes = await self._domestic_minutes(instrument, since, live)
        else:
            await anyio.sleep(self._backfill_gap)
            rows = await self._client.overseas_minutes(instrument.exchange, instrument.symbol)
            minutes = [_us_minute(instrument.ticker_id, row) for row in rows if row.get("khms")]
        keep = [bar for bar in minutes if since < bar.time < live]
        await store_history(pool, keep, [])
        self.backfilled += len(keep)

    async def _domestic_minutes(
        self, instrument: Instrument, since: datetime, live: datetime
    ) -> list[CandleBar]:
        """Today's minutes back to `since`, 30 a call, newest first."""
        bars: list[CandleBar] = []
        until = live.astimezone(KST)
        for _ in range(14):  # a whole session is 13 pages
            await anyio.sleep(self._backfill_gap)
            rows = await self._client.domestic_minutes(instrument.symbol, until.strftime("%H%M%S"))
            page = [_krx_minute(instrument.ticker_id, r) for r in rows if r.get("stck_cntg_hour")]
            bars += page
            if len(page) < 30 or min(b.time for b in page) <= since:
                break
            until = min(b.time for b in page).astimezone(KST) - timedelta(minutes=1)
        return bars

    async def _daily_bars(self, instrument: Instrument, today: str) -> list[DayBar]:
        ticker = instrument.ticker_id
        if instrument.market == "KRX":
            end = today.replace("-", "")
            start = (datetime.fromisoformat(today) - timedelta(days=150)).strftime("%Y%m%d")
            rows = await self._client.domestic_daily(instrument.symbol, start, end)
            fields = ("stck_bsop_date", "stck_oprc", "stck_hgpr", "stck_lwpr", "stck_clpr",
                      "acml_vol")  # fmt: skip
        else:
            rows = await self._client.overseas_daily(instrument.exchange, instrument.symbol)
            fields = ("xymd", "open", "high", "low", "clos", "tvol")
        bars = []
        for row in rows:
            day, open_, high, low, close, volume = (str(row.get(f) or "").strip() for f in fields)
            if not day:
                continue  # KIS pads the list with empty rows
            bars.append(
                DayBar(
                    ticker_id=ticker,
                    day=datetime.strptime(day, "%Y%m%d").date(),
                    open=wire_decimal(open_),
                    high=wire_decimal(high),
                    low=wire_decimal(low),
                    close=wire_decimal(close),
                    volume=wire_decimal(volume or "0"),
                )
            )
        return bars

    # -- websocket -------------------------------------------------------------------------

    async def _stream(self) -> None:
        backoff = Backoff(*self._backoff)
        failing = False
        while True:
            try:
                approval = await self._client.approval_key(renew=self._renew_approval)
                self._renew_approval = False
                async with websockets.connect(
                    self._client.websocket_url, open_timeout=self._open_timeout, max_size=2**20
                ) as ws:
                    self.ws_connected = True
                    log.info("kis_ws_connected", feed=self.name, subscriptions=len(self._wanted))
                    # Answers arrive meanwhile; the connection queues them until we read.
                    await self._subscribe(ws, approval)
                    confirmed = False
                    async for raw in ws:
                        text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
                        await self._on_message(ws, text)
                        if self._streamed and not confirmed:  # a working session: start over
                            confirmed = True
                            backoff.reset()
                            failing = False
                log.warning("kis_ws_closed", feed=self.name)
            except (OSError, TimeoutError, websockets.WebSocketException, KisError) as exc:
                delay = round(backoff.next_delay(), 2)
                # One warning per outage; the retries in between are only worth a debug line.
                report = log.warning if self.ws_connected or not failing else log.debug
                report("kis_ws_down", feed=self.name, error=str(exc)[:200], retry_in=delay)
                failing = True
            else:
                delay = backoff.next_delay()
            finally:
                self.ws_connected = False
                self._streamed.clear()
                self._booked.clear()
                self._update_connected()
            await anyio.sleep(delay)

    async def _subscribe(self, ws: ClientConnection, approval: str) -> None:
        for tr_id, tr_key in self._wanted:
            await ws.send(subscribe_message(approval, tr_id, tr_key))
            if self._subscribe_gap:
                await anyio.sleep(self._subscribe_gap)

    async def _on_message(self, ws: ClientConnection, text: str) -> None:
        try:
            message = parse_ws_message(text)
        except KisFrameError as exc:
            self.skipped += 1
            log.warning("kis_message_skipped", feed=self.name, error=str(exc))
            return
        if isinstance(message, Control):
            await self._on_control(ws, message, text)
        else:
            await self._on_realtime(message)

    async def _on_control(self, ws: ClientConnection, message: Control, text: str) -> None:
        if message.is_pingpong:
            # The official samples answer with a pong frame carrying the message; many clients
            # echo it as text. Doing both keeps every KIS server generation happy.
            await ws.send(text)
            await ws.pong(text)
            return
        instrument = self._keys.get((message.tr_id, message.tr_key or ""))
        answer = (message.msg or "").upper()
        confirmed = self._booked if message.tr_id in _BOOKS else self._streamed
        if (message.ok and answer.startswith("SUBSCRIBE")) or "ALREADY IN SUBSCRIBE" in answer:
            if instrument is not None:
                confirmed.add(instrument.ticker_id)
                self._update_connected()
            return
        if message.ok:
            return  # UNSUBSCRIBE SUCCESS and the like
        log.warning(
            "kis_subscription_refused",
            feed=self.name,
            tr_id=message.tr_id,
            tr_key=message.tr_key,
            code=message.msg_cd,
            reason=message.msg,
            ticker=instrument.ticker_id if instrument else None,
        )
        if instrument is not None:
            confirmed.discard(instrument.ticker_id)
        if "APPROVAL" in answer:
            self._renew_approval = True
            await ws.close()

    async def _on_realtime(self, frame: Realtime) -> None:
        if frame.encrypted or frame.tr_id not in _TRADES + _BOOKS:
            return  # account notices (encrypted) and other feeds are not ours
        for record in frame.records:
            try:
                if frame.tr_id in _BOOKS:
                    await self._on_book_record(frame.tr_id, record)
                    continue
                quote = self._record_quote(frame.tr_id, record)
            except _BAD_RECORD as exc:
                self.skipped += 1
                log.warning(
                    "kis_record_skipped",
                    feed=self.name,
                    tr_id=frame.tr_id,
                    error=repr(exc),
                    record="^".join(record)[:120],
                )
                continue
            if quote is not None:
                self._last_tick[quote.ticker_id] = time.monotonic()
                await self._emit(quote)

    async def _on_book_record(self, tr_id: str, record: list[str]) -> None:
        book = self._record_book(tr_id, record)
        if book is None:
            return
        self.books += 1
        self.last_received = book.received_at
        self._last_tick[book.ticker_id] = time.monotonic()
        await self._out.send(book)
        last = self._last_quote.get(book.ticker_id)
        if last is not None and book.bids and book.asks:
            await self._emit(
                msgspec.structs.replace(
                    last,
                    bid=book.bids[0].price,
                    ask=book.asks[0].price,
                    ts=book.ts,
                    received_at=book.received_at,
                    volume=_ZERO,
                )
            )

    def _record_book(self, tr_id: str, record: list[str]) -> OrderBook | None:
        if tr_id == TR_KRX_BOOK:
            f = _KRX_BOOK
            instrument = self._keys.get((tr_id, record[f["symbol"]]))
            if instrument is None:
                return None
            today = self._clock.now().astimezone(KST).strftime("%Y%m%d")  # the record has no date
            ts = kst_to_utc(today, record[f["time"]])
            asks = _levels(record, f["asks"], f["ask_sizes"], 1)
            bids = _levels(record, f["bids"], f["bid_sizes"], 1)
        else:
            f = _US_BOOK
            instrument = self._keys.get((tr_id, record[f["key"]]))
            if instrument is None:
                return None
            ts = kst_to_utc(record[f["kst_date"]], record[f["kst_time"]])
            first, width = f["levels"], f["width"]
            # per level: bid, ask, bid size, ask size
            bids = _levels(record, first, first + 2, width)
            asks = _levels(record, first + 1, first + 3, width)
        return OrderBook(
            ticker_id=instrument.ticker_id,
            bids=bids,
            asks=asks,
            ts=ts,
            received_at=self._clock.now(),
            source=self.name,
        )

    def _record_quote(self, tr_id: str, record: list[str]) -> Quote | None:
        if tr_id == TR_KRX_TRADES:
            f = _KRX
            instrument = self._keys.get((tr_id, record[f["symbol"]]))
            if instrument is None:
                return None
            ts = kst_to_utc(record[f["date"]], record[f["time"]])
        else:
            f = _US
            instrument = self._keys.get((tr_id, record[f["key"]]))
            if instrument is None:
                return None
            ts = kst_to_utc(record[f["kst_date"]], record[f["kst_time"]])
        price = wire_decimal(record[f["price"]])
        if price <= 0:
            raise ValueError(f"non-positive price {price}")
        cumulative = wire_decimal(record[f["cumulative"]])
        ticker = instrument.ticker_id
        # The trade's own volume is what counts; the day's figure only guards the polls.
        day = exchange_day(instrument.market, ts)
        _, self._cumulative[ticker] = volume_delta(self._cumulative.get(ticker), day, cumulative)
        return Quote(
            ticker_id=instrument.ticker_id,
            price=price,
            bid=_positive_or_none(record[f["bid"]]),
            ask=_positive_or_none(record[f["ask"]]),
            currency=instrument.currency,
            ts=ts,
            received_at=self._clock.now(),
            source=self.name,
            volume=wire_decimal(record[f["volume"]]),
            prev_close=previous_close(price, record[f["sign"]], record[f["diff"]]),
        )

    # -- REST polling ----------------------------------------------------------------------

    async def _poll(self) -> None:
        while True:
            now = time.monotonic()
            due = sorted(
                (i for i in self._instruments if self._poll_due(i.ticker_id, now)),
                key=lambda i: self._last_polled.get(i.ticker_id, -math.inf),
            )
            if not due:
                await anyio.sleep(min(0.1, self._poll_interval))
                continue
            for instrument in due:
                ticker = instrument.ticker_id
                self._last_polled[ticker] = time.monotonic()
                try:
                    quote = await self._poll_one(instrument)
                except KisRateLimited as exc:
                    log.warning("kis_poll_rate_limited", feed=self.name, error=str(exc))
                    break
                except KisError as exc:
                    log.warning("kis_poll_failed", feed=self.name, ticker=ticker, error=str(exc))
                    continue
                except _BAD_RECORD as exc:
                    self.skipped += 1
                    log.warning(
                        "kis_poll_malformed", feed=self.name, ticker=ticker, error=repr(exc)
                    )
                    continue
                self._last_poll_ok = time.monotonic()
                self._update_connected()
                if self._last_tick.get(ticker, -math.inf) > self._last_polled[ticker]:
                    self.polls_overtaken += 1  # the stream spoke meanwhile: its price is newer
                    continue
                if quote is not None:
                    self.polled += 1
                    await self._emit(quote)

    def _poll_due(self, ticker: str, now: float) -> bool:
        """Uncovered instruments every `poll_interval`; streamed but quiet ones less often."""
        since_poll = now - self._last_polled.get(ticker, -math.inf)
        if ticker not in self._streamed:
            return since_poll >= self._poll_interval
        quiet = now - self._last_tick.get(ticker, -math.inf) > self._quiet_after
        return quiet and since_poll >= self._quiet_poll_interval

    async def _poll_one(self, instrument: Instrument) -> Quote | None:
        if instrument.market == "KRX":
            output = await self._client.domestic_price(instrument.symbol)
            price_text, cumulative_text = output["stck_prpr"], output.get("acml_vol")
            previous_text = output.get("stck_sdpr")  # 기준가: the previous close
        else:
            output = await self._client.overseas_price(instrument.exchange, instrument.symbol)
            price_text, cumulative_text = output["last"], output.get("tvol")
            previous_text = output.get("base")  # 전일종가
        if not str(price_text).strip():
            return None  # no trade to report (an unknown or suspended symbol)
        price = wire_decimal(price_text)
        if price <= 0:
            return None
        now = self._clock.now()
        day = exchange_day(instrument.market, now)
        return Quote(
            ticker_id=instrument.ticker_id,
            price=price,
            currency=instrument.currency,
            ts=now,  # the quotation answers carry no trade time
            received_at=now,
            source=self.name,
            volume=self._volume_since_last(instrument.ticker_id, day, cumulative_text),
            prev_close=_positive_or_none(str(previous_text or "")),
        )

    def _volume_since_last(self, ticker: str, day: str, cumulative_text: object) -> Decimal:
        if cumulative_text in (None, ""):
            return _ZERO
        cumulative = wire_decimal(cumulative_text)
        delta, self._cumulative[ticker] = volume_delta(
            self._cumulative.get(ticker), day, cumulative
        )
        return delta

    # -- shared ----------------------------------------------------------------------------

    async def _emit(self, quote: Quote) -> None:
        self._last_quote[quote.ticker_id] = quote
        self.quotes += 1
        self.last_received = quote.received_at
        await self._out.send(quote)

    def _update_connected(self) -> None:
        recent_poll = time.monotonic() - self._last_poll_ok < max(5.0, 3 * self._poll_interval)
        self.connected = (self.ws_connected and bool(self._streamed)) or recent_poll


def _krx_minute(ticker: str, row: dict) -> CandleBar:
    return CandleBar(
        ticker_id=ticker,
        time=kst_to_utc(row["stck_bsop_date"], row["stck_cntg_hour"][:4] + "00"),
        open=wire_decimal(row["stck_oprc"]),
        high=wire_decimal(row["stck_hgpr"]),
        low=wire_decimal(row["stck_lwpr"]),
        close=wire_decimal(row["stck_prpr"]),
        volume=wire_decimal(row["cntg_vol"] or "0"),
    )


def _us_minute(ticker: str, row: dict) -> CandleBar:
    return CandleBar(
        ticker_id=ticker,
        time=kst_to_utc(row["kymd"], row["khms"][:4] + "00"),
        open=wire_decimal(row["open"]),
        high=wire_decimal(row["high"]),
        low=wire_decimal(row["low"]),
        close=wire_decimal(row["last"]),
        volume=wire_decimal(row["evol"] or "0"),
    )


def exchange_day(market: str, ts: datetime) -> str:
    """The trading day `ts` falls in: the Korean date for KRX, New York's for the US."""
    return ts.astimezone(KST if market == "KRX" else _NEW_YORK).date().isoformat()


def _levels(record: list[str], prices: int, sizes: int, step: int) -> tuple[BookLevel, ...]:
    """The book side whose n-th price is at `prices + n * step` and size at `sizes + n * step`,
    best first; levels KIS leaves empty ("0" or blank) are left out."""
    levels = []
    for n in range(_BOOK_LEVELS):
        at_price, at_size = prices + n * step, sizes + n * step
        if at_size >= len(record):
            break
        price_text, size_text = record[at_price].strip(), record[at_size].strip()
        if not price_text or not size_text:
            continue
        price, size = wire_decimal(price_text), wire_decimal(size_text)
        if price > 0 and size > 0:
            levels.append(BookLevel(price, size))
    return tuple(levels)


def previous_close(price: Decimal, sign: str, diff: str) -> Decimal | None:
    """The previous close from a KIS change: sign 1/2 up, 3 unchanged, 4/5 down (diff may or
    may not carry its own minus sign, so only its size is used)."""
    if sign == "3":
        return price
    if sign not in ("1", "2", "4", "5") or not diff.strip():
        return None
    change = abs(wire_decimal(diff))
    return price - change if sign in ("1", "2") else price + change


def _positive_or_none(text: str) -> Decimal | None:
    if not text.strip():
        return None
    value = wire_decimal(text)
    return value if value > 0 else None
