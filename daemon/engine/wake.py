"""What one tick of a ticker wakes: trailing marks moved, then the orders the quote crosses.

The one place the settlement actor's tick path touches the index, so it cannot forget to re-key a
trailing stop before asking what is crossed (a moved stop must be judged at its new level).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from uuid import UUID

from daemon.engine.market import QuoteView
from daemon.engine.orders import EngineOrder
from daemon.engine.resting_index import RestingIndex
from daemon.engine.ticks import TickTable
from daemon.engine.triggers import advance_mark, index_keys


def wake(
    index: RestingIndex,
    orders: MutableMapping[UUID, EngineOrder],
    ticker_id: str,
    quote: QuoteView,
    *,
    trails: bool,
    table: TickTable,
) -> list[UUID]:
    """Move the marks `quote` improves (when `trails`: crypto always, stocks in the regular
    session), store the re-marked orders in `orders`, and return the ids to decide, best first."""
    if trails:
        for order_id in index.marks_moved(ticker_id, quote.price):
            moved = advance_mark(orders[order_id], quote.price, table)
            orders[order_id] = moved
            index.modify(order_id, ticker_id, index_keys(moved))
    return index.crossed(ticker_id, last=quote.price, bid=quote.bid, ask=quote.ask)
