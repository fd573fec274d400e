"""The market hub: every feeder's quotes land here, update the price book and fan out.

Subscribers (websocket hub, candle roller, Redis mirror) each get a bounded stream; a
subscriber that falls behind loses quotes (counted), never stalls feeds. Listeners (the
settlement partitions, which only note which tickers moved) are called with each quote as it
passes, so they miss none and cost no task switch per tick. Order books (many a second per
ticker) go only to the subscribers that asked for them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import anyio
import structlog
from anyio.abc import ObjectReceiveStream, ObjectSendStream

from daemon.messages import MarketData, OrderBook
from daemon.price_book import PriceBook
from daemon.streams import batches

log = structlog.get_logger(__name__)


class MarketHub:
    def __init__(
        self,
        book: PriceBook,
        inbox: ObjectReceiveStream[MarketData],
        subscribers: Sequence[tuple[str, ObjectSendStream[MarketData]]] = (),
    ) -> None:
        self.book = book
        self._inbox = inbox
        self._subscribers = [(name, stream, False) for name, stream in subscribers]
        self._listeners: list[Callable[[MarketData], None]] = []
        self.received = 0
        self.books = 0
        self.dropped: dict[str, int] = {name: 0 for name, _ in subscribers}

    def add_subscriber(
        self, name: str, stream: ObjectSendStream[MarketData], *, books: bool = False
    ) -> None:
        self._subscribers.append((name, stream, books))
        self.dropped.setdefault(name, 0)

    def add_listener(self, listener: Callable[[MarketData], None]) -> None:
        """Call `listener` with every quote and rate (not books) as it passes: it must be quick
        and must not block (it runs on the hub's turn of the event loop)."""
        self._listeners.append(listener)

    async def run(self) -> None:
        async for batch in batches(self._inbox):
            for data in batch:
                self._pass(data)

    def _pass(self, data: MarketData) -> None:
        """Into the book, to every listener (quotes and rates) and to every subscriber."""
        self.book.update(data)
        self.received += 1
        is_book = isinstance(data, OrderBook)
        self.books += is_book
        if not is_book:
            for listener in self._listeners:
                listener(data)
        for subscriber in tuple(self._subscribers):
            name, stream, books = subscriber
            if is_book and not books:
                continue
            try:
                stream.send_nowait(data)
            except anyio.WouldBlock:
                self.dropped[name] += 1
            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                log.warning("market_subscriber_gone", subscriber=name)
                self._subscribers.remove(subscriber)
