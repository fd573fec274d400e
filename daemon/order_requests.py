"""Turning what a client sends into a PENDING Order (SPEC 6A v2), or a refusal a person can act on.

Shared by the daemon's HTTP API, the edge and the intake's re-validation, so all accept exactly
the same orders; settlement runs the same checks on a modified order (`apply_changes`). The
order's shape (`check_shape`), its time in force (`resolve_time_in_force`) and the exchange
rules that need no price (lots, ticks, Upbit's minimum for a priced order) are checked
everywhere; those that need one (KRX daily limits from the previous close, Upbit's minimum for
a MARKET order) only where the caller knows the price (`DoorPrices`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Final, Literal, get_args

import msgspec

from daemon.engine.costs import trade_date
from daemon.engine.exchange_rules import (
    UPBIT_MIN_ORDER_KRW,
    ExchangeRuleError,
    check_minimum,
    check_prices,
    check_quantity,
    krx_price_limits,
    table_for,
)
from daemon.engine.orders import EngineOrder, OrderShapeError, OrderType, TimeInForce, check_shape
from daemon.engine.time_in_force import resolve_time_in_force
from daemon.engine.triggers import trailing_stop_price
from daemon.instruments import Instrument
from daemon.messages import Order, OrderChanges
from daemon.money import DECIMAL_STRING_PATTERN, QUANTUM, MoneyError, parse_decimal_string
from daemon.tickers import TickerError, parse_ticker

# Printable ASCII without spaces: safe in logs, URLs and headers.
_CLIENT_ORDER_ID = re.compile(r"[!-~]{1,64}")
# Deterministic order ids for client retries (the edge has no database to look them up in).
_ORDER_NAMESPACE = uuid.UUID("8f0d5a52-3c1b-4f57-9a57-6b1f7f2c9e11")


class OrderRejected(ValueError):
    """The request is not a valid order; the message says what to change."""


# The decoder takes numbers too, only to refuse them with a reason a person can act on; the
# OpenAPI schema says what is accepted: a string of that pattern.
def _decimal_string(*types: str) -> msgspec.Meta:
    schema = {"type": list(types), "pattern": DECIMAL_STRING_PATTERN, "one_of": None}
    return msgspec.Meta(extra_json_schema={"extra": schema, "examples": ["0.5"]})


DecimalString = Annotated[str | int | float, _decimal_string("string")]
OptionalDecimalString = Annotated[str | int | float | None, _decimal_string("string", "null")]


class OrderRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The body of POST /api/orders (SPEC 6A). Quantities, amounts and prices are decimal strings."""

    ticker_id: str
    side: Literal["BUY", "SELL"]
    type: OrderType = "MARKET"
    quantity: OptionalDecimalString = None
    amount_krw: OptionalDecimalString = None
    limit_price: OptionalDecimalString = None
    stop_price: OptionalDecimalString = None
    trail_percent: OptionalDecimalString = None
    trail_amount: OptionalDecimalString = None
    time_in_force: TimeInForce | None = None
    client_order_id: str | None = None


class OrderChangeRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The body of PATCH /api/orders/{id}: any of these, only those the order's type has."""

    quantity: OptionalDecimalString = None
    limit_price: OptionalDecimalString = None
    stop_price: OptionalDecimalString = None
    trail_percent: OptionalDecimalString = None
    trail_amount: OptionalDecimalString = None


_DECIMAL_FIELDS: Final = (
    "quantity",
    "amount_krw",
    "limit_price",
    "stop_price",
    "trail_percent",
    "trail_amount",
)
_CHANGEABLE: Final = tuple(field.name for field in msgspec.structs.fields(OrderChanges))
# Which order types have each changeable field.
_FIELD_TYPES: Final[dict[str, frozenset[str]]] = {
    "quantity": frozenset(get_args(OrderType)),
    "limit_price": frozenset({"LIMIT", "STOP_LIMIT"}),
    "stop_price": frozenset({"STOP", "STOP_LIMIT"}),
    "trail_percent": frozenset({"TRAILING_STOP"}),
    "trail_amount": frozenset({"TRAILING_STOP"}),
}


class DoorPrices(msgspec.Struct, frozen=True, kw_only=True):
    """What the daemon knows of an instrument's price when an order arrives (the edge: nothing).

    `touch` is what a MARKET order would trade at now (a fresh quote's ask for a BUY, bid for a
    SELL); `prev_close` is today's base of the KRX daily limits."""

    touch: Decimal | None = None
    prev_close: Decimal | None = None


NO_PRICES: Final = DoorPrices()


def order_id_for(user_id: uuid.UUID, client_order_id: str | None) -> uuid.UUID:
    """UUIDv5 of (user, client_order_id) when given, so a retry is the same order; else random."""
    if client_order_id is None:
        return uuid.uuid4()
    return uuid.uuid5(_ORDER_NAMESPACE, f"{user_id}:{client_order_id}")


def _decimals(request: msgspec.Struct, fields: tuple[str, ...]) -> dict[str, Decimal | None]:
    try:
        return {
            field: None
            if getattr(request, field) is None
            else parse_decimal_string(getattr(request, field), field).quantize(QUANTUM)
            for field in fields
        }
    except MoneyError as exc:
        raise OrderRejected(str(exc)) from None


