"""A settlement actor: owns one partition of the users and settles their orders strictly in order.

It alone writes its users' wallets, positions and orders, so it keeps their state in memory,
decides a whole batch of orders there with the engine's `decide()` (daemon/engine/), and
commits the batch in one transaction. Start and restart take the same path: forget everything,
reload the open orders from the database: the resting ones rebuild the reservations, the
resting-order index, the expiries and the trailing marks; the never-decided ones
(`resting_since IS NULL`) are decided as arrivals. While it runs, a reconciliation pages through
the never-decided orders in the database and takes up those of its users that nobody handed
over (their request failed after the commit, say).

An arrival is accepted here: its expiry from the calendars (`expires_at`), its reservation
(`ReservationLedger`; over-committing FAILs it), then `decide()`. Resting orders are woken by
the market, not by a timer: the market hub calls `on_market` with every quote, which notes the
tickers that have resting orders here; after such a tick the actor moves the trailing marks (per
group of orders sharing a mark, written behind) and decides again only the orders that tick
crosses (`wake`, `RestingIndex`). The first quote of a
session is kept and decided on before later ones (a gap through a limit at the open fills at
that quote, OPG orders execute on it). Expiries come from a heap (`ExpiryQueue`), so nothing
scans every resting order. Modify and cancel are commands in the same inbox, decided in order.
"""

from __future__ import annotations

import functools
import itertools
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext
from typing import Protocol
from uuid import UUID

import anyio
import asyncpg
import msgspec
import structlog
from anyio.abc import ObjectReceiveStream, ObjectSendStream

from daemon import settlement_store as store
from daemon.clock import Clock
from daemon.door_prices import door_prices
from daemon.engine.costs import CostPreset, trade_date
from daemon.engine.decide import NO_POSITION, Account, Decision, EngineEvent, Position, decide
from daemon.engine.exchange_rules import krx_price_limits, table_for
from daemon.engine.expiry_queue import ExpiryQueue
from daemon.engine.market import BookView, MarketSnapshot, QuoteView, Session
from daemon.engine.orders import MARKET_LIKE, OrderShapeError
from daemon.engine.reservations import (
    OverCommitted,
    ReservationLedger,
    ReserveParams,
    cash_needed,
    reservation_of,
)
from daemon.engine.resting_index import RestingIndex
from daemon.engine.shared_values import SharedValues
from daemon.engine.time_in_force import DEFAULT_GTC_DAYS, expires_at
from daemon.engine.trail_book import trail_stop
from daemon.engine.triggers import Placement, advance_mark, placement
from daemon.engine.wake import as_marked, wake
from daemon.messages import (
    CancelAnswer,
    CancelOrder,
    ForgetUsers,
    MarketData,
    ModifyOrder,
    ModifyRefused,
    Order,
    OrderBook,
    OrderEvent,
    Quote,
    SettlementCommand,
    SettleOrder,
    WakeResting,
)
from daemon.money import MONEY_CONTEXT, MoneyError
from daemon.order_requests import OrderRejected, apply_changes
from daemon.price_book import PriceBook
from daemon.season_rules import costs_for, excludes, refusal
from daemon.settlement_store import RecordedEvent, order_from_row
from daemon.sqlfiles import query
from daemon.tickers import parse_ticker

log = structlog.get_logger(__name__)

# Right after a start the price book is empty: market orders recovered from the database (or
# drained from the edge's backlog) wait this long for a first price instead of failing.
_WAITS_FOR_PRICES = frozenset({"no_price", "stale_price", "stale_fx_rate"})
_RECENT_LIMIT = 100_000  # order ids remembered as done, to drop redelivered duplicates cheaply
_STALE_RETRIES = 3
WAKE = WakeResting()
_CURSOR_START = (datetime(1970, 1, 1, tzinfo=UTC), UUID(int=0))
_MICROSECOND = timedelta(microseconds=1)
_LAST_MARKS_SECONDS = 5.0  # how long a stopping actor tries to write its unwritten marks
_MARK_ROWS_PER_WRITE = 100  # trailing marks written in one turn of the loop
_TICKS_KEPT = 10_000  # quotes of one ticker kept for the next look (then the latest replaces)
# An open order to decide again: on which quote, whether it is a session's first, and a trailing
# stop's mark as of that quote (None: as of now).
_Work = tuple[UUID, Quote | None, bool, Decimal | None]
_CHANGED_FIELDS = ("quantity", "limit_price", "stop_price", "trail_percent", "trail_amount")


class MarketCalendar(Protocol):
    def is_open(self, market: str, at: datetime) -> bool: ...

    def session(self, market: str, at: datetime) -> tuple[datetime, datetime] | None: ...

    def next_open(self, market: str, at: datetime) -> datetime | None: ...

    def next_close(self, market: str, at: datetime) -> datetime | None: ...


def partition_of(user_id: UUID, partitions: int) -> int:
    """The settlement partition that owns `user_id`: stable across restarts and processes."""
    return user_id.int % partitions


class _Batch:
    """One transaction in the making: what it writes, and what the actor does once it commits."""

    def __init__(self, users: dict[UUID, store.UserState]) -> None:
        self.users = users  # scratch copies, adopted after the commit
        self.writes = store.Batch()
        self.after: dict[UUID, Order] = {}  # every order this batch changed, as it ends up
        self.published: list[OrderEvent] = []
        self.waiting: list[Order] = []  # arrivals that wait out the start-up grace for a price
        self.opened: Counter[UUID] = Counter()  # arrivals left open, per user


