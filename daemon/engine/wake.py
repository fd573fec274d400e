"""What one tick of a ticker wakes: trailing marks moved, then the orders the quote crosses; and
an open order as the index has moved it.

The one place the settlement actor's tick path touches the index, so it cannot forget to move the
trailing marks before asking what is crossed (a moved stop must be judged at its new level).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol
from uuid import UUID

import msgspec

from daemon.engine.orders import EngineOrder
from daemon.engine.resting_index import RestingIndex
from daemon.engine.ticks import TickTable
from daemon.engine.triggers import trailing_stop_price


class Touch(Protocol):
    """What a tick is judged by: its last trade and its touch (a Quote or a QuoteView)."""

    @property
    def price(self) -> Decimal: ...
    @property
    def bid(self) -> Decimal | None: ...
    @property
    def ask(self) -> Decimal | None: ...


def wake(
    index: RestingIndex, ticker_id: str, quote: Touch, *, trails: bool, table: TickTable
) -> list[UUID]:
    """Move the marks `quote` improves (when `trails`: crypto always, stocks in the regular
    session) and return the ids to decide, best first."""
    if trails:
        index.move_marks(ticker_id, quote.price)
    return index.crossed(ticker_id, last=quote.price, bid=quote.bid, ask=quote.ask, table=table)


def as_marked(
    order: EngineOrder, index: RestingIndex, table: TickTable, mark: Decimal | None = None
) -> EngineOrder:
    """`order` (open, indexed) with the trailing mark the ticks have moved it to, and its stop;
    or with `mark` (the index's mark as of an earlier quote) unless its own is better."""
    if mark is None:
        mark = index.mark_of(order.id) if order.id in index else None
    elif order.trail_mark is not None:
        mark = max(mark, order.trail_mark) if order.side == "SELL" else min(mark, order.trail_mark)
    if mark is None or mark == order.trail_mark:
        return order
    return msgspec.structs.replace(
        order, trail_mark=mark, stop_price=trailing_stop_price(order, mark, table)
    )
