"""The resting-order index: open orders per ticker, sorted by the price that wakes them.

Each tick of a ticker looks only at the orders it crosses: BUY limits at or above the lower of
ask and last, SELL limits at or below the higher of bid and last, BUY stops at or below the
higher of ask and last, SELL stops at or above the lower of bid and last. Trailing stops also
sit in a mark book (SELL: the high so far, BUY: the low) so a tick finds the marks it moves.
add / remove / modify are O(log n); crossed / marks_moved are O(log n + k) for k orders found.
Orders with no price key (an OPG waiting for the open) sit in the ticker's `every_tick` set.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Final, Literal
from uuid import UUID

from sortedcontainers import SortedList

Book = Literal["buy_limit", "sell_limit", "buy_stop", "sell_stop", "buy_mark", "sell_mark"]
BOOKS: Final[tuple[Book, ...]] = (
    "buy_limit",
    "sell_limit",
    "buy_stop",
    "sell_stop",
    "buy_mark",
    "sell_mark",
)
# Books whose best order has the highest price store it negated, so every book reads best first
# (then oldest first at one price) and every crossing is a head slice.
_NEGATED: Final = frozenset({"buy_limit", "sell_stop", "buy_mark"})
_BELOW: Final = -1  # sorts before every sequence number at the same price
_ABOVE: Final = sys.maxsize  # sorts after every sequence number at the same price

_Entry = tuple[Decimal, int, UUID]  # (price, arrival sequence, order id): price-time order


class _Ticker:
    __slots__ = ("books", "every_tick")

    def __init__(self) -> None:
        self.books: dict[Book, SortedList] = {book: SortedList() for book in BOOKS}
        self.every_tick: dict[UUID, None] = {}  # insertion-ordered set


class RestingIndex:
    def __init__(self) -> None:
        self._tickers: dict[str, _Ticker] = {}
        self._where: dict[UUID, tuple[str, dict[Book, _Entry]]] = {}
        self._sequence = itertools.count()

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._where

    def has_ticker(self, ticker_id: str) -> bool:
        """Whether any order of `ticker_id` is indexed (a tick of another ticker wakes nothing)."""
        ticker = self._tickers.get(ticker_id)
        return ticker is not None and (
            bool(ticker.every_tick) or any(ticker.books[book] for book in BOOKS)
        )

    def add(self, order_id: UUID, ticker_id: str, keys: Mapping[Book, Decimal]) -> None:
        """Index an order under `keys` (book → price); no keys: woken by every tick of the ticker."""
        if order_id in self._where:
            raise ValueError(f"order {order_id} is already indexed; use modify")
        ticker = self._tickers.get(ticker_id)
        if ticker is None:
            ticker = self._tickers[ticker_id] = _Ticker()
        sequence = next(self._sequence)
        entries: dict[Book, _Entry] = {}
        for book, price in keys.items():
            entry = (-price if book in _NEGATED else price, sequence, order_id)
            ticker.books[book].add(entry)
            entries[book] = entry
        if not entries:
            ticker.every_tick[order_id] = None
        self._where[order_id] = (ticker_id, entries)

    def remove(self, order_id: UUID) -> bool:
        """Forget an order; False if it was not indexed."""
        found = self._where.pop(order_id, None)
        if found is None:
            return False
        ticker_id, entries = found
        ticker = self._tickers[ticker_id]
        for book, entry in entries.items():
            ticker.books[book].remove(entry)
        ticker.every_tick.pop(order_id, None)
        return True

    def modify(self, order_id: UUID, ticker_id: str, keys: Mapping[Book, Decimal]) -> None:
        """Re-key an order (new prices, a trailing mark moved, a stop triggered into a limit)."""
        self.remove(order_id)
        self.add(order_id, ticker_id, keys)

    def crossed(
        self, ticker_id: str, *, last: Decimal, bid: Decimal | None, ask: Decimal | None
    ) -> list[UUID]:
        """Orders of `ticker_id` this quote may fill or trigger, in price-time priority per book,
        followed by the ticker's every-tick orders."""
        ticker = self._tickers.get(ticker_id)
        if ticker is None:
            return []
        low_buy = last if ask is None else min(ask, last)
        high_buy = last if ask is None else max(ask, last)
        low_sell = last if bid is None else min(bid, last)
        high_sell = last if bid is None else max(bid, last)
        books = ticker.books
        found: list[_Entry] = [
            *_head(books["buy_limit"], -low_buy),  # limit ≥ low_buy
            *_head(books["sell_limit"], high_sell),  # limit ≤ high_sell
            *_head(books["buy_stop"], high_buy),  # stop ≤ high_buy
            *_head(books["sell_stop"], -low_sell),  # stop ≥ low_sell
        ]
        ids = list(dict.fromkeys(entry[2] for entry in found))
        return ids + list(ticker.every_tick)

    def marks_moved(self, ticker_id: str, last: Decimal) -> list[UUID]:
        """Trailing stops whose mark `last` improves: SELL marks below it, BUY marks above it."""
        ticker = self._tickers.get(ticker_id)
        if ticker is None:
            return []
        sell = ticker.books["sell_mark"]  # marks < last
        buy = ticker.books["buy_mark"]  # marks > last, stored negated: -mark < -last
        found: Iterable[_Entry] = itertools.chain(
            sell[: sell.bisect_left((last, _BELOW))], buy[: buy.bisect_left((-last, _BELOW))]
        )
        return [entry[2] for entry in found]

    def keys_of(self, order_id: UUID) -> dict[Book, Decimal]:
        """The keys an order is indexed under (empty for every-tick orders)."""
        _, entries = self._where[order_id]
        return {
            book: -entry[0] if book in _NEGATED else entry[0] for book, entry in entries.items()
        }


def _head(book: SortedList, bound: Decimal) -> list[_Entry]:
    """The entries whose stored price is at or below `bound`, best first."""
    return book[: book.bisect_right((bound, _ABOVE))]