class SettlementActor:
    def __init__(
        self,
        *,
        index: int,
        partitions: int,
        pool: asyncpg.Pool,
        book: PriceBook,
        calendar: MarketCalendar,
        costs: CostPreset,
        clock: Clock,
        inbox: ObjectReceiveStream[SettlementCommand],
        publish: Callable[[OrderEvent], None] | None = None,
        wake: ObjectSendStream[SettlementCommand] | None = None,
        reserve: ReserveParams | None = None,
        gtc_days: int = DEFAULT_GTC_DAYS,
        max_batch: int = 1000,
        idle_interval: float = 0.25,  # how often an idle actor looks at the clock (expiries)
        start_grace: timedelta = timedelta(seconds=10),
        max_open_orders: int = 200,
        reconcile_interval: float = 5.0,
        reconcile_page: int = 500,
        orphan_after: timedelta = timedelta(seconds=5),
        mark_write_interval: float = 1.0,
    ) -> None:
        self.index = index
        self._partitions = partitions
        self._pool = pool
        self._book = book
        self._calendar = calendar
        self._costs = costs
        self._reserve = reserve or ReserveParams()
        self._gtc_days = gtc_days
        self._clock = clock
        self._inbox = inbox
        self._publish_event = publish
        self._max_batch = max_batch
        self._idle_interval = idle_interval
        self._start_grace = start_grace
        self._max_open_orders = max_open_orders  # open orders per user
        self._grace_until = datetime.min.replace(tzinfo=UTC)
        self._users: dict[UUID, store.UserState] = {}
        self._open: dict[UUID, Order] = {}  # accepted and open, as committed
        self._per_user: Counter[UUID] = Counter()  # open orders per user
        self._waiting: dict[UUID, Order] = {}  # arrivals waiting in the grace for a price
        self._index = RestingIndex()  # open orders by the price that wakes them
        self._expiries = ExpiryQueue()
        self._ledger = ReservationLedger()
        self._shared = SharedValues()  # one object per repeated value of the orders held
        self._wake = wake  # the sending end of this actor's own inbox, for WakeResting
        self._wake_sent = False  # a WakeResting is in the inbox, not yet taken
        # Between turns of the loop the index is as committed, so `on_market` judges each quote
        # as it comes and rings only when it woke an order (most ticks wake none: no turn at
        # all). During a turn (a batch in flight) quotes are noted in order, per ticker, and
        # judged when the turn ends, before any later quote.
        self._in_turn = True
        self._ticks: dict[str, list[Quote]] = {}
        self._woken: list[_Work] = []  # judged, not yet decided: (open order, its quote, ...)
        self._woken_arrivals: dict[UUID, Order] = {}  # arrivals waiting in the grace, woken
        self.quotes_coalesced = 0  # quotes not looked at: a ticker's backlog was full
        self._session_seen: dict[str, datetime] = {}  # ticker -> the session its first quote is of
        self._opening: dict[str, Quote] = {}  # first quotes of a session, not yet decided on
        # What orders took from a ticker's displayed book: the book they walked and what is left
        # of it. It stays taken until the source sends the next book of that ticker.
        self._taken: dict[str, tuple[OrderBook, BookView]] = {}
        self._recent: OrderedDict[UUID, None] = OrderedDict()
        self._reconcile_interval = reconcile_interval
        self._reconcile_page = reconcile_page
        self._orphan_after = orphan_after
        self._next_reconcile = 0.0
        # Trailing marks live in the index (moved per group by the ticks) and are written behind:
        # at most every `mark_write_interval` seconds and when the actor stops (a daemon killed
        # meanwhile restarts from the marks last written); a batch writes an order's mark too.
        self._mark_write_interval = mark_write_interval
        self._next_mark_write = 0.0
        self._marks_due: dict[UUID, None] = {}  # this round's, not yet written
        self._cursor = _CURSOR_START
        self._log = log.bind(partition=index)
        self.ready = anyio.Event()  # set once recovery is done (again after each restart)

    @property
    def resting_orders(self) -> int:
        return len(self._open)

    def open_order(self, order_id: UUID) -> Order | None:
        """An open order of this partition as it stands, its trailing mark as the ticks moved it."""
        order = self._open.get(order_id)
        return None if order is None else self._marked(order)

    @property
    def ledger(self) -> ReservationLedger:
        """The reservations of this partition's open orders (read by tests and benchmarks)."""
        return self._ledger

    async def run(self) -> None:
        self._users.clear()
        self._open.clear()
        self._per_user.clear()
        self._waiting.clear()
        self._index = RestingIndex()
        self._expiries = ExpiryQueue()
        self._ledger = ReservationLedger()
        self._shared = SharedValues()
        self._in_turn = True
        self._ticks.clear()
        self._woken.clear()
        self._woken_arrivals.clear()
        self._marks_due.clear()
        self._opening.clear()
        self._taken.clear()
        self._wake_sent = False
        self._grace_until = self._clock.now() + self._start_grace
        try:
            await self._recover()
            self.ready.set()
            await self._serve()
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(_LAST_MARKS_SECONDS):
                await self._write_last_marks()

    async def _serve(self) -> None:
        while True:
            self._judge_noted()  # what came during the turn, before any quote that comes next
            self._in_turn = False
            commands = await self._next_commands()
            self._in_turn = True
            if commands is None:
                self._log.info("settlement_inbox_closed")
                return
            with anyio.CancelScope(shield=True):
                # A batch in flight commits or rolls back whole, even during shutdown. The orders
                # woken so far go first: their quotes came before anything in `commands` (an
                # arrival that waited for a price must not be overtaken by its user's later
                # orders); quotes noted meanwhile ring again (the doorbell is reset here).
                self._wake_sent = False
                await self._wake_quoted()
                await self._handle(commands)
                await self._expire()
                await self._end_grace()
                await self._reconcile()
                await self._write_marks()

    def on_market(self, data: MarketData) -> None:
        """Called by the market hub with every quote as it passes (and a session's first quote
        of each stock is noted): between turns, judge it at once and ring if it woke an order;
        during a turn, note it for the turn's end and ring."""
        if not isinstance(data, Quote):
            return
        ticker_id = data.ticker_id
        if not ticker_id.startswith("CRYPTO-"):
            session = self._calendar.session(ticker_id.split("-", 1)[0], data.received_at)
            if session is not None and self._session_seen.get(ticker_id) != session[0]:
                self._session_seen[ticker_id] = session[0]
                if self._index.has_ticker(ticker_id):  # an order placed later arrives on its own
                    self._opening[ticker_id] = data
        if not self._in_turn:
            if ticker_id not in self._opening and self._index.quiet(
                ticker_id, last=data.price, bid=data.bid, ask=data.ask
            ):
                return  # most ticks: nothing to move or cross
            try:
                if self._judge(ticker_id, [data]):
                    self._ring()
                return
            except Exception:  # not the hub's to carry: noted, the turn judges it and fails
                self._log.exception("settlement_judge_failed", ticker_id=ticker_id)
        if not self._index.has_ticker(ticker_id):
            return
        quotes = self._ticks.setdefault(ticker_id, [])
        if len(quotes) < _TICKS_KEPT:
            quotes.append(data)
        else:  # stuck for long (the database away): the latest replaces the one before it
            quotes[-1] = data
            self.quotes_coalesced += 1
        self._ring()

    def _ring(self) -> None:
        if self._wake is not None and not self._wake_sent:
            try:
                self._wake.send_nowait(WAKE)
                self._wake_sent = True
            except anyio.WouldBlock:
                pass  # the inbox is full: what woke is decided after that batch

    async def _recover(self) -> None:
        rows = await self._pool.fetch(query("orders_open"), self._partitions, self.index)
        mine = [order_from_row(r) for r in rows]
        # Their owners' cash and positions too: the first fill after a restart pays no load.
        await self._load_users({o.user_id for o in mine})
        undecided = [o for o in mine if o.resting_since is None]
        for order in mine:
            if order.resting_since is not None:
                self._keep_open(order)
        self._log.info(
            "settlement_recovering", resting_orders=len(self._open), undecided=len(undecided)
        )
        for start in range(0, len(undecided), self._max_batch):
            chunk = undecided[start : start + self._max_batch]
            await self._settle([SettleOrder(o) for o in chunk])

    async def _next_commands(self) -> list[SettlementCommand] | None:
        commands: list[SettlementCommand] = []
        try:
            commands.append(self._inbox.receive_nowait())  # busy: no timer, no cancel scope
        except anyio.EndOfStream:
            return None
        except anyio.WouldBlock:
            timeout = 0.0 if self._marks_due else self._idle_interval
            due = self._expiries.next_due()
            if due is not None:
                timeout = max(0.0, min(timeout, (due - self._clock.now()).total_seconds()))
            if timeout > 0:
                with anyio.move_on_after(timeout):
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
                case ModifyOrder():
                    await self._settle(run)
                    run = []
                    await self._modify(command)
                case WakeResting():
                    pass  # the doorbell: the quotes were judged before these commands
                case ForgetUsers():
                    await self._settle(run)
                    run = []
                    for user_id in command.user_ids:
                        self._users.pop(user_id, None)
        await self._settle(run)

    # --- one transaction ------------------------------------------------------------------
    async def _transact(self, user_ids: set[UUID], build: Callable[[_Batch], None]) -> _Batch:
        """Build a batch with `build` on scratch copies of `user_ids`' state, commit it, then
        adopt it. Reservations change as the batch is built (later orders see earlier ones);
        if the commit fails they are rebuilt from the committed open orders."""
        await self._load_users(user_ids)
        batch = _Batch({u: self._users[u].copy() for u in user_ids if u in self._users})
        build(batch)
        if batch.writes:
            try:
                async with self._pool.acquire() as conn:
                    await store.commit(conn, batch.writes, self._clock.now())
            except BaseException:
                self._ledger = ReservationLedger.rebuild(self._open.values())
                raise
        self._users.update(batch.users)
        self._adopt(batch)
        return batch

    def _adopt(self, batch: _Batch) -> None:
        for order_id, order in batch.after.items():
            if order.is_open:
                self._keep_open(order)
            else:
                self._drop(order_id)
                self._remember(order_id)
        for order in batch.waiting:
            self._waiting[order.id] = order
            if order.id not in self._index:
                self._index.add(order.id, order.ticker_id, {})
        self._publish(batch)

    def _keep_open(self, order: Order) -> None:
        """`order` (open, committed) rests: reservation, index, expiry, counts."""
        order = self._shared.order(order)
        if order.id not in self._open:
            self._per_user[order.user_id] += 1
        self._open[order.id] = order
        self._waiting.pop(order.id, None)
        # Only what changed is touched: a trailing mark the ticks moved is the index's already.
        if self._ledger.reservation(order.id) != reservation_of(order):
            self._ledger.hold(order)
        placed = placement(order)
        if order.id not in self._index:
            self._index.add(order.id, order.ticker_id, *placed)
        elif (held := self._index.placement_of(order.id)) != placed:
            if _moved_on(held, placed):  # the row has an older mark than the index: write it
                self._marks_due[order.id] = None
            else:
                self._index.modify(order.id, order.ticker_id, *placed)
        if self._expiries.due_at(order.id) != order.expires_at:
            self._expiries.set(order.id, order.expires_at)

    def _drop(self, order_id: UUID) -> None:
        order = self._open.pop(order_id, None)
        if order is not None:
            self._per_user[order.user_id] -= 1
        self._waiting.pop(order_id, None)
        self._ledger.release(order_id)
        self._index.remove(order_id)
        self._expiries.remove(order_id)

    def _apply(
        self,
        batch: _Batch,
        before: Order,
        decision: Decision,
        lead: Sequence[EngineEvent] = (),
        detail: dict[str, dict[str, str | None]] | None = None,
    ) -> Order:
        """Put a decision (with events the actor adds first: accepted, modified) into `batch`."""
        after = decision.order
        user = batch.users[after.user_id]
        for fill in decision.fills:
            old_cash = batch.writes.wallets.get(after.user_id, (user.cash, user.cash))[0]
            user.cash += fill.cash_delta
            batch.writes.wallets[after.user_id] = (old_cash, user.cash)
            batch.writes.fills.append((after, fill))
        if decision.fills and decision.book is not None:
            self._took(after.ticker_id, decision.book)
        if decision.fills:
            key = (after.user_id, after.ticker_id)
            old_position = (
                batch.writes.positions[key][0]
                if key in batch.writes.positions
                else user.positions.get(after.ticker_id)
            )
            user.positions[after.ticker_id] = decision.position
            batch.writes.positions[key] = (old_position, decision.position, after.currency)
        events = [*lead, *decision.events]
        if not events and after == before:
            return after
        batch.writes.record(before, after)
        for number, event in enumerate(events):
            batch.writes.events.append(
                RecordedEvent(after.id, event, detail if number == 0 and lead else None)
            )
        batch.after[after.id] = after
        batch.published += [OrderEvent(after, e) for e in events if e.kind != "accepted"]
        if after.is_open:
            self._ledger.hold(after)
        else:
            self._ledger.release(after.id)
        return after

    def _end(
        self, batch: _Batch, order: Order, status: str, reason: str, lead: Sequence[EngineEvent]
    ) -> Order:
        """End `order` without a fill (FAILED or CANCELLED `reason`), its reservation released."""
        return self._apply(batch, order, self._ended(order, status, reason), lead)

    def _ended(self, order: Order, status: str, reason: str) -> Decision:
        """The decision that ends `order` now without a fill, its reservation released."""
        kind = "failed" if status == "FAILED" else "cancelled"
        ended = msgspec.structs.replace(
            order,
            status=status,  # type: ignore[arg-type]
            reason=reason,
            reserved_krw=Decimal(0),
        )
        return Decision(
            order=ended,
            events=(EngineEvent(kind=kind, at=self._clock.now(), reason=reason),),  # type: ignore[arg-type]
            position=NO_POSITION,
        )

    # --- market state ---------------------------------------------------------------------
    def _snapshot(self, ticker_id: str, quote: Quote | None, first: bool = False) -> MarketSnapshot:
        now = self._clock.now()
        ticker = parse_ticker(ticker_id)
        market = ticker.market
        session = self._calendar.session(market, now) if market != "CRYPTO" else None
        is_open = market == "CRYPTO" or session is not None
        view = None
        limits = None
        if quote is not None:
            view = self._view(quote, now)
            if (
                market == "KRX"
                and quote.prev_close is not None
                and session is not None
                and session[0] <= quote.received_at < session[1]
            ):
                limits = krx_price_limits(ticker, quote.prev_close, trade_date(market, now))
        fx = self._book.fx() if ticker_id.startswith("US-") else None
        return MarketSnapshot(
            now=now,
            session=Session(
                is_open=is_open,
                first_quote=first,
                opened_at=None if session is None else session[0],
                next_open=None if is_open else self._calendar.next_open(market, now),
            ),
            quote=view,
            quote_stale=quote is not None and self._book.is_stale(quote),
            fx_rate=None if fx is None else fx.rate,
            fx_stale=fx is not None and self._book.is_stale(fx),
            price_limits=limits,
            book=self._depth(ticker_id),
        )

    def _depth(self, ticker_id: str) -> BookView | None:
        """The fresh displayed book of `ticker_id` less what orders here already took from it;
        None where no fresh book is known (fills go at the touch, and the receipt says so)."""
        view = self._book.book(ticker_id)
        if view is None:
            return None
        taken = self._taken.get(ticker_id)
        if taken is not None and taken[0] is self._book.order_book(ticker_id):
            return taken[1]
        return view

    def _took(self, ticker_id: str, left: BookView) -> None:
        source = self._book.order_book(ticker_id)
        if source is not None:
            self._taken[ticker_id] = (source, left)

    def _account(self, batch: _Batch, order: Order) -> Account:
        user = batch.users[order.user_id]
        position = user.positions.get(order.ticker_id, NO_POSITION)
        sellable = None
        if order.side == "SELL":  # what the user's other open sells of it do not hold
            sellable = (
                self._ledger.available_quantity(order.user_id, order.ticker_id, position.quantity)
                + self._ledger.reservation(order.id).quantity
            )
        return Account(
            cash_krw=user.cash,
            available_cash_krw=self._ledger.available_cash(order.user_id, user.cash),
            position=position,
            sellable_quantity=sellable,
        )

    def _decide(
        self, batch: _Batch, order: Order, quote: Quote | None, *, first: bool = False,
        replaced: bool = False, snapshot: MarketSnapshot | None = None,
    ) -> Decision:  # fmt: skip
        """Decide `order` on `quote`; `snapshot`: the market as the caller just saw it (no await
        since), not taken again."""
        season = batch.users[order.user_id].season
        decision = decide(
            order,
            self._snapshot(order.ticker_id, quote, first) if snapshot is None else snapshot,
            self._account(batch, order),
            costs=costs_for(season, self._costs),
            reserve=self._reserve,
            replaced=replaced,
        )
        refused = self._season_refusal(batch, order, decision)
        return decision if refused is None else self._ended(order, "FAILED", refused)

    def _season_refusal(self, batch: _Batch, order: Order, decision: Decision) -> str | None:
        """Why the user's running season refuses what `decision` does (its markets, the cap of
        one position in equity, valued at the latest prices), or None."""
        user = batch.users[order.user_id]
        if user.season is None:
            return None
        values = {
            ticker_id: self._value_krw(ticker_id, p) for ticker_id, p in user.positions.items()
        }
        return refusal(
            user.season,
            ticker_id=order.ticker_id,
            side=order.side,
            order_value_krw=sum((fill.total_krw for fill in decision.fills), Decimal(0)),
            position_value_krw=values.get(order.ticker_id, Decimal(0)),
            equity_krw=user.cash + sum(values.values(), Decimal(0)),
        )

    def _value_krw(self, ticker_id: str, position: Position) -> Decimal:
        """A position at its latest price (its average price if none is known yet) in KRW."""
        quote = self._book.quote(ticker_id)
        price = position.average_price if quote is None else quote.price
        rate = Decimal(1)
        if ticker_id.startswith("US-"):
            fx = self._book.fx()
            rate = Decimal(0) if fx is None else fx.rate
        with localcontext(MONEY_CONTEXT):
            return position.quantity * price * rate

    def _cash_needed(self, order: Order, snapshot: MarketSnapshot) -> Decimal | None:
        """What an open BUY must hold back (0 for a SELL); None if it cannot be priced now (a
        MARKET-like order with no quote, a USD order with no rate)."""
        if order.side == "SELL":
            return Decimal(0)
        quote = snapshot.quote
        needs_quote = order.amount_krw is None and (
            order.type in MARKET_LIKE and order.stop_price is None
        )
        if (needs_quote and quote is None) or (order.currency == "USD" and not snapshot.fx_rate):
            return None
        return cash_needed(
            order,
            reference_price=quote.touch(order.side) if quote is not None else Decimal(0),
            fx_rate=snapshot.fx_rate,
            costs=self._costs,
            on=trade_date(parse_ticker(order.ticker_id).market, snapshot.now),
            params=self._reserve,
        )

    # --- arrivals -------------------------------------------------------------------------
    async def _settle(self, commands: list[SettleOrder]) -> None:
        if not commands:
            return
        # Drop what is already done, open or waiting, and repeats in the batch (redeliveries).
        unique = {c.order.id: c.order for c in reversed(commands)}
        fresh = [
            order
            for order_id, order in reversed(unique.items())
            if order_id not in self._recent
            and order_id not in self._open
            and order_id not in self._waiting
        ]
        await self._decide_arrivals(fresh)
        for command in commands:
            if command.committed is not None:
                command.committed.set()

    async def _decide_arrivals(self, orders: list[Order]) -> None:
        if not orders:
            return
        for attempt in range(_STALE_RETRIES + 1):
            try:
                await self._transact(
                    {o.user_id for o in orders}, functools.partial(self._arrive_all, orders=orders)
                )
                return
            except store.StaleState as stale:
                if attempt == _STALE_RETRIES:
                    raise
                self._log.warning("settlement_state_stale", reason=str(stale), attempt=attempt)
                for order_id in stale.not_pending:
                    self._remember(order_id)
                orders = [o for o in orders if o.id not in stale.not_pending]
                for order in orders:
                    self._users.pop(order.user_id, None)

    def _arrive_all(self, batch: _Batch, *, orders: list[Order]) -> None:
        for order in orders:
            self._arrive(batch, order)

    def _arrive(self, batch: _Batch, order: Order) -> None:
        """Accept (expiry, reservation) and decide an order never decided before."""
        accepted = (EngineEvent(kind="accepted", at=order.created_at),)
        user = batch.users.get(order.user_id)
        if user is None:  # no wallet row: nothing can be settled for this account
            self._end(batch, order, "FAILED", "undeliverable", accepted)
            return
        if excludes(user.season, order.ticker_id):
            self._end(batch, order, "FAILED", "season_market_excluded", accepted)
            return
        market = parse_ticker(order.ticker_id).market
        try:
            expiry = order.expires_at or expires_at(
                market, order.time_in_force, order.created_at, self._calendar, self._gtc_days
            )
        except OrderShapeError:
            self._end(batch, order, "FAILED", "calendar_unknown", accepted)
            return
        quote = self._book.quote(order.ticker_id)
        snapshot = self._snapshot(order.ticker_id, quote)
        candidate = msgspec.structs.replace(order, expires_at=expiry)
        if (
            candidate.type == "TRAILING_STOP"
            and snapshot.quote is not None
            and (market == "CRYPTO" or snapshot.session.is_open)
        ):
            table = table_for(parse_ticker(order.ticker_id), trade_date(market, snapshot.now))
            candidate = advance_mark(candidate, snapshot.quote.price, table)
        in_grace = self._clock.now() < self._grace_until
        if not _executes_now(candidate):
            # Only an order that may rest holds its worst case; one that executes now or never
            # is judged by what it costs now (decide checks that against what is available).
            try:
                needed = self._cash_needed(candidate, snapshot)
            except MoneyError:
                self._end(batch, order, "FAILED", "value_too_large", accepted)
                return
            if needed is None:
                if in_grace:
                    batch.waiting.append(order)
                    return
                reason = "stale_fx_rate" if order.currency == "USD" and quote else "no_price"
                self._end(batch, order, "FAILED", reason, accepted)
                return
            candidate = msgspec.structs.replace(candidate, reserved_krw=needed)
            position = user.positions.get(order.ticker_id, NO_POSITION)
            try:
                self._ledger.reserve(
                    candidate,
                    reservation_of(candidate),
                    cash_krw=user.cash,
                    held_quantity=position.quantity,
                )
            except OverCommitted as exc:
                self._end(batch, order, "FAILED", exc.reason, accepted)
                return
        decision = self._decide(batch, candidate, quote, snapshot=snapshot)
        ended = decision.order
        if (
            not ended.is_open
            and ended.reason in _WAITS_FOR_PRICES
            and ended.filled_quantity == 0
            and in_grace
        ):
            self._ledger.release(order.id)
            batch.waiting.append(order)
            return
        if (
            ended.is_open
            and self._per_user[order.user_id] + batch.opened[order.user_id] >= self._max_open_orders
        ):
            self._ledger.release(order.id)
            self._end(batch, order, "FAILED", "too_many_open_orders", accepted)
            return
        after = self._apply(batch, order, decision, accepted)
        if after.is_open:
            batch.opened[order.user_id] += 1

    # --- resting orders -------------------------------------------------------------------
    async def _decide_resting(self, work: list[_Work]) -> None:
        """Decide again open orders (woken by a quote, or due to expire), as one batch, in order:
        each on its quote, a trailing stop with its mark as of that quote (None: as of now)."""
        work = [w for w in work if w[0] in self._open]
        if not work:
            return
        users = {self._open[w[0]].user_id for w in work}

        def build(batch: _Batch) -> None:
            for order_id, quote, first, mark in work:
                current = batch.after.get(order_id) or self._open[order_id]
                current = self._marked(current, mark)
                if current.is_open:
                    self._apply(batch, current, self._decide(batch, current, quote, first=first))

        await self._transact(users, build)

    async def _wake_quoted(self) -> None:
        """Decide what the quotes since the last look woke, all in one batch: each order on the
        quote that woke it (a trailing stop with its mark as of that quote). So a dip through a
        limit and back between two looks still fills it."""
        self._judge_noted()
        arrivals, self._woken_arrivals = self._woken_arrivals, {}
        work, self._woken = self._woken, []
        for order_id in arrivals:
            self._drop(order_id)
        await self._decide_arrivals(list(arrivals.values()))
        await self._decide_resting(work)

    def _judge_noted(self) -> None:
        ticks, self._ticks = self._ticks, {}
        for ticker_id, quotes in ticks.items():
            self._judge(ticker_id, quotes)

    def _judge(self, ticker_id: str, quotes: list[Quote]) -> bool:
        """Judge `quotes` of a ticker one by one in the order they came (a new session's first
        quote first): each moves the trailing marks, then what it crosses is woken, to be
        decided on that quote. True if any order woke."""
        woken = len(self._woken) + len(self._woken_arrivals)
        opening = self._opening.pop(ticker_id, None)
        ordered = [(opening, True)] if opening is not None else []
        ordered += [(quote, False) for quote in quotes if quote is not opening]
        index = self._index
        table = None
        for quote, first in ordered:
            if index.quiet(ticker_id, last=quote.price, bid=quote.bid, ask=quote.ask):
                continue  # it would move and cross nothing
            if table is None:
                market = ticker_id.split("-", 1)[0]
                trails = market == "CRYPTO" or self._calendar.is_open(market, self._clock.now())
                table = table_for(parse_ticker(ticker_id), trade_date(market, ordered[-1][0].ts))
            for order_id in wake(index, ticker_id, quote, trails=trails, table=table):
                if order_id in self._waiting:
                    self._woken_arrivals.setdefault(order_id, self._waiting[order_id])
                elif order_id in self._open:
                    self._woken.append((order_id, quote, first, index.mark_of(order_id)))
        return len(self._woken) + len(self._woken_arrivals) > woken

    def _marked(self, order: Order, mark: Decimal | None = None) -> Order:
        """An open order with its trailing mark (and stop) as the ticks moved it: as of now, or
        `mark` when given (the mark as of the quote it is judged on)."""
        if order.type != "TRAILING_STOP" or order.id not in self._index:
            return order
        market = order.ticker_id.split("-", 1)[0]
        table = table_for(parse_ticker(order.ticker_id), trade_date(market, self._clock.now()))
        return as_marked(order, self._index, table, mark)

    @staticmethod
    def _view(quote: Quote, now: datetime) -> QuoteView:
        """The quote as the engine and a receipt see it, with its age at `now`."""
        return QuoteView(
            price=quote.price,
            bid=quote.bid,
            ask=quote.ask,
            source=quote.source,
            ts=quote.ts,
            received_at=quote.received_at,
            age_seconds=Decimal((now - quote.received_at) // _MICROSECOND) / 1_000_000,
        )

    async def _expire(self) -> None:
        due = self._expiries.pop_due(self._clock.now())
        await self._decide_resting(
            [(order_id, self._book.quote(self._open[order_id].ticker_id), False, None)
             for order_id in due if order_id in self._open]
        )  # fmt: skip

    async def _end_grace(self) -> None:
        """Once the start-up grace is over, arrivals still waiting for a price are decided
        (they fail if there is none): a ticker that never quotes must not keep them open."""
        if not self._waiting or self._clock.now() < self._grace_until:
            return
        waiting = list(self._waiting.values())
        for order in waiting:
            self._drop(order.id)
        await self._decide_arrivals(waiting)

    # --- commands -------------------------------------------------------------------------
    async def _load_users(self, user_ids: set[UUID]) -> None:
        missing = user_ids - self._users.keys()
        if missing:
            async with self._pool.acquire() as conn:
                self._users.update(await store.load_users(conn, missing))

    async def _own_open(self, user_id: UUID, order_id: UUID) -> Order | None:
        """The caller's order: ours in memory when open here, else as the database has it."""
        order = self._open.get(order_id)
        order = self._waiting.get(order_id) if order is None else self._marked(order)
        if order is not None and order.user_id == user_id:
            return order
        row = await self._pool.fetchrow(query("orders_get_own"), order_id, user_id)
        return None if row is None else order_from_row(row)

    async def _cancel(self, command: CancelOrder) -> None:
        # Closed however this ends: if the database fails us, the caller hears it at once.
        with command.reply:
            await command.reply.send(await self._cancelled(command))

    async def _cancelled(self, command: CancelOrder) -> CancelAnswer | None:
        order = await self._own_open(command.user_id, command.order_id)
        if order is None or not order.is_open:
            return None if order is None else CancelAnswer(order, cancelled=False)
        # Open here; or never decided (waiting, or not yet delivered to us: still in the broker,
        # which hands it over later and finds it ended).
        lead = (
            () if order.id in self._open else (EngineEvent(kind="accepted", at=order.created_at),)
        )
        self._waiting.pop(order.id, None)
        try:
            batch = await self._transact(
                {order.user_id},
                lambda b: self._end_or_skip(b, order, command.reason, lead),
            )
        except store.StaleState:
            self._remember(order.id)
            self._log.warning("cancelled_order_not_open", order_id=str(order.id))
            now = await self._own_open(command.user_id, command.order_id)
            return None if now is None else CancelAnswer(now, cancelled=False)
        ended = batch.after.get(order.id)
        return CancelAnswer(order, False) if ended is None else CancelAnswer(ended, True)

    def _end_or_skip(
        self, batch: _Batch, order: Order, reason: str, lead: Sequence[EngineEvent]
    ) -> None:
        if order.user_id not in batch.users:
            return
        self._end(batch, order, "CANCELLED", reason, lead)

    async def _modify(self, command: ModifyOrder) -> None:
        with command.reply:
            await command.reply.send(await self._modified(command))

    async def _modified(self, command: ModifyOrder) -> Order | ModifyRefused:
        order = await self._own_open(command.user_id, command.order_id)
        if order is None:
            return ModifyRefused(404, f"you have no order {command.order_id}")
        if not order.is_open:
            return ModifyRefused(
                409, f"order {order.id} is {order.status}: only open orders can be modified"
            )
        if order.id not in self._open:
            return ModifyRefused(
                409, f"order {order.id} is still being accepted; send the change again in a second"
            )
        now = self._clock.now()
        prices = door_prices(self._book, self._calendar, order.ticker_id, order.side, now)
        try:
            changed = apply_changes(order, command.changes, now, prices)
        except OrderRejected as exc:
            return ModifyRefused(400, str(exc))
        quote = self._book.quote(order.ticker_id)
        snapshot = self._snapshot(order.ticker_id, quote)
        try:
            needed = self._cash_needed(changed, snapshot)
        except MoneyError:
            return ModifyRefused(400, "the order's value would be too large to record")
        changed = msgspec.structs.replace(
            changed, reserved_krw=order.reserved_krw if needed is None else needed
        )
        await self._load_users({order.user_id})
        user = self._users[order.user_id]
        try:
            self._ledger.reserve(
                changed,
                reservation_of(changed),
                cash_krw=user.cash,
                held_quantity=user.positions.get(order.ticker_id, NO_POSITION).quantity,
            )
        except OverCommitted as exc:
            return ModifyRefused(409, f"{exc.reason}: {exc}")
        detail = {
            field: {"from": _text(getattr(order, field)), "to": _text(getattr(changed, field))}
            for field in _CHANGED_FIELDS
            if getattr(order, field) != getattr(changed, field)
        }
        lead = (EngineEvent(kind="modified", at=now),)

        def build(batch: _Batch) -> None:
            decision = self._decide(batch, changed, quote, replaced=True)
            self._apply(batch, order, decision, lead, detail)

        batch = await self._transact({order.user_id}, build)
        return batch.after.get(order.id, changed)

    async def _reconcile(self) -> None:
        """Settle never-decided orders of this partition that were never handed over, one page
        of the database's at a time, while the inbox is empty (so none of them is merely
        waiting in it) and only those older than `orphan_after` (so none is on its way from
        the recorder)."""
        now = anyio.current_time()
        if now < self._next_reconcile or self._inbox.statistics().current_buffer_used:
            return
        self._next_reconcile = now + self._reconcile_interval
        rows = await self._pool.fetch(
            query("orders_undecided_page"),
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
            and order.id not in self._open
            and order.id not in self._waiting
            and order.id not in self._recent
        ]
        for order in orphans:
            self._log.warning(
                "order_reconciled", order_id=str(order.id), user_id=str(order.user_id)
            )
        await self._settle([SettleOrder(o) for o in orphans])

    async def _write_marks(self, *, stopping: bool = False) -> None:
        """Write the trailing marks ticks moved, once `mark_write_interval` has passed since the
        last round (the first mark moved after a quiet spell is written at once), at most
        `_MARK_ROWS_PER_WRITE` a turn of the loop, so a round of thousands never holds up the
        orders behind it for long; and none while quotes have woken orders, unless the round
        has taken longer than the interval (or the actor is `stopping`): fills first."""
        now = anyio.current_time()
        if not self._marks_due and now >= self._next_mark_write:
            self._marks_due = dict.fromkeys(self._index.take_moved_trails())
            if self._marks_due:
                self._next_mark_write = now + self._mark_write_interval
        if not self._marks_due:
            return
        self._judge_noted()
        woken = bool(self._woken or self._woken_arrivals)
        if woken and not stopping and now < self._next_mark_write:
            return  # the next turn decides them, then goes on with the round
        ids = list(itertools.islice(self._marks_due, _MARK_ROWS_PER_WRITE))
        async with self._pool.acquire() as conn:
            await store.write_marks(conn, self._mark_rows(ids))
        for order_id in ids:
            del self._marks_due[order_id]

    def _mark_rows(self, ids: Iterable[UUID]) -> list[tuple[UUID, Decimal, Decimal]]:
        """(id, mark, stop) of these open trailing stops as the ticks moved them; a stop is
        worked out once per ticker, side, mark and trail (most of a group share a few trails)."""
        now = self._clock.now()
        stops: dict[tuple[str, str, Decimal, Decimal | None, Decimal | None], Decimal] = {}
        rows = []
        for order_id in ids:
            order = self._open.get(order_id)
            mark = None if order is None else self._index.mark_of(order_id)
            if order is None or mark is None:
                continue
            shape = (order.ticker_id, order.side, mark, order.trail_percent, order.trail_amount)
            stop = stops.get(shape)
            if stop is None:
                market = order.ticker_id.split("-", 1)[0]
                table = table_for(parse_ticker(order.ticker_id), trade_date(market, now))
                stop = stops[shape] = trail_stop(*shape[1:], table)
            rows.append((order_id, mark, stop))
        return rows

    async def _write_last_marks(self) -> None:
        """On the way out (stopped, or failed): the marks not yet written, if the database takes
        them; otherwise the restart begins from the marks last written."""
        self._marks_due.update(dict.fromkeys(self._index.take_moved_trails()))
        try:
            while self._marks_due:
                await self._write_marks(stopping=True)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            self._log.warning("trail_marks_unwritten", error=repr(exc))

    def _remember(self, order_id: UUID) -> None:
        self._recent[order_id] = None
        if len(self._recent) > _RECENT_LIMIT:
            self._recent.popitem(last=False)

    def _publish(self, batch: _Batch) -> None:
        for order_id, order in batch.after.items():
            if order.is_open:
                continue
            # Ids and decimals as they are: the log writer's thread turns them into text.
            self._log.info(
                "order_settled",
                order_id=order_id,
                user_id=order.user_id,
                ticker_id=order.ticker_id,
                side=order.side,
                status=order.status,
                price=order.price,
                total_krw=order.total_krw,
                reason=order.reason,
            )
        if self._publish_event is not None:
            for event in batch.published:
                self._publish_event(event)


def _moved_on(held: Placement, placed: Placement) -> bool:
    """The index holds the same trailing stop with a mark at least as good as `placed`'s: the
    ticks moved it on while the order was being decided (the index's mark stays)."""
    trail, wanted = held[1], placed[1]
    if trail is None or wanted is None or trail._replace(mark=wanted.mark) != wanted:
        return False
    return trail.mark >= wanted.mark if trail.side == "SELL" else trail.mark <= wanted.mark


def _executes_now(order: Order) -> bool:
    """An order decided once, on arrival: IOC, FOK and MARKET orders (OPG ones wait)."""
    return order.time_in_force in ("IOC", "FOK") or (
        order.type == "MARKET" and order.time_in_force != "OPG"
    )


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
