"""Trigger and fill-price rules (SPEC 6A "Fills nobody can argue with"), and the receipt's rule codes.

Pure predicates on one quote: whether a resting limit is reached, a stop is triggered, a
trailing stop's mark moves; and which price level keys an open order in the resting index.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

import msgspec

from daemon.engine.market import QuoteView
from daemon.engine.orders import EngineOrder
from daemon.engine.resting_index import Book
from daemon.engine.ticks import TickTable
from daemon.engine.trail_book import Trail, trail_stop

# Which rule priced a fill: stable codes for the receipt (order_fills.rule).
MARKETABLE_AT_ASK: Final = "marketable_at_ask"  # a BUY marketable on arrival pays the ask
MARKETABLE_AT_BID: Final = "marketable_at_bid"  # a SELL marketable on arrival receives the bid
MARKETABLE_AT_LAST: Final = "marketable_at_last"  # the quote had no bid/ask: the last trade
BOOK_WALK_VWAP: Final = "book_walk_vwap"  # walked the displayed book: volume-weighted price
LIMIT_REACHED_AT_LIMIT: Final = "limit_reached_at_limit"  # a resting LIMIT reached: its limit
SESSION_OPEN_THROUGH_LIMIT: Final = "session_open_through_limit"  # opened through: first quote
STOP_TRIGGERED_MARKET: Final = "stop_triggered_market"  # STOP/TRAILING_STOP: then a MARKET
OPG_FIRST_QUOTE: Final = "opg_first_quote"  # OPG: the first quote after the open
FILL_RULES: Final = (
    MARKETABLE_AT_ASK,
    MARKETABLE_AT_BID,
    MARKETABLE_AT_LAST,
    BOOK_WALK_VWAP,
    LIMIT_REACHED_AT_LIMIT,
    SESSION_OPEN_THROUGH_LIMIT,
    STOP_TRIGGERED_MARKET,
    OPG_FIRST_QUOTE,
)

HUNDRED: Final = Decimal(100)


def marketable(side: str, limit: Decimal, quote: QuoteView) -> bool:
    """A limit that trades against the quote now: BUY ask ≤ limit, SELL bid ≥ limit."""
    touch = quote.touch(side)
    return touch <= limit if side == "BUY" else touch >= limit


def limit_reached(side: str, limit: Decimal, quote: QuoteView) -> bool:
    """A resting limit is reached: BUY when the ask or the last trade is at or under the limit."""
    if side == "BUY":
        return min(quote.touch("BUY"), quote.price) <= limit
    return max(quote.touch("SELL"), quote.price) >= limit


def stop_reached(side: str, stop: Decimal, quote: QuoteView) -> bool:
    """A stop triggers when the last trade (or the ask for a BUY, the bid for a SELL) reaches it."""
    if side == "BUY":
        return max(quote.touch("BUY"), quote.price) >= stop
    return min(quote.touch("SELL"), quote.price) <= stop


def trailing_stop_price(order: EngineOrder, mark: Decimal, table: TickTable) -> Decimal:
    """mark ∓ trail_amount, or mark × (1 ∓ trail_percent/100), on the tick away from the mark
    (a SELL's stop rounds down, a BUY's up): the stop never sits closer than the trail asked."""
    return trail_stop(order.side, mark, order.trail_percent, order.trail_amount, table)


def advance_mark(order: EngineOrder, last: Decimal, table: TickTable) -> EngineOrder:
    """The trailing stop after a last trade of `last`: a new high (SELL) or low (BUY) moves the
    mark and the stop with it; otherwise the order is returned unchanged."""
    mark = order.trail_mark
    better = mark is None or (last > mark if order.side == "SELL" else last < mark)
    if not better:
        return order
    return msgspec.structs.replace(
        order, trail_mark=last, stop_price=trailing_stop_price(order, last, table)
    )


Placement = tuple[dict[Book, Decimal], Trail | None]


def placement(order: EngineOrder) -> Placement:
    """Where an open order sits in the resting index: the price levels whose crossing matters,
    or for a marked trailing stop its trail (the index moves its mark); neither: every quote."""
    buy = order.side == "BUY"
    live = order.live_type
    if order.time_in_force == "OPG":
        return {}, None  # judged on the opening quote whatever its price
    if live == "LIMIT":
        assert order.limit_price is not None
        return {"buy_limit" if buy else "sell_limit": order.limit_price}, None
    if live == "TRAILING_STOP" and order.trail_mark is not None:
        trail = Trail(order.side, order.trail_mark, order.trail_percent, order.trail_amount)
        return {}, trail
    if live in ("STOP", "STOP_LIMIT", "TRAILING_STOP") and order.stop_price is not None:
        return {"buy_stop" if buy else "sell_stop": order.stop_price}, None
    return {}, None  # MARKET, OPG and unmarked trailing stops are decided on every quote
