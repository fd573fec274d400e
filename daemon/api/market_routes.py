"""Instruments, quotes, FX rates and candles."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import msgspec
from litestar import Controller, Request, get
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import FromPath, FromQuery

from daemon.api.context import ctx
from daemon.api.views import CandleView, FxView, InstrumentView, QuoteView, ReasonView
from daemon.api.ws_messages import OrderBookView, book_fields, quote_fields
from daemon.candles import INTERVALS, candle_history, for_the_wire, plain_number
from daemon.instruments import Instrument
from daemon.platform import Platform
from daemon.reasons import REASONS
from daemon.sqlfiles import query
from daemon.tickers import TickerError, parse_ticker


def _instrument(platform: Platform, ticker_id: FromPath[str]) -> Instrument:
    try:
        parse_ticker(ticker_id)
    except TickerError as exc:
        raise NotFoundException(str(exc)) from None
    instrument = platform.instruments.get(ticker_id)
    if instrument is None:
        raise NotFoundException(
            f"{ticker_id} is not traded here; GET /api/instruments lists what is"
        )
    return instrument


MAX_CANDLES = 2000


class MarketStatsView(msgspec.Struct, frozen=True):
    ticker_id: str
    day: date  # the market's own date
    volume: Decimal
    traded_value: Decimal  # in the asset's currency, 2 places


def _limit(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_CANDLES:
        raise ClientException(
            f"limit must be a whole number from 1 to {MAX_CANDLES}, not {text[:20]!r}"
        )
    return int(text)


def _before(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        at = None
    if at is None or at.utcoffset() is None:
        raise ClientException(
            f"before must be an ISO 8601 time with its zone, e.g. 2026-11-25T00:00:00Z, not {text[:40]!r}"
        )
    return at


def _instrument_view(platform: Platform, instrument: Instrument, now: datetime) -> InstrumentView:
    calendar = platform.calendar
    return InstrumentView(
        ticker_id=instrument.ticker_id,
        name=instrument.name,
        name_ko=instrument.name_ko,
        market=instrument.market,  # type: ignore[arg-type]
        currency=instrument.currency,  # type: ignore[arg-type]
        exchange=instrument.exchange,
        is_open=calendar.is_open(instrument.market, now),
        next_open=calendar.next_open(instrument.market, now),
        next_close=calendar.next_close(instrument.market, now),
    )


class MarketController(Controller):
    path = "/api"
    tags = ["market"]

    @get("/instruments", summary="Everything tradable, with whether its market is open now")
    async def instruments(self, request: Request) -> list[InstrumentView]:
        platform = ctx(request.app.state).platform
        now = platform.clock.now()
        return [_instrument_view(platform, i, now) for i in platform.instruments.values()]

    @get("/instruments/{ticker_id:str}", summary="One instrument")
    async def instrument(self, request: Request, ticker_id: FromPath[str]) -> InstrumentView:
        platform = ctx(request.app.state).platform
        return _instrument_view(platform, _instrument(platform, ticker_id), platform.clock.now())

    @get("/quotes", summary="The latest quote of every instrument that has one")
    async def quotes(self, request: Request) -> list[QuoteView]:
        book = ctx(request.app.state).platform.book
        return [
            QuoteView(**quote_fields(q, book))
            for q in sorted(book.quotes(), key=lambda q: q.ticker_id)
        ]

    @get("/quotes/{ticker_id:str}", summary="The latest quote of one instrument")
    async def quote(self, request: Request, ticker_id: FromPath[str]) -> QuoteView:
        platform = ctx(request.app.state).platform
        _instrument(platform, ticker_id)
        quote = platform.book.quote(ticker_id)
        if quote is None:
            raise NotFoundException(f"no quote for {ticker_id} yet; its feed has not sent one")
        return QuoteView(**quote_fields(quote, platform.book))

    @get("/orderbook/{ticker_id:str}", summary="The displayed order book of one instrument")
    async def orderbook(self, request: Request, ticker_id: FromPath[str]) -> OrderBookView:
        platform = ctx(request.app.state).platform
        _instrument(platform, ticker_id)
        book = platform.book.order_book(ticker_id)
        if book is None:  # its feed has sent none (KIS streams the first 20 instruments' books)
            return OrderBookView(
                ticker_id=ticker_id, bids=[], asks=[], ts=None, received_at=None, source=None,
                stale=True,
            )  # fmt: skip
        return OrderBookView(**book_fields(book, platform.book))

    @get("/fx", summary="Current exchange rates into KRW")
    async def fx(self, request: Request) -> list[FxView]:
        book = ctx(request.app.state).platform.book
        return [
            FxView(pair=r.pair, rate=r.rate, ts=r.ts, stale=book.is_stale(r))
            for r in book.fx_rates()
        ]

    @get(
        "/candles/{ticker_id:str}",
        summary="OHLCV bars of 1m, 5m, 15m, 1h, 1d or 1w, oldest first, the forming bar last",
        description=(
            "Days start at midnight KST for KRX, New York for the US and UTC for crypto; weeks "
            "on Monday. `before` (ISO 8601 with a zone) pages back: bars that start earlier."
        ),
    )
    async def candles(
        self,
        request: Request,
        ticker_id: FromPath[str],
        interval: FromQuery[str] = "1m",
        limit: FromQuery[str] = "200",
        before: FromQuery[str | None] = None,
    ) -> list[CandleView]:
        platform = ctx(request.app.state).platform
        _instrument(platform, ticker_id)
        if interval not in INTERVALS:
            raise ClientException(
                f"interval {interval[:20]!r} is not one of {', '.join(INTERVALS)}"
            )
        count = _limit(limit)
        until = _before(before)
        bars = await candle_history(
            platform.pool, ticker_id, interval, count, until, platform.clock.now()
        )
        forming = platform.candles.forming(ticker_id) if platform.candles else None
        if interval == "1m" and forming is not None and (until is None or forming.time < until):
            bars = [b for b in bars if b.time != forming.time] + [forming]
        return [
            CandleView(
                time=b.time, open=b.open, high=b.high, low=b.low, close=b.close, volume=b.volume
            )
            for b in map(for_the_wire, bars[-count:])
        ]

    @get(
        "/market-stats",
        summary="Each instrument's volume and traded value over its market's latest day",
        description=(
            "From the stored 1-minute bars: `volume` in the asset's units, `traded_value` "
            "(the sum of volume x close) in its currency, for the markets list's sorting."
        ),
    )
    async def market_stats(self, request: Request) -> list[MarketStatsView]:
        platform = ctx(request.app.state).platform
        rows = await platform.pool.fetch(query("candles_day_stats"), platform.clock.now())
        return [
            MarketStatsView(
                ticker_id=row["ticker_id"],
                day=row["day"],
                volume=plain_number(row["volume"]),
                traded_value=plain_number(row["traded_value"]).quantize(Decimal("0.01")),
            )
            for row in rows
        ]

    @get("/reasons", summary="Every reason code an order can fail or be cancelled with")
    async def reasons(self) -> list[ReasonView]:
        return [ReasonView(code=code, text=text) for code, text in REASONS.items()]
