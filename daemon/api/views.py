"""What the API answers: msgspec Structs for every response body. Decimals encode as strings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

import msgspec

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


class OrderView(msgspec.Struct, frozen=True):
    """An order as every client sees it, in HTTP answers and websocket events alike."""

    id: UUID
    client_order_id: str | None
    ticker_id: str
    side: Literal["BUY", "SELL"]
    type: Literal["MARKET", "LIMIT"]
    status: Literal["PENDING", "FILLED", "CANCELLED", "FAILED"]
    quantity: Decimal
    limit_price: Decimal | None
    price: Decimal | None  # fill price, in the asset's currency
    currency: str
    applied_exchange_rate: Decimal | None
    total_krw: Decimal | None  # price x quantity x rate
    fee_krw: Decimal | None
    reason: str | None  # snake_case code, see GET /api/reasons
    reason_text: str | None
    created_at: datetime
    filled_at: datetime | None


def order_view(order: Order) -> OrderView:
    return OrderView(
        id=order.id,
        client_order_id=order.client_order_id,
        ticker_id=order.ticker_id,
        side=order.side,
        type=order.type,
        status=order.status,
        quantity=order.quantity,
        limit_price=order.limit_price,
        price=order.price,
        currency=order.currency,
        applied_exchange_rate=order.applied_exchange_rate,
        total_krw=order.total_krw,
        fee_krw=order.fee_krw,
        reason=order.reason,
        reason_text=reason_text(order.reason),
        created_at=order.created_at,
        filled_at=order.filled_at,
    )


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
    average_price: Decimal  # asset currency
    currency: str
    last_price: Decimal
    fx_rate: Decimal  # KRW per unit of the asset's currency (1 for KRW assets)
    market_value_krw: Decimal
    unrealized_pnl_krw: Decimal


class PortfolioView(msgspec.Struct, frozen=True):
    cash_krw: Decimal
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