def build_order(
    request: OrderRequest,
    user_id: uuid.UUID,
    instruments: Mapping[str, Instrument],
    now: datetime,
    prices: DoorPrices = NO_PRICES,
) -> Order:
    """Validate `request` completely and return the PENDING order it asks for."""
    try:
        ticker = parse_ticker(request.ticker_id)
    except TickerError as exc:
        raise OrderRejected(str(exc)) from None
    instrument = instruments.get(str(ticker))
    if instrument is None:
        raise OrderRejected(
            f"ticker_id {request.ticker_id} is not traded here; GET /api/instruments lists what is"
        )
    values = _decimals(request, _DECIMAL_FIELDS)
    if request.client_order_id is not None and not _CLIENT_ORDER_ID.fullmatch(
        request.client_order_id
    ):
        raise OrderRejected(
            "client_order_id must be 1 to 64 printable ASCII characters without spaces"
        )
    try:
        tif = resolve_time_in_force(ticker.market, request.type, request.time_in_force)
        order = EngineOrder(
            id=order_id_for(user_id, request.client_order_id),
            user_id=user_id,
            client_order_id=request.client_order_id,
            ticker_id=instrument.ticker_id,
            side=request.side,
            type=request.type,
            time_in_force=tif,
            currency=instrument.currency,
            created_at=now,
            **values,
        )
        check_order(order, now, prices)
    except (OrderShapeError, ExchangeRuleError) as exc:
        raise OrderRejected(str(exc)) from None
    return order


def check_order(order: EngineOrder, now: datetime, prices: DoorPrices = NO_PRICES) -> None:
    """The door's rules for one order: its shape, then the exchange rules (lots, ticks, KRX
    daily limits when the previous close is known, Upbit's minimum when a price is). Raises
    OrderShapeError or ExchangeRuleError, whose message is the 400's detail."""
    # A trailing stop's stop_price is the engine's (computed from its mark), never the client's.
    check_shape(
        msgspec.structs.replace(order, stop_price=None) if order.type == "TRAILING_STOP" else order
    )
    ticker = parse_ticker(order.ticker_id)
    on = trade_date(ticker.market, now)
    if order.quantity is not None:
        check_quantity(ticker, order.type, order.quantity)
    limits = None
    if ticker.market == "KRX" and prices.prev_close is not None:
        limits = krx_price_limits(ticker, prices.prev_close, on)
    given = {"limit_price": order.limit_price}
    if order.type != "TRAILING_STOP":
        given["stop_price"] = order.stop_price
    check_prices(ticker, given, on, limits)
    if order.amount_krw is not None:
        if ticker.market == "CRYPTO" and order.amount_krw < UPBIT_MIN_ORDER_KRW:
            raise ExchangeRuleError(
                "below_minimum",
                f"amount_krw {order.amount_krw} is below Upbit's minimum order of "
                f"{UPBIT_MIN_ORDER_KRW} KRW: send at least {UPBIT_MIN_ORDER_KRW}",
            )
        return
    price = order.limit_price or order.stop_price or prices.touch
    if price is not None and order.quantity is not None:
        check_minimum(ticker, order.quantity, price)


def parse_changes(request: OrderChangeRequest) -> OrderChanges:
    """The parsed body of a PATCH; OrderRejected if it changes nothing or is not decimal."""
    values = _decimals(request, _CHANGEABLE)
    if all(value is None for value in values.values()):
        raise OrderRejected(f"send at least one of {', '.join(_CHANGEABLE)} to change")
    return OrderChanges(**values)


def apply_changes(
    order: EngineOrder, changes: OrderChanges, now: datetime, prices: DoorPrices = NO_PRICES
) -> EngineOrder:
    """`order` (open) with `changes`, checked by the door's rules again; OrderRejected says why
    not. A trailing stop switches between trail_percent and trail_amount as sent, and its stop
    follows the new trail from the mark it has."""
    updates = {f: v for f in _CHANGEABLE if (v := getattr(changes, f)) is not None}
    for field in updates:
        if order.type not in _FIELD_TYPES[field]:
            raise OrderRejected(f"{field} is not a field of a {order.type} order; leave it out")
    quantity = updates.get("quantity")
    if quantity is not None:
        if order.quantity is None:
            raise OrderRejected("an amount_krw order has no quantity to change")
        if quantity <= order.filled_quantity:
            raise OrderRejected(
                f"quantity {quantity} must be more than the {order.filled_quantity} already filled"
            )
    if "trail_percent" in updates:
        updates["trail_amount"] = None
    elif "trail_amount" in updates:
        updates["trail_percent"] = None
    changed = msgspec.structs.replace(order, **updates)
    try:
        check_order(changed, now, prices)
    except (OrderShapeError, ExchangeRuleError) as exc:
        raise OrderRejected(str(exc)) from None
    if changed.type == "TRAILING_STOP" and changed.trail_mark is not None:
        ticker = parse_ticker(changed.ticker_id)
        table = table_for(ticker, trade_date(ticker.market, now))
        changed = msgspec.structs.replace(
            changed, stop_price=trailing_stop_price(changed, changed.trail_mark, table)
        )
    return changed
