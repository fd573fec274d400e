"""Websocket fan-out: each client has a bounded quote backlog (drop-oldest) and an unbounded
queue for its own order events (never dropped), so a slow browser stalls nobody else.

Every message is encoded once and the same text is queued to each interested client. Market
data is gathered for a moment after a burst starts and then handed to every client at once, so
a feed's round of ticks costs one wake-up and one write per client, not one per client per tick.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from uuid import UUID

import anyio
import anyio.lowlevel
import msgspec
import structlog
from anyio.abc import ObjectReceiveStream

from daemon.api import json_plain
from daemon.api.views import event_info, order_view
from daemon.api.ws_messages import (
    OrderMessage,
    QuoteMessage,
    candle_message,
    fx_message,
    quote_fields,
)
from daemon.candles import for_the_wire
from daemon.messages import CandleBar, FxRate, MarketData, OrderEvent, Quote
from daemon.price_book import PriceBook

log = structlog.get_logger(__name__)

ALL = "*"
COALESCE_SECONDS = 0.01  # from the first message of a burst to handing it to the clients
WAKE_GROUP = 100  # clients whose senders run in one turn of the event loop


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
        """`push(text, droppable=True)` for each of `texts`, with one wake-up."""
        room = self.quotes.maxlen or 0
        overflow = len(self.quotes) + len(texts) - room
        if overflow > 0:
            self.dropped += overflow
        whole = not self.quotes and not self.priority and len(texts) <= room
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
        self, book: PriceBook, backlog: int = 512, coalesce: float = COALESCE_SECONDS
    ) -> None:
        self._book = book
        self._backlog = backlog
        self._coalesce = coalesce
        self.clients: set[WsClient] = set()
        self._by_ticker: defaultdict[str, set[WsClient]] = defaultdict(set)
        self._by_user: defaultdict[UUID, set[WsClient]] = defaultdict(set)
        self._burst: list[tuple[str | None, str]] = []  # (ticker id, text), not yet handed out
        self._burst_started = anyio.Event()

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

    def unsubscribe(self, client: WsClient, tickers: Iterable[str]) -> None:
        for ticker in tickers:
            client.tickers.discard(ticker)
            subscribers = self._by_ticker.get(ticker)
            if subscribers is not None:
                subscribers.discard(client)
                if not subscribers:
                    del self._by_ticker[ticker]

    def _fan_out(self, ticker_id: str | None, text: str) -> None:
        """Queue `text` for the subscribers of `ticker_id` (None: for every client) in this burst."""
        self._burst.append((ticker_id, text))
        self._burst_started.set()

    def _take_burst(self) -> list[tuple[WsClient, tuple[str, ...]]]:
        """Who gets what of the burst so far; the burst starts afresh."""
        burst, self._burst = self._burst, []
        self._burst_started = anyio.Event()
        everything = tuple(text for _, text in burst)
        deliveries = [(client, everything) for client in self._by_ticker.get(ALL, ())]
        tickers = {ticker for ticker, _ in burst if ticker is not None}
        # Untickered news (the FX rate) goes to every client: any page may value USD with it.
        if len(tickers) < len(burst):
            interested: Iterable[WsClient] = self.clients
        else:
            interested = {c for t in tickers & self._by_ticker.keys() for c in self._by_ticker[t]}
        for client in interested:
            if ALL not in client.tickers:
                wanted = client.tickers
                texts = tuple(text for ticker, text in burst if ticker is None or ticker in wanted)
                if texts:
                    deliveries.append((client, texts))
        return deliveries

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

    def on_candle(self, bar: CandleBar) -> None:
        if not self._by_ticker:
            return
        self._fan_out(bar.ticker_id, encode(candle_message(for_the_wire(bar))))

    def on_order(self, event: OrderEvent) -> None:
        clients = self._by_user.get(event.order.user_id)
        if clients:
            text = encode(OrderMessage(order_view(event.order), event_info(event.event)))
            for client in clients:
                client.push(text, droppable=False)

    def dropped(self) -> int:
        return sum(client.dropped for client in self.clients)

    async def run(
        self,
        market: ObjectReceiveStream[MarketData],
        orders: ObjectReceiveStream[OrderEvent],
        candles: ObjectReceiveStream[CandleBar] | None = None,
    ) -> None:
        async def pump(stream: ObjectReceiveStream, handle) -> None:  # type: ignore[no-untyped-def]
            async for item in stream:
                handle(item)

        async with anyio.create_task_group() as tg:
            tg.start_soon(self._hand_out)
            tg.start_soon(pump, market, self.on_market)
            tg.start_soon(pump, orders, self.on_order)
            if candles is not None:
                tg.start_soon(pump, candles, self.on_candle)
