"""Websocket fan-out: each client has a bounded quote backlog (drop-oldest) and an unbounded
queue for its own order events (never dropped), so a slow browser stalls nobody else.

Every message is encoded once and the same text is queued to each interested client. Market
data is gathered for a moment after a burst starts and then handed to every client at once, so
a feed's round of ticks costs one write per client, not one per client per tick; a client with
nothing else queued or being sent gets it written to its socket by the hub itself (framed once
for all), with no wake-up of its send task at all.

Order books go to the clients that named their ticker (not to `*`: a markets list wants no
books), at most BOOKS_PER_SECOND a second per ticker; a book that arrives sooner waits, and a
newer one replaces it while it waits (the latest book wins).

A fill of a player who shows their trades live (daemon/api/ws_feed.py) goes as a `feed` message
to every other signed-in client: market data, dropped first for a slow one (GET /api/feed has
it all). The owner gets the fill as their own order event.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from uuid import UUID

import anyio
import anyio.lowlevel
import msgspec
import structlog
from anyio.abc import ObjectReceiveStream

from daemon.api import json_plain
from daemon.api.views import event_info, order_view, trade_view
from daemon.api.ws_feed import FeedSights
from daemon.api.ws_messages import (
    BookMessage,
    FeedMessage,
    OrderMessage,
    QuoteMessage,
    book_fields,
    candle_message,
    fx_message,
    quote_fields,
)
from daemon.candles import for_the_wire
from daemon.db_faults import database_unavailable
from daemon.messages import CandleBar, FxRate, MarketData, Order, OrderBook, OrderEvent, Quote
from daemon.price_book import PriceBook
from daemon.streams import batches

log = structlog.get_logger(__name__)

ALL = "*"
COALESCE_SECONDS = 0.01  # from the first message of a burst to handing it to the clients
WAKE_GROUP = 100  # clients whose senders run in one turn of the event loop
BOOKS_PER_SECOND = 5  # per ticker, to the websocket clients


def encode(message: msgspec.Struct) -> str:
    return json_plain.encode(message).decode()


class WsClient:
    def __init__(self, backlog: int) -> None:
        self.user_id: UUID | None = None
        self.tickers: set[str] = set()
        self.quotes: deque[str] = deque(maxlen=backlog)  # market data: oldest dropped when full
        self.priority: deque[str] = deque()  # order events and replies: never dropped
        self.dropped = 0
        self.wakeup = anyio.Event()
        # The server's way to write frames at once (ws_route.WRITE_NOW), and whether the
        # client's own task is sending a batch (then nothing may be written around it).
        self.write_now: Callable[[Sequence[str]], bool] | None = None
        self.sending = False
        # The hub's own tuple when the queue holds exactly one burst and nothing else: handed
        # back as it is, so the server can frame it once for every client that gets it.
        self._shared: tuple[str, ...] | None = None

    def push(self, text: str, *, droppable: bool) -> None:
        self._shared = None
        if droppable:
            if len(self.quotes) == self.quotes.maxlen:
                self.dropped += 1
            self.quotes.append(text)
        else:
            self.priority.append(text)
        self.wakeup.set()

    def push_market(self, texts: tuple[str, ...]) -> None:
        """`push(text, droppable=True)` for each of `texts`, with one wake-up; or written at
        once when nothing is queued or being sent and the socket takes it."""
        room = self.quotes.maxlen or 0
        whole = not self.quotes and not self.priority and len(texts) <= room
        if whole and not self.sending and self.write_now is not None and self.write_now(texts):
            return
        overflow = len(self.quotes) + len(texts) - room
        if overflow > 0:
            self.dropped += overflow
        self._shared = texts if whole else None
        self.quotes.extend(texts)
        self.wakeup.set()

    def take(self) -> Sequence[str]:
        """Everything queued, order events first."""
        self.wakeup = anyio.Event()
        if self._shared is not None:
            batch: Sequence[str] = self._shared
            self._shared = None
        elif not self.priority:
            batch = list(self.quotes)
        else:
            batch = list(self.priority) + list(self.quotes)
            self.priority.clear()
        self.quotes.clear()
        return batch


class WebsocketHub:
    def __init__(
        self,
        book: PriceBook,
        backlog: int = 512,
        coalesce: float = COALESCE_SECONDS,
        books_per_second: float = BOOKS_PER_SECOND,
        sights: FeedSights | None = None,  # None: no live feed (a hub without a database)
    ) -> None:
        self._book = book
        self._sights = sights
        # Fills for the feed, in order; a sight not cached yet is looked up on the way.
        self._fills_in, self._fills = anyio.create_memory_object_stream[Order](math.inf)
        self._backlog = backlog
        self._coalesce = coalesce
        self.clients: set[WsClient] = set()
        self._by_ticker: defaultdict[str, set[WsClient]] = defaultdict(set)
        self._by_user: defaultdict[UUID, set[WsClient]] = defaultdict(set)
        # (ticker id, text, is a book), not yet handed out
        self._burst: list[tuple[str | None, str, bool]] = []
        self._burst_started = anyio.Event()
        self._book_gap = 1 / books_per_second  # seconds between two books of one ticker
        self._book_sent: dict[str, float] = {}  # ticker id -> event-loop time of its last book
        self._book_waiting: dict[str, OrderBook] = {}  # the latest book held back, per ticker
        self._books_held = anyio.Event()
        self.books_sent = 0
        self.books_coalesced = 0  # books replaced by a newer one before they were sent

    def connect(self) -> WsClient:
        client = WsClient(self._backlog)
        self.clients.add(client)
        return client

    def disconnect(self, client: WsClient) -> None:
        self.clients.discard(client)
        self.unsubscribe(client, list(client.tickers))
        if client.user_id is not None:
            self._by_user[client.user_id].discard(client)
            if not self._by_user[client.user_id]:
                del self._by_user[client.user_id]

    def authenticate(self, client: WsClient, user_id: UUID) -> None:
        if client.user_id is not None:
            self._by_user[client.user_id].discard(client)
        client.user_id = user_id
        self._by_user[user_id].add(client)

    def subscribe(self, client: WsClient, tickers: Iterable[str]) -> None:
        for ticker in tickers:
            client.tickers.add(ticker)
            self._by_ticker[ticker].add(client)
        # A new subscriber sees the current prices at once instead of waiting for the next tick.
        wanted = client.tickers
        for quote in self._book.quotes():
            if ALL in wanted or quote.ticker_id in wanted:
                client.push(encode(QuoteMessage(**quote_fields(quote, self._book))), droppable=True)
        for ticker in tickers:
            book = self._book.order_book(ticker)
            if book is not None:
                client.push(encode(BookMessage(**book_fields(book, self._book))), droppable=True)

    def unsubscribe(self, client: WsClient, tickers: Iterable[str]) -> None:
        for ticker in tickers:
            client.tickers.discard(ticker)
            subscribers = self._by_ticker.get(ticker)
            if subscribers is not None:
                subscribers.discard(client)
                if not subscribers:
                    del self._by_ticker[ticker]

    def _fan_out(self, ticker_id: str | None, text: str, *, book: bool = False) -> None:
        """Queue `text` for the subscribers of `ticker_id` (None: for every client) in this burst."""
        self._burst.append((ticker_id, text, book))
        self._burst_started.set()

    def _take_burst(self) -> list[tuple[WsClient, tuple[str, ...]]]:
        """Who gets what of the burst so far; the burst starts afresh."""
        burst, self._burst = self._burst, []
        self._burst_started = anyio.Event()
        everything = tuple(text for _, text, book in burst if not book)  # `*` gets no books
        book_tickers = {ticker for ticker, _, book in burst if book}
        deliveries = []
        for client in self._by_ticker.get(ALL, ()):
            if book_tickers & client.tickers:  # `*` and some tickers named: their books too
                wanted = client.tickers
                texts = tuple(text for t, text, book in burst if not book or t in wanted)
            else:
                texts = everything
            if texts:
                deliveries.append((client, texts))
        tickers = {ticker for ticker, _, _ in burst if ticker is not None}
        # Untickered news (the FX rate) goes to every client: any page may value USD with it.
        if len(tickers) < len(burst):
            interested: Iterable[WsClient] = self.clients
        else:
            interested = {c for t in tickers & self._by_ticker.keys() for c in self._by_ticker[t]}
        for client in interested:
            if ALL not in client.tickers:
                wanted = client.tickers
                texts = tuple(
                    text for ticker, text, _ in burst if ticker is None or ticker in wanted
                )
                if texts:
                    deliveries.append((client, texts))
        return deliveries

    def _on_book(self, book: OrderBook) -> None:
        ticker = book.ticker_id
        if ticker not in self._by_ticker:
            return  # nobody named it: skip the encoding
        if anyio.current_time() - self._book_sent.get(ticker, -math.inf) >= self._book_gap:
            self._send_book(book)
            return
        if ticker in self._book_waiting:
            self.books_coalesced += 1
        self._book_waiting[ticker] = book
        self._books_held.set()

    def _send_book(self, book: OrderBook) -> None:
        self._book_sent[book.ticker_id] = anyio.current_time()
        self.books_sent += 1
        text = encode(BookMessage(**book_fields(book, self._book)))
        self._fan_out(book.ticker_id, text, book=True)

    async def _release_books(self) -> None:
        """Send each held book once its ticker's gap since the last one has passed."""
        while True:
            await self._books_held.wait()
            due = min(self._book_sent[t] for t in self._book_waiting) + self._book_gap
            await anyio.sleep(max(0.0, due - anyio.current_time()))
            now = anyio.current_time()
            for ticker, book in tuple(self._book_waiting.items()):
                if now - self._book_sent[ticker] >= self._book_gap:
                    del self._book_waiting[ticker]
                    if ticker in self._by_ticker:
                        self._send_book(book)
            if not self._book_waiting:
                self._books_held = anyio.Event()

    async def _hand_out(self) -> None:
        rested_at = 0.0  # when the event loop has been free as long as the last hand-out took
        while True:
            await self._burst_started.wait()
            # The rest of the burst arrives meanwhile: one wake-up per client carries it all.
            # Under a steady stream of ticks, resting as long as the last hand-out took keeps
            # the fan-out to half the event loop; orders and the API need the other half.
            await anyio.sleep(max(self._coalesce, rested_at - anyio.current_time()))
            started = anyio.current_time()
            deliveries = self._take_burst()
            for start in range(0, len(deliveries), WAKE_GROUP):
                for client, texts in deliveries[start : start + WAKE_GROUP]:
                    client.push_market(texts)
                # The event loop writes its sockets once a turn: let these clients' senders run
                # (and their bytes leave) before waking the next group.
                await anyio.lowlevel.checkpoint()
            finished = anyio.current_time()
            rested_at = finished + (finished - started)

    def on_market(self, data: MarketData) -> None:
        match data:
            case Quote() if self._by_ticker:  # else nobody listens: skip the encoding
                self._fan_out(
                    data.ticker_id, encode(QuoteMessage(**quote_fields(data, self._book)))
                )
            case FxRate() if self.clients:
                self._fan_out(None, encode(fx_message(data)))
            case OrderBook():
                self._on_book(data)

    def on_candle(self, bar: CandleBar) -> None:
        if not self._by_ticker:
            return
        self._fan_out(bar.ticker_id, encode(candle_message(for_the_wire(bar))))

    def on_order(self, event: OrderEvent) -> None:
        owner = event.order.user_id
        clients = self._by_user.get(owner)
        if clients:
            text = encode(OrderMessage(order_view(event.order), event_info(event.event)))
            for client in clients:
                client.push(text, droppable=False)
        filled = event.event.kind == "filled" and event.order.status == "FILLED"  # once an order
        if filled and self._sights is not None and len(self._by_user) > (owner in self._by_user):
            self._fills_in.send_nowait(event.order)

    def forget(self, user_ids: Iterable[UUID]) -> None:
        """These players' share_trades, nickname or season changed: their next fill looks again."""
        if self._sights is not None:
            self._sights.forget(user_ids)

    async def _post_fills(self) -> None:
        async for orders in batches(self._fills):
            for order in orders:
                await self._post_fill(order)

    async def _post_fill(self, order: Order) -> None:
        assert self._sights is not None
        try:
            shown = await self._sights.of(order.user_id)
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            log.warning("feed_fill_skipped", order_id=str(order.id), error=repr(exc))
            return
        if shown is None or not shown.live:
            return
        text = encode(FeedMessage(trade_view(order, shown.nickname)))
        for user_id, clients in self._by_user.items():
            if user_id != order.user_id:
                for client in clients:
                    client.push(text, droppable=True)

    def dropped(self) -> int:
        return sum(client.dropped for client in self.clients)

    async def run(
        self,
        market: ObjectReceiveStream[MarketData],
        orders: ObjectReceiveStream[OrderEvent],
        candles: ObjectReceiveStream[CandleBar] | None = None,
    ) -> None:
        async def pump(stream: ObjectReceiveStream, handle) -> None:  # type: ignore[no-untyped-def]
            async for items in batches(stream):
                for item in items:
                    handle(item)

        async with anyio.create_task_group() as tg:
            tg.start_soon(self._hand_out)
            tg.start_soon(self._release_books)
            tg.start_soon(pump, market, self.on_market)
            tg.start_soon(pump, orders, self.on_order)
            if self._sights is not None:
                tg.start_soon(self._post_fills)
            if candles is not None:
                tg.start_soon(pump, candles, self.on_candle)
