"""What one tick of a ticker wakes: trailing marks moved, then the orders the quote crosses; and
an open order as the index has moved it.

The one place the settlement actor's tick path touches the index, so it cannot forget to move the
trailing marks before asking what is crossed (a moved stop must be judged at its new level).
"""

from __future__ import annotations

from uuid import UUID

import msgspec

from daemon.engine.market import QuoteView
from daemon.engine.orders import EngineOrder
from daemon.engine.resting_index import RestingIndex
from daemon.engine.ticks import TickTable
from daemon.engine.triggers import trailing_stop_price


def wake(
    index: RestingIndex, ticker_id: str, quote: QuoteView, *, trails: bool, table: TickTable
) -> list[UUID]:
    """Move the marks `quote` improves (when `trails`: crypto always, stocks in the regular
    session) and return the ids to decide, best first."""
    if trails:
        index.move_marks(ticker_id, quote.price)
    return index.crossed(ticker_id, last=quote.price, bid=quote.bid, ask=quote.ask, table=table)


def as_marked(order: EngineOrder, index: RestingIndex, table: TickTable) -> EngineOrder:
    """`order` (open, indexed) with the trailing mark the ticks have moved it to, and its stop."""
    mark = index.mark_of(order.id) if order.id in index else None
    if mark is None or mark == order.trail_mark:
        return order
    return msgspec.structs.replace(
        order, trail_mark=mark, stop_price=trailing_stop_price(order, mark, table)
    )
