"""The prices the daemon's API hands to `build_order`: what its price book knows right now."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from daemon.order_requests import NO_PRICES, DoorPrices
from daemon.price_book import PriceBook


class Sessions(Protocol):
    def session(self, market: str, at: datetime) -> tuple[datetime, datetime] | None: ...


def door_prices(
    book: PriceBook, calendar: Sessions, ticker_id: str, side: str, now: datetime
) -> DoorPrices:
    """A fresh quote's touch (ask for a BUY, bid for a SELL, else the last price), and the
    previous close of a quote received in the session now trading (an older quote's previous
    close may be another day's base)."""
    quote = book.quote(ticker_id)
    if quote is None:
        return NO_PRICES
    quoted = quote.ask if side == "BUY" else quote.bid
    touch = None if book.is_stale(quote) else (quoted or quote.price)
    session = calendar.session(ticker_id.split("-", 1)[0], now)
    current = session is not None and session[0] <= quote.received_at < session[1]
    return DoorPrices(touch=touch, prev_close=quote.prev_close if current else None)
