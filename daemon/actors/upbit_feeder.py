"""The Upbit feeder: KRW-market crypto quotes and 15-level order books through ccxt, streamed
over ccxt's websocket client. Each market the stream has left quiet for `stream_grace` (one
coin, or all of them while the stream is down) is polled over REST once a second.
BTC/KRW (Upbit KRW-BTC) is CRYPTO-COIN-BTC.

Given a database, it backfills the chart on start, beside the live stream: 1-minute candles of
the last day (from the newest stored bar on, so a restart fetches only what it missed) and 200
daily candles per market, one request per `backfill_gap` seconds (Upbit allows 10 a second
for quotation calls, shared with the polls).
"""

from __future__ import annotations

import functools
import json
import math
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import anyio
import asyncpg
import ccxt.pro
import structlog
from anyio.abc import ObjectSendStream

from daemon.candles import DayBar, latest_stored, minute_of, store_history
from daemon.clock import Clock
from daemon.engine.market import BookLevel
from daemon.feeds import Backoff, volume_delta, wire_decimal
from daemon.instruments import Instrument
from daemon.messages import CandleBar, MarketData, OrderBook, Quote

log = structlog.get_logger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Errors a source can throw at us that mean "this message or request was bad", not "we are broken".
_MALFORMED = (KeyError, TypeError, ValueError, ArithmeticError, AttributeError, IndexError)
CANDLES_PER_REQUEST = 200  # Upbit's most
BOOK_LEVELS = 15  # what we keep (Upbit's REST book may carry 30 units)


def _exact_json(text: str) -> Any:
    """JSON with every non-integer number kept as its text, so prices never pass through a float."""
    return json.loads(text, parse_float=str)


