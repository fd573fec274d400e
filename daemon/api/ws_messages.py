"""Websocket frames, both ways: client ops in, typed server messages out (`type` tags them)."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

import msgspec

from daemon.api.views import OrderEventInfo, OrderView, QuoteView, TradeView
from daemon.engine.market import BookLevel
from daemon.messages import CandleBar, FxRate, OrderBook, Quote
from daemon.price_book import PriceBook


class Subscribe(msgspec.Struct, tag_field="op", tag="subscribe", forbid_unknown_fields=True):
    tickers: list[str]  # ticker ids, or ["*"] for every instrument


class Unsubscribe(msgspec.Struct, tag_field="op", tag="unsubscribe", forbid_unknown_fields=True):
    tickers: list[str]


class Auth(msgspec.Struct, tag_field="op", tag="auth", forbid_unknown_fields=True):
    token: str


class Ping(msgspec.Struct, tag_field="op", tag="ping", forbid_unknown_fields=True):
    pass


ClientOp = Subscribe | Unsubscribe | Auth | Ping


class QuoteMessage(QuoteView, frozen=True, tag_field="type", tag="quote"):
    pass


class OrderBookView(msgspec.Struct, frozen=True, kw_only=True):
    """GET /api/orderbook/{ticker_id}: the displayed book, best first on both sides. With no
    book known yet: empty sides, null times and source, stale."""

    ticker_id: str
    bids: list[BookLevel]
    asks: list[BookLevel]
    ts: datetime | None  # the book's exchange time
    received_at: datetime | None
    source: str | None
    stale: bool


class BookMessage(OrderBookView, frozen=True, kw_only=True, tag_field="type", tag="book"):
    """The latest book of a subscribed ticker, at most BOOKS_PER_SECOND a second each."""


class OrderMessage(msgspec.Struct, frozen=True, tag_field="type", tag="order"):
    """Nested, not flattened: an order has a `type` field of its own (MARKET/LIMIT/...).
    `event` is what happened to it (accepted, rested, triggered, modified, filled, ...)."""

    order: OrderView
    event: OrderEventInfo


class FeedMessage(msgspec.Struct, frozen=True, tag_field="type", tag="feed"):
    """Another player's fill, live, to those allowed to see it now (SPEC 6C's feed): `trade` is
    one item of GET /api/feed. Nested for the same reason as an order: a trade has a `type`."""

    trade: TradeView


class FxMessage(msgspec.Struct, frozen=True, tag_field="type", tag="fx"):
    pair: str
    rate: Decimal
    ts: datetime


class CandleMessage(CandleBar, frozen=True, kw_only=True, tag_field="type", tag="candle"):
    """The forming 1-minute bar of a subscribed ticker: a CandleBar tagged for the wire."""

    interval: Literal["1m"] = "1m"


class Subscribed(msgspec.Struct, frozen=True, tag_field="type", tag="subscribed"):
    tickers: list[str]


class Authenticated(msgspec.Struct, frozen=True, tag_field="type", tag="auth"):
    ok: bool
    user_id: str


class ErrorMessage(msgspec.Struct, frozen=True, tag_field="type", tag="error"):
    detail: str


class Pong(msgspec.Struct, frozen=True, tag_field="type", tag="pong"):
    pass


class Heartbeat(msgspec.Struct, frozen=True, tag_field="type", tag="heartbeat"):
    ts: datetime


_PERCENT = Decimal("0.01")


def change_pct(price: Decimal, prev_close: Decimal | None) -> Decimal | None:
    if not prev_close:
        return None
    pct = ((price - prev_close) * 100 / prev_close).quantize(_PERCENT, ROUND_HALF_EVEN)
    return pct if pct else abs(pct)  # never "-0.00"


def quote_fields(quote: Quote, book: PriceBook) -> dict:
    return {
        "ticker_id": quote.ticker_id,
        "price": quote.price,
        "bid": quote.bid,
        "ask": quote.ask,
        "currency": quote.currency,
        "ts": quote.ts,
        "stale": book.is_stale(quote),
        "prev_close": quote.prev_close,
        "change_pct": change_pct(quote.price, quote.prev_close),
        "received_at": quote.received_at,
        "source": quote.source,
    }


def book_fields(book: OrderBook, prices: PriceBook) -> dict:
    return {
        "ticker_id": book.ticker_id,
        "bids": list(book.bids),
        "asks": list(book.asks),
        "ts": book.ts,
        "received_at": book.received_at,
        "source": book.source,
        "stale": prices.is_stale(book),
    }


def fx_message(rate: FxRate) -> FxMessage:
    return FxMessage(pair=rate.pair, rate=rate.rate, ts=rate.ts)


def candle_message(bar: CandleBar) -> CandleMessage:
    return CandleMessage(**msgspec.structs.asdict(bar))
