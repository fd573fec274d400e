"""The resting-order index: open orders per ticker, sorted by the price that wakes them.

Each tick of a ticker looks only at the orders it crosses: BUY limits at or above the lower of
ask and last, SELL limits at or below the higher of bid and last, BUY stops at or below the
higher of ask and last, SELL stops at or above the lower of bid and last. Marked trailing stops
sit in the ticker's trail books (daemon/engine/trail_book.py), grouped by mark, so a new high
moves every mark it passes at once. add / remove / modify are O(log n); crossed is O(log n + k)
for k orders found. Orders with no price key (an OPG waiting for the open) sit in the ticker's
`every_tick` set.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Final, Literal
from uuid import UUID

from sortedcontainers import SortedList

from daemon.engine.ticks import TickTable
from daemon.engine.trail_book import Trail, TrailBook

Book = Literal["buy_limit", "sell_limit", "buy_stop", "sell_stop"]
BOOKS: Final[tuple[Book, ...]] = ("buy_limit", "sell_limit", "buy_stop", "sell_stop")
# Books whose best order has the highest price store it negated, so every book reads best first
# (then oldest first at one price) and every crossing is a head slice.
_NEGATED: Final = frozenset({"buy_limit", "sell_stop"})
_ABOVE: Final = sys.maxsize  # sorts after every sequence number at the same price

_Entry = tuple[Decimal, int, UUID]  # (price, arrival sequence, order id): price-time order


_UP: Final = Decimal("Infinity")
_DOWN: Final = Decimal("-Infinity")


class _Ticker:
    __slots__ = ("books", "bounds", "every_tick", "trails")

    def __init__(self) -> None:
        self.books: dict[Book, SortedList] = {book: SortedList() for book in BOOKS}
        self.every_tick: dict[UUID, None] = {}  # insertion-ordered set
        self.trails = {"BUY": TrailBook("BUY"), "SELL": TrailBook("SELL")}
        self.bounds: tuple[Decimal, ...] | None = None  # `reach()`, until the ticker changes

    def reach(self) -> tuple[Decimal, ...]:
        """What a quote must reach to wake anything: the best BUY limit, SELL limit, BUY stop,
        SELL stop, then the trail books' (stop, mark) bounds, BUY then SELL (±Infinity where a
        book is empty). Cached until an order of the ticker changes or a mark moves."""
        if self.bounds is None:
            books = self.books
            buy_limit, sell_limit = books["buy_limit"], books["sell_limit"]
            buy_stop, sell_stop = books["buy_stop"], books["sell_stop"]
            self.bounds = (
                -buy_limit[0][0] if buy_limit else _DOWN,
                sell_limit[0][0] if sell_limit else _UP,
                buy_stop[0][0] if buy_stop else _UP,
                -sell_stop[0][0] if sell_stop else _DOWN,
                *self.trails["BUY"].reach(),
                *self.trails["SELL"].reach(),
            )
        return self.bounds


class RestingIndex:
    def __init__(self) -> None:
        self._tickers: dict[str, _Ticker] = {}
        self._where: dict[UUID, tuple[str, dict[Book, _Entry], Trail | None]] = {}
        self._sequence = itertools.count()
        self._trails_moved: set[str] = set()  # tickers with marks moved since `take_moved_trails`

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._where

    def has_ticker(self, ticker_id: str) -> bool:
        """Whether any order of `ticker_id` is indexed (a tick of another ticker wakes nothing)."""
        ticker = self._tickers.get(ticker_id)
        return ticker is not None and (
            bool(ticker.every_tick)
            or any(ticker.books[book] for book in BOOKS)
            or any(ticker.trails.values())
        )

    def quiet(
        self, ticker_id: str, *, last: Decimal, bid: Decimal | None, ask: Decimal | None
    ) -> bool:
        """Whether this quote can neither move a trailing mark nor cross any order of the
        ticker (most ticks): a few comparisons with the ticker's cached bounds. Never True when
        `wake` would find anything; may be False when it finds nothing (stops are bounded
        before rounding)."""
        ticker = self._tickers.get(ticker_id)
        if ticker is None:
            return True
        if ticker.every_tick:
            return False
        buy_limit, sell_limit, buy_stop, sell_stop, buy_trail, buy_mark, sell_trail, sell_mark = (
            ticker.reach()
        )
        low_buy = last if ask is None else min(ask, last)
        high_buy = last if ask is None else max(ask, last)
        low_sell = last if bid is None else min(bid, last)
        high_sell = last if bid is None else max(bid, last)
        return not (
            low_buy <= buy_limit
            or high_sell >= sell_limit
            or high_buy >= buy_stop
            or low_sell <= sell_stop
            or high_buy >= buy_trail
            or last < buy_mark
            or low_sell <= sell_trail
            or last > sell_mark
        )

    def add(
        self,
        order_id: UUID,
        ticker_id: str,
        keys: Mapping[Book, Decimal],
        trail: Trail | None = None,
    ) -> None:
        """Index an order under `keys` (book → price) and, for a marked trailing stop, `trail`;
        neither: woken by every tick of the ticker."""
        if order_id in self._where:
            raise ValueError(f"order {order_id} is already indexed; use modify")
        ticker = self._tickers.get(ticker_id)
        if ticker is None:
            ticker = self._tickers[ticker_id] = _Ticker()
        ticker.bounds = None
        sequence = next(self._sequence)
        entries: dict[Book, _Entry] = {}
        for book, price in keys.items():
            entry = (-price if book in _NEGATED else price, sequence, order_id)
            ticker.books[book].add(entry)
            entries[book] = entry
        if trail is not None:
            ticker.trails[trail.side].add(order_id, sequence, trail)
        elif not entries:
            ticker.every_tick[order_id] = None
        self._where[order_id] = (ticker_id, entries, trail)

    def remove(self, order_id: UUID) -> bool:
        """Forget an order; False if it was not indexed."""
        found = self._where.pop(order_id, None)
        if found is None:
            return False
        ticker_id, entries, trail = found
        ticker = self._tickers[ticker_id]
        ticker.bounds = None
        for book, entry in entries.items():
            ticker.books[book].remove(entry)
        if trail is not None:
            ticker.trails[trail.side].remove(order_id)
        ticker.every_tick.pop(order_id, None)
        return True

    def modify(
        self,
        order_id: UUID,
        ticker_id: str,
        keys: Mapping[Book, Decimal],
        trail: Trail | None = None,
    ) -> None:
        """Re-key an order (new prices or trail, a stop triggered into a limit)."""
        self.remove(order_id)
        self.add(order_id, ticker_id, keys, trail)

    def move_marks(self, ticker_id: str, last: Decimal) -> None:
        """A last trade of `last`: the trailing marks it improves become `last` (SELL: marks below
        it, BUY: marks above it), per group of orders that share a mark."""
        ticker = self._tickers.get(ticker_id)
        if ticker is None:
            return
        for book in ticker.trails.values():
            if book.move(last):
                self._trails_moved.add(ticker_id)
                ticker.bounds = None

    def crossed(
        self,
        ticker_id: str,
        *,
        last: Decimal,
        bid: Decimal | None,
        ask: Decimal | None,
        table: TickTable | None = None,
    ) -> list[UUID]:
        """Orders of `ticker_id` this quote may fill or trigger, in price-time priority per book
        (trailing stops after the plain stops of their side, their stops rounded with `table`,
        needed when the ticker has any), followed by the ticker's every-tick orders."""
        ticker = self._tickers.get(ticker_id)
        if ticker is None:
            return []
        low_buy = last if ask is None else min(ask, last)
        high_buy = last if ask is None else max(ask, last)
        low_sell = last if bid is None else min(bid, last)
        high_sell = last if bid is None else max(bid, last)
        books = ticker.books
        trails = ticker.trails
        if (trails["BUY"] or trails["SELL"]) and table is None:
            raise ValueError(f"{ticker_id} has trailing stops: crossed() needs its tick table")
        found: Iterable[_Entry] = itertools.chain(
            _head(books["buy_limit"], -low_buy),  # limit ≥ low_buy
            _head(books["sell_limit"], high_sell),  # limit ≤ high_sell
            _head(books["buy_stop"], high_buy),  # stop ≤ high_buy
            trails["BUY"].triggered(high_buy, table) if trails["BUY"] else (),  # type: ignore[arg-type]
            _head(books["sell_stop"], -low_sell),  # stop ≥ low_sell
            trails["SELL"].triggered(low_sell, table) if trails["SELL"] else (),  # type: ignore[arg-type]
        )
        ids = list(dict.fromkeys(entry[2] for entry in found))
        return ids + list(ticker.every_tick) if ticker.every_tick else ids

    def mark_of(self, order_id: UUID) -> Decimal | None:
        """A trailing stop's mark as the ticks have moved it (None: not a marked trailing stop)."""
        ticker_id, _, trail = self._where[order_id]
        if trail is None:
            return None
        return self._tickers[ticker_id].trails[trail.side].mark_of(order_id)

    def placement_of(self, order_id: UUID) -> tuple[dict[Book, Decimal], Trail | None]:
        """The keys an order is indexed under, and its trail with its current mark (none and
        None for every-tick orders)."""
        _, entries, trail = self._where[order_id]
        keys = {
            book: -entry[0] if book in _NEGATED else entry[0] for book, entry in entries.items()
        }
        if trail is not None:
            mark = self.mark_of(order_id)
            assert mark is not None
            trail = trail._replace(mark=mark)
        return keys, trail

    def take_moved_trails(self) -> list[UUID]:
        """The trailing stops whose marks moved since the last call (to be written)."""
        moved, self._trails_moved = self._trails_moved, set()
        return [
            order_id
            for ticker_id in moved
            for book in self._tickers[ticker_id].trails.values()
            for order_id in book.take_moved()
        ]


def _head(book: SortedList, bound: Decimal) -> list[_Entry]:
    """The entries whose stored price is at or below `bound`, best first."""
    if not book or book[0] > (bound, _ABOVE):
        return []  # most ticks cross nothing: one comparison instead of a bisection
    return book[: book.bisect_right((bound, _ABOVE))]
