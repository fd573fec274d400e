"""The latest quote and order book per ticker and the latest FX rates, with staleness judged by
an injected clock.

Only the market hub actor writes it; other actors read it (immutable Structs, one event loop).
"""

from __future__ import annotations

from datetime import timedelta

from daemon.clock import Clock
from daemon.engine.market import BookView
from daemon.messages import FxRate, MarketData, OrderBook, Quote

USD_KRW = "USD/KRW"


class PriceBook:
    def __init__(
        self,
        clock: Clock,
        stale_after: timedelta = timedelta(seconds=5),
        fx_stale_after: timedelta = timedelta(seconds=60),
    ) -> None:
        self._clock = clock
        self.stale_after = stale_after
        # FX sources are polled far less often than prices stream, and rates move slowly.
        self.fx_stale_after = fx_stale_after
        self._quotes: dict[str, Quote] = {}
        self._fx: dict[str, FxRate] = {}
        self._books: dict[str, OrderBook] = {}

    def update(self, data: MarketData) -> None:
        match data:
            case Quote(ticker_id=ticker_id):
                self._quotes[ticker_id] = data
            case FxRate(pair=pair):
                self._fx[pair] = data
            case OrderBook(ticker_id=ticker_id):
                self._books[ticker_id] = data

    def quote(self, ticker_id: str) -> Quote | None:
        return self._quotes.get(ticker_id)

    def quotes(self) -> list[Quote]:
        return list(self._quotes.values())

    def order_book(self, ticker_id: str) -> OrderBook | None:
        """The latest book of `ticker_id` as its source sent it (stale or not), with its times."""
        return self._books.get(ticker_id)

    def book(self, ticker_id: str) -> BookView | None:
        """The displayed book for the engine's depth walk, levels best first; None when no book
        is known for `ticker_id` or the latest one is stale (then fills go at the touch)."""
        book = self._books.get(ticker_id)
        if book is None or self.is_stale(book) or not (book.bids or book.asks):
            return None
        return BookView(bids=book.bids, asks=book.asks)

    def stale_quotes(self, source: str) -> int:
        """How many tickers' latest quote, last sent by `source`, is stale now."""
        return sum(1 for q in self._quotes.values() if q.source == source and self.is_stale(q))

    def fresh_books(self) -> int:
        """How many tickers have a book that is not stale (the engine walks those)."""
        return sum(1 for book in self._books.values() if not self.is_stale(book))

    def fx(self, pair: str = USD_KRW) -> FxRate | None:
        return self._fx.get(pair)

    def fx_rates(self) -> list[FxRate]:
        return list(self._fx.values())

    def is_stale(self, data: MarketData) -> bool:
        """Older than its limit: nothing fills at such a price.

        A quote or book is as old as the exchange says (`ts`, its own time of the trade, book or
        snapshot) or as our receipt says, whichever is older: a stream replaying a backlog is
        stale however fresh its delivery; a poll's answer carries the poll's time. FX rates
        count from their receipt (a fallback source dates its rates by the day)."""
        if isinstance(data, FxRate):
            return self._clock.now() - data.received_at > self.fx_stale_after
        return self._clock.now() - min(data.ts, data.received_at) > self.stale_after
