"""Every message that travels between actors: frozen msgspec Structs, never mutated once sent."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

import anyio
import msgspec

from daemon.engine.decide import EngineEvent
from daemon.engine.market import BookLevel
from daemon.engine.orders import EngineOrder


class Quote(msgspec.Struct, frozen=True, kw_only=True):
    """One normalised price observation from any source, prices in the asset's currency."""

    ticker_id: str
    price: Decimal
    bid: Decimal | None = None
    ask: Decimal | None = None
    currency: str
    ts: datetime  # exchange time, UTC
    received_at: datetime  # when we got it, UTC
    source: str
    volume: Decimal = Decimal(0)  # quantity traded in this tick, for candles
    prev_close: Decimal | None = None  # the previous session's close, where the source says


class FxRate(msgspec.Struct, frozen=True, kw_only=True):
    """An exchange rate: 1 `base` = `rate` `quote_currency` (e.g. 1 USD = 1380.5 KRW)."""

    pair: str  # "USD/KRW"
    rate: Decimal
    ts: datetime
    received_at: datetime
    source: str


class OrderBook(msgspec.Struct, frozen=True, kw_only=True):
    """The displayed book of one ticker as a source sent it: levels best first (at most 15 a
    side), prices and sizes in the asset's own units. Each one replaces the previous wholly."""

    ticker_id: str
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    ts: datetime  # exchange time of the book
    received_at: datetime
    source: str


MarketData = Quote | FxRate | OrderBook


# The order as recorded and sent between actors is the engine's v2 order (one order type through
# recorder, settlement and views): daemon/engine/orders.py.
Order = EngineOrder


class SettleOrder(msgspec.Struct, frozen=True):
    """Settle this (already recorded, PENDING) order; `committed` is set once its outcome is durable."""

    order: Order
    committed: anyio.Event | None = None


class CancelAnswer(msgspec.Struct, frozen=True):
    """The order as it ends up, and whether this command cancelled it (False: it had already
    ended, filled or cancelled)."""

    order: Order
    cancelled: bool


class CancelOrder(msgspec.Struct, frozen=True):
    """Cancel an open order of `user_id` (CANCELLED `reason`); `reply` receives the answer
    (None if the order is not theirs)."""

    user_id: UUID
    order_id: UUID
    reply: anyio.abc.ObjectSendStream[CancelAnswer | None]
    reason: str = "user_cancelled"


class OrderChanges(msgspec.Struct, frozen=True, kw_only=True):
    """What PATCH /api/orders/{id} changes (parsed; None: unchanged)."""

    quantity: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_percent: Decimal | None = None
    trail_amount: Decimal | None = None


class ModifyRefused(msgspec.Struct, frozen=True):
    """Why a modification was not made: `status` is the HTTP answer (400, 404, 409)."""

    status: int
    detail: str


class ModifyOrder(msgspec.Struct, frozen=True):
    """Modify an open order of `user_id`; `reply` receives the order as modified, or why not."""

    user_id: UUID
    order_id: UUID
    changes: OrderChanges
    reply: anyio.abc.ObjectSendStream[Order | ModifyRefused]


class WakeResting(msgspec.Struct, frozen=True):
    """Quotes moved tickers this partition has resting orders in: decide the ones they cross.

    Sent into its own inbox by the settlement actor's market watcher (at most one waiting), so
    a quote wakes the actor without cancelling its wait for commands."""


class ForgetUsers(msgspec.Struct, frozen=True):
    """These users' accounts or season changed outside settlement (a season started, a player
    joined late, a season ended): read their cash, positions and season rules again."""

    user_ids: frozenset[UUID]


SettlementCommand = SettleOrder | CancelOrder | ModifyOrder | WakeResting | ForgetUsers


class CandleBar(msgspec.Struct, frozen=True, kw_only=True):
    """A 1-minute OHLCV bar; `time` is the start of its minute (UTC). The forming bar is re-sent as it changes."""

    ticker_id: str
    time: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


class OrderEvent(msgspec.Struct, frozen=True):
    """An order changed (accepted, rested, triggered, modified, filled, ...): `event` is what
    happened, `order` the order after it. For websockets and notifications."""

    order: Order
    event: EngineEvent
