"""The market hub: every feeder's quotes land here, update the price book and fan out.

Subscribers (websocket hub, candle roller, Redis mirror, limit-order watch) each get a
bounded stream; a subscriber that falls behind loses quotes (counted), never stalls feeds.
Order books (many a second per ticker) go only to the subscribers that asked for them.
"""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import structlog
from anyio.abc import ObjectReceiveStream, ObjectSendStream

from daemon.messages import MarketData, OrderBook
from daemon.price_book import PriceBook

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
        self.received = 0
        self.books = 0
        self.dropped: dict[str, int] = {name: 0 for name, _ in subscribers}

    def add_subscriber(
        self, name: str, stream: ObjectSendStream[MarketData], *, books: bool = False
    ) -> None:
        self._subscribers.append((name, stream, books))
        self.dropped.setdefault(name, 0)

    async def run(self) -> None:
        async for data in self._inbox:
            self.book.update(data)
            self.received += 1
            is_book = isinstance(data, OrderBook)
            self.books += is_book
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
