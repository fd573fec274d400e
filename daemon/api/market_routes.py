"""Instruments, quotes, FX rates and candles."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, Parameter

from daemon.api.context import ctx
from daemon.api.views import CandleView, FxView, InstrumentView, QuoteView, ReasonView
from daemon.api.ws_messages import OrderBookView, book_fields, quote_fields
from daemon.candles import for_the_wire, recent_candles
from daemon.instruments import Instrument
from daemon.platform import Platform
from daemon.reasons import REASONS
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
        if book is None:
            raise NotFoundException(
                f"no order book for {ticker_id} yet; its feed has not sent one "
                "(KIS streams books for the first instruments only, see the README)"
            )
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
        summary="1-minute OHLCV bars, oldest first, the forming bar last",
    )
    async def candles(
        self,
        request: Request,
        ticker_id: FromPath[str],
        interval: FromQuery[Literal["1m"]] = "1m",
        limit: int = Parameter(default=200, ge=1, le=2000),
    ) -> list[CandleView]:
        platform = ctx(request.app.state).platform
        _instrument(platform, ticker_id)
        bars = await recent_candles(platform.pool, ticker_id, limit)
        forming = platform.candles.forming(ticker_id) if platform.candles else None
        if forming is not None:
            bars = [b for b in bars if b.time != forming.time] + [forming]
        return [
            CandleView(
                time=b.time, open=b.open, high=b.high, low=b.low, close=b.close, volume=b.volume
            )
            for b in map(for_the_wire, bars[-limit:])
        ]

    @get("/reasons", summary="Every reason code an order can fail or be cancelled with")
    async def reasons(self) -> list[ReasonView]:
        return [ReasonView(code=code, text=text) for code, text in REASONS.items()]