class _ExactUpbit(ccxt.pro.upbit):  # type: ignore[misc,name-defined]
    """ccxt's Upbit, decoding JSON numbers exactly and keeping the raw levels of each order book
    (ccxt's own book holds floats).

    A message ccxt cannot handle is logged and skipped: left alone, an exception there would
    silently end ccxt's receive loop and the stream would go quiet.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.raw_books: dict[str, dict[str, Any]] = {}  # KRW-BTC -> the book message as sent

    def on_json_response(self, http_response: str) -> Any:
        return _exact_json(http_response)

    def client(self, url: str) -> Any:
        client = super().client(url)
        if not getattr(client, "_papertrade_exact", False):
            client.handle_text_or_binary_message = functools.partial(_on_ws_data, client)
            client._papertrade_exact = True
        return client

    def handle_order_book(self, client: Any, message: dict[str, Any]) -> None:
        if not _has_units(message):
            raise ValueError("an order book without a list of units")  # skipped and logged
        self.raw_books[message.get("code")] = message
        if self.safe_symbol(message.get("code"), None, "-") not in self.orderbooks:
            message = {**message, "stream_type": "SNAPSHOT"}  # ccxt starts a book only from one
        super().handle_order_book(client, message)


def _has_units(message: dict[str, Any]) -> bool:
    units = message.get("orderbook_units")
    return isinstance(units, list) and bool(units) and all(isinstance(u, dict) for u in units)


def _on_ws_data(client: Any, data: str | bytes) -> None:
    try:
        if isinstance(data, bytes):
            data = data.decode()
        stripped = data.lstrip()
        decoded = _exact_json(data) if stripped[:1] in ("{", "[") else data
        client.on_message_callback(client, decoded)
    except _MALFORMED as exc:
        log.warning("upbit_message_skipped", feed="upbit", error=repr(exc), message=str(data)[:200])


class UpbitFeeder:
    name = "upbit"

    def __init__(
        self,
        instruments: list[Instrument],
        out: ObjectSendStream[MarketData],
        clock: Clock,
        *,
        api_url: str | None = None,
        ws_url: str | None = None,
        poll_interval: float = 1.0,
        stream_grace: float = 3.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        timeout: float = 10.0,
        pool: asyncpg.Pool | None = None,
        backfill_minutes: timedelta = timedelta(days=1),
        backfill_days: int = CANDLES_PER_REQUEST,
        backfill_gap: float = 0.25,
    ) -> None:
        self._instruments = {f"KRW-{i.symbol}": i for i in instruments if i.market == "CRYPTO"}
        self._out = out
        self._clock = clock
        self._api_url = api_url
        self._ws_url = ws_url
        self._poll_interval = poll_interval
        self._stream_grace = stream_grace
        self._backoff = (backoff_initial, backoff_max)
        self._timeout = timeout
        self._pool = pool
        self._backfill_minutes = backfill_minutes
        self._backfill_days = backfill_days
        self._backfill_gap = backfill_gap
        self.backfill_requests = 0
        self.backfilled = 0  # bars written
        self.backfill_finished = False
        self._last_streamed: dict[str, float] = {}  # market -> monotonic time of its last message
        self._last_polled = -math.inf
        self._acc_volume: dict[str, tuple[str, Decimal]] = {}  # market -> (UTC day, volume)
        self.connected = False
        self.streaming = False
        self.last_received: datetime | None = None
        self.quotes = 0
        self.books = 0
        self.polled = 0  # markets polled over REST
        self.skipped = 0

    def _exchange(self) -> _ExactUpbit:
        exchange = _ExactUpbit({"enableRateLimit": True, "timeout": int(self._timeout * 1000)})
        if self._api_url:
            base = self._api_url.rstrip("/")
            exchange.urls["api"]["public"] = base
            exchange.urls["api"]["private"] = base
        if self._ws_url:
            exchange.urls["api"]["ws"] = self._ws_url
        return exchange

    async def run(self) -> None:
        if not self._instruments:
            log.warning("upbit_no_instruments", feed=self.name)
            return
        exchange = self._exchange()
        try:
            symbols = await self._load_symbols(exchange)
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._stream, exchange, symbols, "ticker")
                tg.start_soon(self._stream, exchange, symbols, "orderbook")
                tg.start_soon(self._poll, exchange, symbols)
                if self._pool is not None:
                    tg.start_soon(self._backfill, exchange, self._pool, symbols)
        finally:
            self.connected = self.streaming = False
            with anyio.move_on_after(5, shield=True):
                await exchange.close()

    async def _load_symbols(self, exchange: _ExactUpbit) -> list[str]:
        backoff = Backoff(*self._backoff)
        while True:
            try:
                await exchange.load_markets(reload=True)
                break
            except ccxt.BaseError as exc:
                delay = round(backoff.next_delay(), 2)
                log.warning("upbit_markets_failed", feed=self.name, error=repr(exc), retry_in=delay)
                await anyio.sleep(delay)
        symbols = []
        for market_id, instrument in self._instruments.items():
            market = exchange.markets_by_id.get(market_id)
            if market:
                symbols.append(market[0]["symbol"])
            else:
                log.warning("upbit_unlisted", feed=self.name, ticker=instrument.ticker_id)
        return symbols

    async def _stream(self, exchange: _ExactUpbit, symbols: list[str], channel: str) -> None:
        backoff = Backoff(*self._backoff)
        failing = False  # log an outage once, not every retry
        while True:
            try:
                if channel == "ticker":
                    updated = await exchange.watch_tickers(symbols)
                    markets = [exchange.market(symbol)["id"] for symbol in updated]
                else:
                    book = await exchange.watch_public_multiple(symbols, "orderbook")
                    markets = [exchange.market(book["symbol"])["id"]]
            except ccxt.BaseError as exc:
                delay = backoff.next_delay()
                if self.streaming or not failing:
                    log.warning(
                        "upbit_stream_down",
                        feed=self.name,
                        channel=channel,
                        error=repr(exc),
                        retry_in=round(delay, 2),
                    )
                failing = True
                self.streaming = False
                self.connected = time.monotonic() - self._last_polled < 2 * self._poll_interval + 1
                await anyio.sleep(delay)
                continue
            failing = False
            backoff.reset()
            if not self.streaming:
                log.info("upbit_stream_up", feed=self.name, markets=len(symbols))
            self.streaming = self.connected = True
            for market in markets:
                self._last_streamed[market] = time.monotonic()
                if channel == "orderbook":
                    await self._emit_book(market, exchange.raw_books.get(market))
                # Read the newest state: several messages may have landed since the last await.
                ticker = exchange.tickers.get(exchange.markets_by_id[market][0]["symbol"])
                if ticker is not None:
                    await self._emit(market, ticker["info"], exchange, channel == "ticker")

    async def _poll(self, exchange: _ExactUpbit, symbols: list[str]) -> None:
        """Once a second, poll the REST API for the markets the stream left quiet for
        `stream_grace` (every market while the stream is down; one quiet coin while others
        stream), so no price goes stale only because its coin is quiet."""
        ids = {exchange.market(symbol)["id"]: symbol for symbol in symbols}
        while True:
            now = time.monotonic()
            quiet = [
                market
                for market in ids
                if now - self._last_streamed.get(market, -math.inf) > self._stream_grace
            ]
            if quiet:
                await self._poll_markets(exchange, quiet, [ids[market] for market in quiet])
            await anyio.sleep(self._poll_interval)

    async def _poll_markets(
        self, exchange: _ExactUpbit, markets: list[str], symbols: list[str]
    ) -> None:
        try:
            books = await exchange.publicGetOrderbook({"markets": ",".join(markets)})
            for book in books:
                if _has_units(book):
                    exchange.raw_books[book["market"]] = book
            tickers = await exchange.fetch_tickers(symbols)
        except ccxt.BaseError as exc:
            log.warning("upbit_poll_failed", feed=self.name, error=repr(exc))
            self.connected = self.streaming
            return
        except _MALFORMED as exc:
            log.warning("upbit_poll_malformed", feed=self.name, error=repr(exc))
            return
        self._last_polled = time.monotonic()
        self.connected = True
        self.polled += len(markets)
        for market in markets:
            await self._emit_book(market, exchange.raw_books.get(market))
        for ticker in tickers.values():
            info = ticker["info"]
            await self._emit(info.get("market"), info, exchange, True)

    async def _backfill(
        self, exchange: _ExactUpbit, pool: asyncpg.Pool, symbols: list[str]
    ) -> None:
        """Fetch what the chart is missing; a failure leaves the rest for the next start."""
        for symbol in symbols:
            market = exchange.market(symbol)["id"]
            instrument = self._instruments[market]
            try:
                await self._backfill_market(exchange, pool, market, instrument.ticker_id)
            except (ccxt.BaseError, OSError, asyncpg.PostgresError, *_MALFORMED) as exc:
                log.warning(
                    "upbit_backfill_failed",
                    feed=self.name,
                    ticker=instrument.ticker_id,
                    error=repr(exc)[:200],
                )
        self.backfill_finished = True
        log.info("upbit_backfilled", feed=self.name, bars=self.backfilled)

    async def _backfill_market(
        self, exchange: _ExactUpbit, pool: asyncpg.Pool, market: str, ticker: str
    ) -> None:
        now = self._clock.now()
        newest_minute, newest_day = await latest_stored(pool, ticker)
        since = now - self._backfill_minutes
        if newest_minute is not None:
            since = max(since, newest_minute)
        live = minute_of(now)  # the live roller owns the forming minute
        to: datetime | None = None
        while True:
            params: dict[str, Any] = {"market": market, "count": CANDLES_PER_REQUEST}
            if to is not None:
                params["to"] = to.strftime("%Y-%m-%dT%H:%M:%SZ")
            rows = await self._candle_request(exchange.publicGetCandlesMinutes1, params)
            bars = [_minute_bar(ticker, row) for row in rows]
            keep = [bar for bar in bars if since <= bar.time < live]
            await store_history(pool, keep, [])
            self.backfilled += len(keep)
            if len(rows) < CANDLES_PER_REQUEST or not bars or min(b.time for b in bars) <= since:
                break
            to = min(bar.time for bar in bars)
        count = self._backfill_days
        if newest_day is not None:  # resume: the days since, and the newest again (it moved)
            count = max(1, min(count, (now.date() - newest_day).days + 1))
        rows = await self._candle_request(
            exchange.publicGetCandlesDays, {"market": market, "count": count}
        )
        days = [_day_bar(ticker, row) for row in rows]
        await store_history(pool, [], [d for d in days if d.day < now.date()])
        self.backfilled += len(days)

    async def _candle_request(self, call: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
        await anyio.sleep(self._backfill_gap)  # paced well under the limit the polls share
        self.backfill_requests += 1
        rows = await call(params)
        if not isinstance(rows, list):
            raise ValueError(f"candles: expected a list, got {str(rows)[:100]}")
        return rows

    async def _emit_book(self, market: str, message: dict[str, Any] | None) -> None:
        instrument = self._instruments.get(market)
        if instrument is None or message is None:
            return
        try:
            book = self._book(instrument, message)
        except _MALFORMED as exc:
            self.skipped += 1
            log.warning(
                "upbit_book_skipped", feed=self.name, ticker=instrument.ticker_id, error=repr(exc)
            )
            return
        self.books += 1
        self.last_received = book.received_at
        await self._out.send(book)

    def _book(self, instrument: Instrument, message: dict[str, Any]) -> OrderBook:
        """Upbit's `orderbook_units` (best first, a bid and an ask per unit) as an OrderBook."""
        bids, asks = [], []
        for unit in message["orderbook_units"][:BOOK_LEVELS]:
            for side, price_key, size_key in ((bids, "bid_price", "bid_size"),
                                              (asks, "ask_price", "ask_size")):  # fmt: skip
                price, size = wire_decimal(unit[price_key]), wire_decimal(unit[size_key])
                if price > 0 and size > 0:
                    side.append(BookLevel(price, size))
        return OrderBook(
            ticker_id=instrument.ticker_id,
            bids=tuple(bids),
            asks=tuple(asks),
            ts=_EPOCH + timedelta(milliseconds=int(message["timestamp"])),
            received_at=self._clock.now(),
            source=self.name,
        )

    async def _emit(
        self, market: str | None, info: dict[str, Any], exchange: _ExactUpbit, traded: bool
    ) -> None:
        instrument = self._instruments.get(market or "")
        if instrument is None:
            return
        try:
            quote = self._quote(instrument, market, info, exchange.raw_books.get(market), traded)
        except _MALFORMED as exc:
            self.skipped += 1
            log.warning(
                "upbit_ticker_skipped", feed=self.name, ticker=instrument.ticker_id, error=repr(exc)
            )
            return
        self.last_received = quote.received_at
        self.quotes += 1
        await self._out.send(quote)

    def _quote(
        self,
        instrument: Instrument,
        market: str,
        info: dict[str, Any],
        book: dict[str, Any] | None,
        traded: bool,
    ) -> Quote:
        price = wire_decimal(info["trade_price"])
        if price <= 0:
            raise ValueError(f"non-positive price {price}")
        # The snapshot's own time (`timestamp`), not the last trade's: a quiet coin's quote
        # is current as of the message, and staleness is judged by it. A book update re-sends
        # the price as of the book's time.
        stamp = int(info.get("timestamp") or info["trade_timestamp"])
        bid = ask = None
        if book is not None:
            best = book["orderbook_units"][0]
            bid, ask = wire_decimal(best["bid_price"]), wire_decimal(best["ask_price"])
            if not traded:
                stamp = max(stamp, int(book.get("timestamp") or 0))
        ts = _EPOCH + timedelta(milliseconds=stamp)
        previous = info.get("prev_closing_price")
        prev_close = None if previous is None else wire_decimal(previous)
        # Last: a quote skipped as malformed must not have used up the volume it saw.
        volume = self._volume_delta(market, info) if traded else Decimal(0)
        return Quote(
            ticker_id=instrument.ticker_id,
            price=price,
            bid=bid,
            ask=ask,
            currency=instrument.currency,
            ts=ts,
            received_at=self._clock.now(),
            source=self.name,
            volume=volume,
            prev_close=prev_close,
        )

    def _volume_delta(self, market: str, info: dict[str, Any]) -> Decimal:
        """Volume traded since the last observation, from the UTC-day cumulative volume.

        Counting the cumulative figure's growth (not each message's trade volume) means a
        polled ticker seen twice, or a burst of stream messages read once, is counted exactly.
        """
        day = str(info.get("trade_date", ""))
        cumulative = wire_decimal(info["acc_trade_volume"])
        delta, self._acc_volume[market] = volume_delta(
            self._acc_volume.get(market), day, cumulative
        )
        return delta


def _utc(text: str) -> datetime:
    """Upbit's candle_date_time_utc ("2025-12-01T00:00:00", no zone) as a UTC instant."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _minute_bar(ticker: str, row: dict[str, Any]) -> CandleBar:
    return CandleBar(
        ticker_id=ticker,
        time=_utc(row["candle_date_time_utc"]),
        open=wire_decimal(row["opening_price"]),
        high=wire_decimal(row["high_price"]),
        low=wire_decimal(row["low_price"]),
        close=wire_decimal(row["trade_price"]),
        volume=wire_decimal(row["candle_acc_trade_volume"]),
    )


def _day_bar(ticker: str, row: dict[str, Any]) -> DayBar:
    """Upbit's days start at 00:00 UTC (09:00 KST), which is our crypto day too."""
    return DayBar(
        ticker_id=ticker,
        day=_utc(row["candle_date_time_utc"]).date(),
        open=wire_decimal(row["opening_price"]),
        high=wire_decimal(row["high_price"]),
        low=wire_decimal(row["low_price"]),
        close=wire_decimal(row["trade_price"]),
        volume=wire_decimal(row["candle_acc_trade_volume"]),
    )
