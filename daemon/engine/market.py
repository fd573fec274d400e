"""What the engine knows of a market at one instant: the quote, the displayed book, the session.

The settlement actor builds a `MarketSnapshot` from its price book, calendar and clock; the
engine never reads a clock. `QuoteView` is what a fill's receipt records (SPEC 6A `quote`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import msgspec

from daemon.engine.exchange_rules import PriceLimits


class QuoteView(msgspec.Struct, frozen=True, kw_only=True):
    """The quote a decision was made on: prices in the asset's currency, times UTC."""

    price: Decimal  # last trade
    bid: Decimal | None = None
    ask: Decimal | None = None
    source: str
    ts: datetime  # exchange time
    received_at: datetime
    age_seconds: Decimal = Decimal(0)  # received_at to the decision, for the receipt

    def touch(self, side: str) -> Decimal:
        """What a marketable order pays (BUY: the ask) or receives (SELL: the bid); else last."""
        quoted = self.ask if side == "BUY" else self.bid
        return self.price if quoted is None else quoted


class BookLevel(msgspec.Struct, frozen=True):
    price: Decimal
    size: Decimal


class BookView(msgspec.Struct, frozen=True, kw_only=True):
    """The displayed book, best first; what earlier orders took is already subtracted."""

    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]

    def side_for(self, order_side: str) -> tuple[BookLevel, ...]:
        """The levels an order of `order_side` takes from: a BUY walks the asks."""
        return self.asks if order_side == "BUY" else self.bids

    def minus(self, order_side: str, taken: tuple[BookLevel, ...]) -> BookView:
        """The book after an order of `order_side` took `taken` (same prices, sizes reduced)."""
        took = {level.price: level.size for level in taken}
        rest = tuple(
            BookLevel(level.price, level.size - took.get(level.price, Decimal(0)))
            for level in self.side_for(order_side)
        )
        rest = tuple(level for level in rest if level.size > 0)
        if order_side == "BUY":
            return BookView(bids=self.bids, asks=rest)
        return BookView(bids=rest, asks=self.asks)


class Session(msgspec.Struct, frozen=True, kw_only=True):
    """The market's session at the decision instant.

    `first_quote` is true for the first fresh quote after the session opened (the actor tracks
    it per ticker); `regular` is false outside the regular session (no trailing for stocks);
    `next_open` is for the `market_closed` reason text.
    """

    is_open: bool
    first_quote: bool = False
    regular: bool = True
    opened_at: datetime | None = None
    next_open: datetime | None = None


class MarketSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    now: datetime
    session: Session
    quote: QuoteView | None
    quote_stale: bool = False
    fx_rate: Decimal | None = None  # KRW per unit of the asset's currency; USD assets only
    fx_stale: bool = False
    price_limits: PriceLimits | None = None  # KRX daily limits
    book: BookView | None = None
