"""A settlement actor: owns one partition of the users and settles their orders strictly in order.

It alone writes its users' wallets, positions and orders, so it keeps their state in memory,
decides a whole batch of orders there, and commits the batch in one transaction. Start and
restart take the same path: forget everything, reload PENDING orders from the database. While
it runs, a reconciliation pages through the PENDING orders in the database and takes up those of
its users that nobody handed over (their request failed after the commit, say).

Resting orders are woken by the market, not by a timer: the actor watches every quote (a
bounded stream from the market hub) and, after a tick of a ticker it has resting orders in,
decides again only the orders that tick crosses (`RestingIndex`). Expiries come from a heap
(`ExpiryQueue`), so nothing scans every resting order.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Protocol
from uuid import UUID

import anyio
import asyncpg
import msgspec
import structlog
from anyio.abc import ObjectReceiveStream, ObjectSendStream

from daemon import settlement_store as store
from daemon.clock import Clock
from daemon.engine.expiry_queue import ExpiryQueue
from daemon.engine.resting_index import Book, RestingIndex
from daemon.fills import NO_POSITION, Fill, MarketState, Rejection, Rest, decide
from daemon.instruments import Instrument
from daemon.messages import (
    CancelOrder,
    MarketData,
    Order,
    OrderEvent,
    Quote,
    SettlementCommand,
    SettleOrder,
    WakeResting,
)
from daemon.price_book import PriceBook
from daemon.sqlfiles import query

log = structlog.get_logger(__name__)

# Right after a start the price book is empty: market orders recovered from the database (or
# drained from the edge's backlog) wait this long for a first price instead of failing.
_WAITS_FOR_PRICES = frozenset({"no_price", "stale_price", "stale_fx_rate"})
_RECENT_LIMIT = 100_000  # order ids remembered as done, to drop redelivered duplicates cheaply
_STALE_RETRIES = 3
WAKE = WakeResting()
_CURSOR_START = (datetime(1970, 1, 1, tzinfo=UTC), UUID(int=0))


class MarketCalendar(Protocol):
    def is_open(self, market: str, at: datetime) -> bool: ...


def partition_of(user_id: UUID, partitions: int) -> int:
    """The settlement partition that owns `user_id`: stable across restarts and processes."""
    return user_id.int % partitions


def order_from_row(row: asyncpg.Record) -> Order:
    return Order(**dict(row))


class SettlementActor:
    def __init__(
        self,
        *,
        index: int,
        partitions: int,
        pool: asyncpg.Pool,
        book: PriceBook,
        calendar: MarketCalendar,
        fee_rate: Callable[[str, str], Decimal],
        instruments: Sequence[Instrument],
        clock: Clock,
        inbox: ObjectReceiveStream[SettlementCommand],
        publish: Callable[[OrderEvent], None] | None = None,
        market: ObjectReceiveStream[MarketData] | None = None,
        wake: ObjectSendStream[SettlementCommand] | None = None,
        limit_order_ttl: timedelta = timedelta(days=7),
        max_batch: int = 1000,
        idle_interval: float = 0.25,  # how often an idle actor looks at the clock (expiries)
        start_grace: timedelta = timedelta(seconds=10),
        max_open_orders: int = 200,
        reconcile_interval: float = 5.0,
        reconcile_page: int = 500,
        orphan_after: timedelta = timedelta(seconds=5),
    ) -> None:
        self.index = index
        self._partitions = partitions
        self._pool = pool
        self._book = book
        self._calendar = calendar
        self._fee_rate = fee_rate
        self._instruments = {i.ticker_id: i for i in instruments}
        self._clock = clock
        self._inbox = inbox
        self._publish_event = publish
        self._limit_ttl = limit_order_ttl
        self._max_batch = max_batch
        self._idle_interval = idle_interval
        self._start_grace = start_grace
        self._max_open_orders = max_open_orders  # resting orders per user
        self._grace_until = datetime.min.replace(tzinfo=UTC)
        self._users: dict[UUID, store.UserState] = {}
        self._resting: dict[UUID, Order] = {}
        self._index = RestingIndex()  # resting orders by the price that wakes them
        self._expiries = ExpiryQueue()
        self._waiting_for_prices: dict[UUID, None] = {}  # market orders resting in the grace
        self._quotes = market
        self._wake = wake  # the sending end of this actor's own inbox, for WakeResting
        self._wake_sent = False  # a WakeResting is in the inbox, not yet taken
        self._moved: set[str] = set()  # tickers quoted since their resting orders were checked
        self._recent: OrderedDict[UUID, None] = OrderedDict()
        self._reconcile_interval = reconcile_interval
        self._reconcile_page = reconcile_page
        self._orphan_after = orphan_after
        self._next_reconcile = 0.0
        self._cursor = _CURSOR_START
        self._log = log.bind(partition=index)
        self.ready = anyio.Event()  # set once recovery is done (again after each restart)

    @property
    def resting_orders(self) -> int:
        return len(self._resting)

    async def run(self) -> None:
        self._users.clear()
        self._resting.clear()
        self._index = RestingIndex()
        self._expiries = ExpiryQueue()
        self._waiting_for_prices.clear()
        self._moved.clear()
        self._wake_sent = False
        self._grace_until = self._clock.now() + self._start_grace
        async with anyio.create_task_group() as tg:
            if self._quotes is not None:
                tg.start_soon(self._watch_market, self._quotes)
            await self._recover()
            self.ready.set()
            await self._serve()
            tg.cancel_scope.cancel()

    async def _serve(self) -> None:
        while True:
            commands = await self._next_commands()
            if commands is None:
                self._log.info("settlement_inbox_closed")
                return
            with anyio.CancelScope(shield=True):
                # A batch in flight commits or rolls back whole, even during shutdown.
                await self._handle(commands)
                await self._wake_moved()
                await self._expire()
                await self._end_grace()
                await self._reconcile()

    async def _watch_market(self, market: ObjectReceiveStream[MarketData]) -> None:
        """Note each ticker quoted that has resting orders here, and cut the wait short."""
        async for data in market:
            if isinstance(data, Quote) and self._index.has_ticker(data.ticker_id):
                self._moved.add(data.ticker_id)
                if self._wake is not None and not self._wake_sent:
                    try:
                        self._wake.send_nowait(WAKE)
                        self._wake_sent = True
                    except anyio.WouldBlock:
                        pass  # the inbox is full: moved tickers are looked at after that batch

    async def _recover(self) -> None:
        rows = await self._pool.fetch(query("orders_pending"))
        mine = [order_from_row(r) for r in rows]
        mine = [o for o in mine if partition_of(o.user_id, self._partitions) == self.index]
        self._log.info("settlement_recovering", pending_orders=len(mine))
        for start in range(0, len(mine), self._max_batch):
            await self._settle([SettleOrder(o) for o in mine[start : start + self._max_batch]])

    async def _next_commands(self) -> list[SettlementCommand] | None:
        commands: list[SettlementCommand] = []
        with anyio.move_on_after(self._idle_interval):
            try:
                commands.append(await self._inbox.receive())
            except anyio.EndOfStream:
                return None
        while len(commands) < self._max_batch:
            try:
                commands.append(self._inbox.receive_nowait())
            except (anyio.WouldBlock, anyio.EndOfStream):
                break
        return commands

    async def _handle(self, commands: list[SettlementCommand]) -> None:
        run: list[SettleOrder] = []
        for command in commands:
            match command:
                case SettleOrder():
                    run.append(command)
                case CancelOrder():
                    await self._settle(run)
                    run = []
                    await self._cancel(command)
                case WakeResting():
                    self._wake_sent = False  # _wake_moved runs after this batch
        await self._settle(run)

    async def _settle(self, commands: list[SettleOrder]) -> None:
        if not commands:
            return
        # Drop what is already done or resting, and repeats within the batch (redeliveries).
        unique = {c.order.id: c.order for c in reversed(commands)}
        fresh = [
            order
            for order_id, order in reversed(unique.items())
            if order_id not in self._recent and order_id not in self._resting
        ]
        for attempt in range(_STALE_RETRIES + 1):
            try:
                await self._settle_once(fresh)
                break
            except store.StaleState as stale:
                if attempt == _STALE_RETRIES:
                    raise
                self._log.warning("settlement_state_stale", reason=str(stale), attempt=attempt)
                for order_id in stale.not_pending:
                    self._remember(order_id)
                fresh = [o for o in fresh if o.id not in stale.not_pending]
                for order in fresh:
                    self._users.pop(order.user_id, None)
        for command in commands:
            if command.committed is not None:
                command.committed.set()

    async def _settle_once(self, orders: list[Order]) -> None:
        now = self._clock.now()
        await self._load_users({o.user_id for o in orders})
        scratch = {user_id: self._users[user_id].copy() for user_id in {o.user_id for o in orders}}
        batch = store.Batch()
        resting: list[Order] = []
        open_orders = Counter(o.user_id for o in self._resting.values())
        for order in orders:
            user = scratch.get(order.user_id)
            if user is None:
                # No wallet row: nothing can be settled for this account.
                batch.ended.append(_end(order, "FAILED", "undeliverable"))
                continue
            outcome = decide(
                order,
                self._market(order),
                user.cash,
                user.positions.get(order.ticker_id, NO_POSITION),
            )
            match outcome:
                case Fill():
                    self._apply_fill(batch, user, order, outcome, now)
                case Rejection(reason=reason) if (
                    reason in _WAITS_FOR_PRICES and now < self._grace_until
                ):
                    resting.append(order)
                case Rejection(reason=reason):
                    batch.ended.append(_end(order, "FAILED", reason))
                case Rest() if open_orders[order.user_id] >= self._max_open_orders:
                    batch.ended.append(_end(order, "FAILED", "too_many_open_orders"))
                case Rest():
                    resting.append(order)
                    open_orders[order.user_id] += 1
        if batch:
            async with self._pool.acquire() as conn:
                await store.commit(conn, batch, now)
        self._users.update(scratch)
        for order in resting:
            self._rest(order, waits_for_prices=order.type == "MARKET")
        self._publish(batch)

    def _apply_fill(
        self, batch: store.Batch, user: store.UserState, order: Order, fill: Fill, now: datetime
    ) -> None:
        old_cash = batch.wallets.get(order.user_id, (user.cash, user.cash))[0]
        user.cash += fill.cash_delta
        batch.wallets[order.user_id] = (old_cash, user.cash)
        key = (order.user_id, order.ticker_id)
        old_position = (
            batch.positions[key][0]
            if key in batch.positions
            else user.positions.get(order.ticker_id)
        )
        user.positions[order.ticker_id] = fill.position
        batch.positions[key] = (old_position, fill.position, order.currency)
        filled = msgspec.structs.replace(
            order,
            status="FILLED",
            price=fill.price,
            applied_exchange_rate=fill.rate,
            total_krw=fill.total_krw,
            fee_krw=fill.fee_krw,
            filled_at=now,
        )
        batch.filled.append((filled, fill.cash_delta))

    def _rest(self, order: Order, *, waits_for_prices: bool) -> None:
        self._resting[order.id] = order
        self._index.add(order.id, order.ticker_id, _index_keys(order))
        if waits_for_prices:
            self._waiting_for_prices[order.id] = None
        else:
            self._expiries.set(order.id, order.created_at + self._limit_ttl)

    def _unrest(self, order_id: UUID) -> Order | None:
        self._index.remove(order_id)
        self._expiries.remove(order_id)
        self._waiting_for_prices.pop(order_id, None)
        return self._resting.pop(order_id, None)

    def _market(self, order: Order) -> MarketState:
        instrument = self._instruments.get(order.ticker_id)
        market = instrument.market if instrument else order.ticker_id.split("-", 1)[0]
        quote = self._book.quote(order.ticker_id)
        fx = self._book.fx() if order.currency == "USD" else None
        return MarketState(
            is_open=self._calendar.is_open(market, self._clock.now()),
            quote=quote,
            quote_stale=quote is not None and self._book.is_stale(quote),
            fx=fx,
            fx_stale=fx is not None and self._book.is_stale(fx),
            fee_rate=self._fee_rate(market, order.side),
        )

    async def _load_users(self, user_ids: set[UUID]) -> None:
        missing = user_ids - self._users.keys()
        if missing:
            async with self._pool.acquire() as conn:
                self._users.update(await store.load_users(conn, missing))

    async def _cancel(self, command: CancelOrder) -> None:
        # Closed however this ends: if the database fails us, the caller hears it at once.
        with command.reply:
            await command.reply.send(await self._cancelled(command))

    async def _cancelled(self, command: CancelOrder) -> Order | None:
        resting = self._resting.get(command.order_id)
        if resting is not None and resting.user_id == command.user_id:
            cancelled = await self._end_resting(resting, "CANCELLED", "user_cancelled")
            if cancelled is not None:
                return cancelled
        # Not resting here: settled already (commands run in order), someone else's, or not yet
        # delivered to us (still in the broker). The last kind can be cancelled in place.
        row = await self._pool.fetchrow(query("orders_get_own"), command.order_id, command.user_id)
        order = order_from_row(row) if row else None
        if order is not None and order.status == "PENDING":
            order = await self._end_resting(order, "CANCELLED", "user_cancelled") or order
        return order

    async def _end_resting(self, order: Order, status: str, reason: str) -> Order | None:
        """End a resting limit order; None if the database says it had already ended."""
        ended = _end(order, status, reason)
        self._unrest(order.id)
        try:
            async with self._pool.acquire() as conn:
                await store.commit(conn, store.Batch(ended=[ended]), self._clock.now())
        except store.StaleState:
            self._remember(order.id)
            self._log.warning("resting_order_not_pending", order_id=str(order.id))
            return None
        self._publish(store.Batch(ended=[ended]))  # remembered as done once it is committed
        return ended

    async def _wake_moved(self) -> None:
        """Decide again the resting orders the latest quote of each moved ticker crosses."""
        moved, self._moved = self._moved, set()
        woken: list[Order] = []
        for ticker_id in moved:
            quote = self._book.quote(ticker_id)
            if quote is None:
                continue
            crossed = self._index.crossed(ticker_id, last=quote.price, bid=quote.bid, ask=quote.ask)
            woken += [order for order_id in crossed if (order := self._unrest(order_id))]
        await self._settle([SettleOrder(o) for o in woken])

    async def _expire(self) -> None:
        for order_id in self._expiries.pop_due(self._clock.now()):
            order = self._resting.get(order_id)
            if order is not None:
                await self._end_resting(order, "CANCELLED", "expired")

    async def _end_grace(self) -> None:
        """Once the start-up grace is over, market orders still waiting for a price are decided
        (they fail if there is none): a ticker that never quotes must not keep them open."""
        if not self._waiting_for_prices or self._clock.now() < self._grace_until:
            return
        waiting = [o for o in map(self._unrest, list(self._waiting_for_prices)) if o]
        await self._settle([SettleOrder(o) for o in waiting])

    async def _reconcile(self) -> None:
        """Settle PENDING orders of this partition that were never handed over, one page of the
        database's PENDING orders at a time, while the inbox is empty (so none of them is
        merely waiting in it) and only those older than `orphan_after` (so none is on its way
        from the recorder)."""
        now = anyio.current_time()
        if now < self._next_reconcile or self._inbox.statistics().current_buffer_used:
            return
        self._next_reconcile = now + self._reconcile_interval
        rows = await self._pool.fetch(
            query("orders_pending_page"),
            self._clock.now() - self._orphan_after,
            *self._cursor,
            self._reconcile_page,
        )
        full = len(rows) == self._reconcile_page
        self._cursor = (rows[-1]["created_at"], rows[-1]["id"]) if full else _CURSOR_START
        orphans = [
            order
            for order in map(order_from_row, rows)
            if partition_of(order.user_id, self._partitions) == self.index
            and order.id not in self._resting
            and order.id not in self._recent
        ]
        for order in orphans:
            self._log.warning(
                "order_reconciled", order_id=str(order.id), user_id=str(order.user_id)
            )
        await self._settle([SettleOrder(o) for o in orphans])

    def _remember(self, order_id: UUID) -> None:
        self._recent[order_id] = None
        if len(self._recent) > _RECENT_LIMIT:
            self._recent.popitem(last=False)

    def _publish(self, batch: store.Batch) -> None:
        for order in [o for o, _ in batch.filled] + batch.ended:
            self._remember(order.id)
            self._log.info(
                "order_settled",
                order_id=str(order.id),
                user_id=str(order.user_id),
                ticker_id=order.ticker_id,
                side=order.side,
                status=order.status,
                price=str(order.price) if order.price is not None else None,
                total_krw=str(order.total_krw) if order.total_krw is not None else None,
                reason=order.reason,
            )
            if self._publish_event is not None:
                self._publish_event(OrderEvent(order))


def _index_keys(order: Order) -> dict[Book, Decimal]:
    """A resting limit is woken by prices reaching its limit; a market order by any quote."""
    if order.limit_price is None:
        return {}
    return {"buy_limit" if order.side == "BUY" else "sell_limit": order.limit_price}


def _end(order: Order, status: str, reason: str) -> Order:
    return msgspec.structs.replace(order, status=status, reason=reason)  # type: ignore[arg-type]
