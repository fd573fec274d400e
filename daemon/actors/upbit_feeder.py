"""The Upbit feeder: KRW-market crypto quotes through ccxt, streamed over ccxt's websocket client,
with 1 s REST polling while the stream is down. BTC/KRW (Upbit KRW-BTC) is CRYPTO-COIN-BTC.
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
import ccxt.pro
import structlog
from anyio.abc import ObjectSendStream

from daemon.clock import Clock
from daemon.feeds import Backoff, wire_decimal
from daemon.instruments import Instrument
from daemon.messages import MarketData, Quote

log = structlog.get_logger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Errors a source can throw at us that mean "this message or request was bad", not "we are broken".
_MALFORMED = (KeyError, TypeError, ValueError, ArithmeticError, AttributeError, IndexError)


def _exact_json(text: str) -> Any:
    """JSON with every non-integer number kept as its text, so prices never pass through a float."""
    return json.loads(text, parse_float=str)


class _ExactUpbit(ccxt.pro.upbit):  # type: ignore[misc,name-defined]
    """ccxt's Upbit, decoding JSON numbers exactly and keeping the raw top of each order book.

    A message ccxt cannot handle is logged and skipped: left alone, an exception there would
    silently end ccxt's receive loop and the stream would go quiet.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.top_of_book: dict[str, tuple[Any, Any]] = {}  # KRW-BTC -> (bid, ask) wire values

    def on_json_response(self, http_response: str) -> Any:
        return _exact_json(http_response)

    def client(self, url: str) -> Any:
        client = super().client(url)
        if not getattr(client, "_papertrade_exact", False):
            client.handle_text_or_binary_message = functools.partial(_on_ws_data, client)
            client._papertrade_exact = True
        return client

    def handle_order_book(self, client: Any, message: dict[str, Any]) -> None:
        units = message.get("orderbook_units") or []
        if units:
            best = units[0]
            self.top_of_book[message.get("code")] = (best.get("bid_price"), best.get("ask_price"))
        if self.safe_symbol(message.get("code"), None, "-") not in self.orderbooks:
            message = {**message, "stream_type": "SNAPSHOT"}  # ccxt starts a book only from one
        super().handle_order_book(client, message)


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
        self._last_streamed = -math.inf  # monotonic
        self._last_polled = -math.inf
        self._acc_volume: dict[str, tuple[str, Decimal]] = {}  # market -> (UTC day, volume)
        self.connected = False
        self.streaming = False
        self.last_received: datetime | None = None
        self.quotes = 0
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
            self._last_streamed = time.monotonic()
            if not self.streaming:
                log.info("upbit_stream_up", feed=self.name, markets=len(symbols))
            self.streaming = self.connected = True
            for market in markets:
                # Read the newest state: several messages may have landed since the last await.
                ticker = exchange.tickers.get(exchange.markets_by_id[market][0]["symbol"])
                if ticker is not None:
                    await self._emit(market, ticker["info"], exchange, channel == "ticker")

    async def _poll(self, exchange: _ExactUpbit, symbols: list[str]) -> None:
        """Poll the REST API once a second while the stream has been quiet for `stream_grace`."""
        ids = ",".join(exchange.market(symbol)["id"] for symbol in symbols)
        while True:
            if time.monotonic() - self._last_streamed > self._stream_grace:
                try:
                    books = await exchange.publicGetOrderbook({"markets": ids})
                    for book in books:
                        units = book.get("orderbook_units") or []
                        if units:
                            exchange.top_of_book[book["market"]] = (
                                units[0].get("bid_price"),
                                units[0].get("ask_price"),
                            )
                    tickers = await exchange.fetch_tickers(symbols)
                except ccxt.BaseError as exc:
                    log.warning("upbit_poll_failed", feed=self.name, error=repr(exc))
                    self.connected = self.streaming
                except _MALFORMED as exc:
                    log.warning("upbit_poll_malformed", feed=self.name, error=repr(exc))
                else:
                    self._last_polled = time.monotonic()
                    self.connected = True
                    for ticker in tickers.values():
                        info = ticker["info"]
                        await self._emit(info.get("market"), info, exchange, True)
            await anyio.sleep(self._poll_interval)

    async def _emit(
        self, market: str | None, info: dict[str, Any], exchange: _ExactUpbit, traded: bool
    ) -> None:
        instrument = self._instruments.get(market or "")
        if instrument is None:
            return
        try:
            quote = self._quote(instrument, market, info, exchange.top_of_book.get(market), traded)
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
        book: tuple[Any, Any] | None,
        traded: bool,
    ) -> Quote:
        price = wire_decimal(info["trade_price"])
        if price <= 0:
            raise ValueError(f"non-positive price {price}")
        ts = _EPOCH + timedelta(milliseconds=int(info["trade_timestamp"]))
        volume = self._volume_delta(market, info) if traded else Decimal(0)
        bid = ask = None
        if book is not None and book[0] is not None and book[1] is not None:
            bid, ask = wire_decimal(book[0]), wire_decimal(book[1])
        previous = info.get("prev_closing_price")
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
            prev_close=None if previous is None else wire_decimal(previous),
        )

    def _volume_delta(self, market: str, info: dict[str, Any]) -> Decimal:
        """Volume traded since the last observation, from the UTC-day cumulative volume.

        Counting the cumulative figure's growth (not each message's trade volume) means a
        polled ticker seen twice, or a burst of stream messages read once, is counted exactly.
        """
        day = str(info.get("trade_date", ""))
        cumulative = wire_decimal(info["acc_trade_volume"])
        previous = self._acc_volume.get(market)
        self._acc_volume[market] = (day, cumulative)
        if previous is None:
            return Decimal(0)
        if previous[0] != day or cumulative < previous[1]:
            return cumulative  # a new day started counting from zero
        return cumulative - previous[1]
