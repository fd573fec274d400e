"""The market hub: every feeder's quotes land here, update the price book and fan out.

Subscribers (websocket hub, candle roller, Redis mirror, limit-order watch) each get a
bounded stream; a subscriber that falls behind loses quotes (counted), never stalls feeds.
"""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import structlog
from anyio.abc import ObjectReceiveStream, ObjectSendStream

from daemon.messages import MarketData
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
        self._subscribers = list(subscribers)
        self.received = 0
        self.dropped: dict[str, int] = {name: 0 for name, _ in self._subscribers}

    def add_subscriber(self, name: str, stream: ObjectSendStream[MarketData]) -> None:
        self._subscribers.append((name, stream))
        self.dropped.setdefault(name, 0)

    async def run(self) -> None:
        async for data in self._inbox:
            self.book.update(data)
            self.received += 1
            for name, stream in tuple(self._subscribers):
                try:
                    stream.send_nowait(data)
                except anyio.WouldBlock:
                    self.dropped[name] += 1
                except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                    log.warning("market_subscriber_gone", subscriber=name)
                    self._subscribers.remove((name, stream))
