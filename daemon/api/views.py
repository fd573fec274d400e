"""What the API answers: msgspec Structs for every response body. Decimals encode as strings."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

import msgspec

from daemon.engine.decide import EngineEvent
from daemon.engine.orders import OrderType, Status, TimeInForce
from daemon.messages import Order
from daemon.reasons import reason_text


class UserView(msgspec.Struct, frozen=True):
    id: UUID
    username: str
    nickname: str
    role: Literal["ADMIN", "USER"]


class TokenView(msgspec.Struct, frozen=True):
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int  # seconds


class FeeView(msgspec.Struct, frozen=True):
    kind: str  # commission, krx_sell_tax, sec_fee, finra_taf
    amount_krw: Decimal


class OrderEventInfo(msgspec.Struct, frozen=True):
    """What happened to an order (on its websocket message: the event that caused it)."""

    kind: str  # accepted, modified, rested, triggered, partially_filled, filled, cancelled, failed
    at: datetime
    reason: str | None
    reason_text: str | None


class OrderView(msgspec.Struct, frozen=True):
    """An order as every client sees it, in HTTP answers and websocket events alike (SPEC 6, 6A)."""

    id: UUID
    client_order_id: str | None
    ticker_id: str
    side: Literal["BUY", "SELL"]
    type: OrderType
    status: Status
    quantity: Decimal | None  # null for an amount_krw order until it fills (then the filled one)
    limit_price: Decimal | None
    price: Decimal | None  # average fill price, in the asset's currency; null before a fill
    currency: str
    applied_exchange_rate: Decimal | None  # of the latest fill
    total_krw: Decimal | None  # price x quantity x rate over the fills; null before a fill
    fee_krw: Decimal | None
    reason: str | None  # snake_case code, see GET /api/reasons
    reason_text: str | None
    created_at: datetime
    filled_at: datetime | None  # of the latest fill
    time_in_force: TimeInForce
    amount_krw: Decimal | None
    stop_price: Decimal | None  # a TRAILING_STOP's is computed from its mark
    trail_percent: Decimal | None
    trail_amount: Decimal | None
    trail_mark: Decimal | None
    filled_quantity: Decimal
    average_price: Decimal | None
    reserved_krw: Decimal
    triggered_at: datetime | None
    expires_at: datetime | None
    fees: list[FeeView]


def order_view(order: Order) -> OrderView:
    filled = order.filled_quantity > 0
    quantity = order.quantity
    if quantity is None and filled:
        quantity = order.filled_quantity
    return OrderView(
        id=order.id,
        client_order_id=order.client_order_id,
        ticker_id=order.ticker_id,
        side=order.side,
        type=order.type,
        status=order.status,
        quantity=quantity,
        limit_price=order.limit_price,
        price=order.price,
        currency=order.currency,
        applied_exchange_rate=order.applied_exchange_rate,
        total_krw=order.total_krw if filled else None,
        fee_krw=order.fee_krw if filled else None,
        reason=order.reason,
        reason_text=reason_text(order.reason),
        created_at=order.created_at,
        filled_at=order.filled_at,
        time_in_force=order.time_in_force,
        amount_krw=order.amount_krw,
        stop_price=order.stop_price,
        trail_percent=order.trail_percent,
        trail_amount=order.trail_amount,
        trail_mark=order.trail_mark,
        filled_quantity=order.filled_quantity,
        average_price=order.average_price,
        reserved_krw=order.reserved_krw,
        triggered_at=order.triggered_at,
        expires_at=order.expires_at,
        fees=[FeeView(line.kind, line.amount_krw) for line in order.fees],
    )


def event_info(event: EngineEvent) -> OrderEventInfo:
    return OrderEventInfo(
        kind=event.kind, at=event.at, reason=event.reason, reason_text=reason_text(event.reason)
    )


class TradeView(msgspec.Struct, frozen=True, kw_only=True):
    """A filled order as the feed and profiles show it to other players (SPEC 6C)."""

    id: UUID
    user_id: UUID
    nickname: str
    ticker_id: str
    side: Literal["BUY", "SELL"]
    type: str
    quantity: Decimal
    price: Decimal
    currency: str
    total_krw: Decimal
    filled_at: datetime


def trade_view(order: Order, nickname: str) -> TradeView:
    """The feed item of a FILLED `order` (as GET /api/feed shows its row)."""
    assert order.price is not None  # a fill has both
    assert order.filled_at is not None
    return TradeView(
        id=order.id,
        user_id=order.user_id,
        nickname=nickname,
        ticker_id=order.ticker_id,
        side=order.side,
        type=order.type,
        quantity=order.filled_quantity,
        price=order.price,
        currency=order.currency,
        total_krw=order.total_krw,
        filled_at=order.filled_at,
    )


class LevelView(msgspec.Struct, frozen=True):
    price: Decimal
    size: Decimal


class FillQuoteView(msgspec.Struct, frozen=True):
    """The quote a fill was decided on."""

    price: Decimal
    bid: Decimal | None
    ask: Decimal | None
    source: str
    ts: datetime  # exchange time
    received_at: datetime
    age_seconds: Decimal  # from received_at to the decision


class FillView(msgspec.Struct, frozen=True):
    seq: int
    quantity: Decimal
    price: Decimal
    rate: Decimal
    total_krw: Decimal
    fee_krw: Decimal
    fees: list[FeeView]
    rule: str  # which rule priced it, see daemon/engine/triggers.py FILL_RULES
    at: datetime
    levels: list[LevelView]  # what it took from the displayed book ([] without one)
    quote: FillQuoteView


class EventView(msgspec.Struct, frozen=True):
    seq: int
    kind: str
    at: datetime
    reason: str | None
    reason_text: str | None
    detail: dict[str, Any] | None  # modified: {"field": {"from": ..., "to": ...}}


class OrderDetailView(OrderView, frozen=True):
    """GET /api/orders/{id}: the order with its receipts and history, oldest first."""

    fills: list[FillView] = []
    events: list[EventView] = []


class CostRuleView(msgspec.Struct, frozen=True, omit_defaults=True):
    market: str
    kind: str
    side: Literal["BUY", "SELL"]
    currency: str  # KRW for rates of the value; the asset's currency for per-share amounts
    effective_from: date
    source: str
    instrument_kinds: list[str]
    rate: Decimal | None = None  # a fraction of the fill's value
    per_share: Decimal | None = None
    max_per_trade: Decimal | None = None


class CostsView(msgspec.Struct, frozen=True):
    preset: str
    rules: list[CostRuleView]
    slippage_reserve: Decimal
    fx_reserve: Decimal


class InstrumentView(msgspec.Struct, frozen=True):
    ticker_id: str
    name: str
    name_ko: str | None
    market: Literal["KRX", "US", "CRYPTO"]
    currency: Literal["KRW", "USD", "KRW-COIN"]
    exchange: str
    is_open: bool
    next_open: datetime | None  # null for crypto (always open)
    next_close: datetime | None


class QuoteView(msgspec.Struct, frozen=True):
    ticker_id: str
    price: Decimal
    bid: Decimal | None
    ask: Decimal | None
    currency: str
    ts: datetime
    stale: bool
    prev_close: Decimal | None
    change_pct: Decimal | None  # percent against prev_close, 2 places
    # When we received it: `ts` is the exchange's time where the source gives one (a trade,
    # a book), the poll's time otherwise; staleness counts from `received_at`.
    received_at: datetime | None = None
    source: str | None = None


class FxView(msgspec.Struct, frozen=True):
    pair: str
    rate: Decimal
    ts: datetime
    stale: bool


class CandleView(msgspec.Struct, frozen=True):
    time: datetime  # start of the bar, UTC
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


class PositionView(msgspec.Struct, frozen=True):
    ticker_id: str
    quantity: Decimal
    reserved_quantity: Decimal  # held back by open SELL orders
    available_quantity: Decimal  # quantity - reserved_quantity
    average_price: Decimal  # asset currency
    currency: str
    last_price: Decimal
    fx_rate: Decimal  # KRW per unit of the asset's currency (1 for KRW assets)
    market_value_krw: Decimal
    unrealized_pnl_krw: Decimal


class PortfolioView(msgspec.Struct, frozen=True):
    cash_krw: Decimal
    reserved_cash_krw: Decimal  # held back by open BUY orders (their reserved_krw)
    available_cash_krw: Decimal  # cash_krw - reserved_cash_krw
    positions: list[PositionView]
    equity_krw: Decimal
    day_start_equity_krw: Decimal  # equity at 00:00 KST, or the money put in if opened later
    day_pnl_krw: Decimal  # equity now - day start - money put in or taken out since
    day_return_pct: Decimal  # 2 places
    net_deposits_krw: Decimal  # all money put in less taken out (opening deposit, resets)
    total_pnl_krw: Decimal  # equity - net deposits
    total_return_pct: Decimal  # 2 places


class EquityPointView(msgspec.Struct, frozen=True):
    time: datetime
    equity_krw: Decimal


class InviteView(msgspec.Struct, frozen=True):
    code: str
    created_at: datetime


class ReasonView(msgspec.Struct, frozen=True):
    code: str
    text: str
