"""Every message that travels between actors: frozen msgspec Structs, never mutated once sent."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

import anyio
import msgspec

Side = Literal["BUY", "SELL"]
OrderType = Literal["MARKET", "LIMIT"]
OrderStatus = Literal["PENDING", "FILLED", "CANCELLED", "FAILED"]


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


MarketData = Quote | FxRate


class Order(msgspec.Struct, frozen=True, kw_only=True):
    """An order as recorded; a new state is a new Struct (msgspec.structs.replace)."""

    id: UUID
    user_id: UUID
    client_order_id: str | None
    ticker_id: str
    side: Side
    type: OrderType
    status: OrderStatus
    quantity: Decimal
    limit_price: Decimal | None
    currency: str
    created_at: datetime
    price: Decimal | None = None
    applied_exchange_rate: Decimal | None = None
    total_krw: Decimal | None = None
    fee_krw: Decimal | None = None
    reason: str | None = None
    filled_at: datetime | None = None


class SettleOrder(msgspec.Struct, frozen=True):
    """Settle this (already recorded, PENDING) order; `committed` is set once its outcome is durable."""

    order: Order
    committed: anyio.Event | None = None


class CancelOrder(msgspec.Struct, frozen=True):
    """Cancel a PENDING order of `user_id`; `reply` receives the order as it ends up (None if unknown).
    `reason`: the code the order is CANCELLED with (daemon/reasons.py)."""

    user_id: UUID
    order_id: UUID
    reply: anyio.abc.ObjectSendStream[Order | None]
    reason: str = "user_cancelled"


class WakeResting(msgspec.Struct, frozen=True):
    """Quotes moved tickers this partition has resting orders in: decide the ones they cross.

    Sent into its own inbox by the settlement actor's market watcher (at most one waiting), so
    a quote wakes the actor without cancelling its wait for commands."""


SettlementCommand = SettleOrder | CancelOrder | WakeResting


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
    """An order changed state (accepted, filled, failed, cancelled): for websockets and notifications."""

    order: Order
