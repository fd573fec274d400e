"""Turning what a client sends into a PENDING Order, or a refusal a person can act on.

Shared by the daemon's HTTP API, the edge and the intake's re-validation, so all accept exactly
the same orders. The exchange rules that need no price (lots, ticks, Upbit's minimum for a
LIMIT) are checked everywhere; those that need one (KRX daily limits from the previous close,
Upbit's minimum for a MARKET order) only where the caller knows the price (`DoorPrices`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Final, Literal

import msgspec

from daemon.engine.costs import trade_date
from daemon.engine.exchange_rules import (
    ExchangeRuleError,
    check_minimum,
    check_prices,
    check_quantity,
    krx_price_limits,
)
from daemon.instruments import Instrument
from daemon.messages import Order
from daemon.money import DECIMAL_STRING_PATTERN, QUANTUM, MoneyError, parse_decimal_string
from daemon.tickers import TickerError, TickerId, parse_ticker

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
    """The body of POST /api/orders. Quantities and prices are decimal strings."""

    ticker_id: str
    side: Literal["BUY", "SELL"]
    type: Literal["MARKET", "LIMIT"] = "MARKET"
    quantity: DecimalString
    limit_price: OptionalDecimalString = None
    client_order_id: str | None = None


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
    try:
        quantity = parse_decimal_string(request.quantity, "quantity")
        limit_price = (
            None
            if request.limit_price is None
            else parse_decimal_string(request.limit_price, "limit_price")
        )
    except MoneyError as exc:
        raise OrderRejected(str(exc)) from None
    if quantity <= 0:
        raise OrderRejected("quantity must be greater than 0")
    if request.type == "LIMIT":
        if limit_price is None:
            raise OrderRejected("a LIMIT order needs limit_price, the worst price you accept")
        if limit_price <= 0:
            raise OrderRejected("limit_price must be greater than 0")
    elif limit_price is not None:
        raise OrderRejected("limit_price is only for LIMIT orders; leave it out of a MARKET order")
    if request.client_order_id is not None and not _CLIENT_ORDER_ID.fullmatch(
        request.client_order_id
    ):
        raise OrderRejected(
            "client_order_id must be 1 to 64 printable ASCII characters without spaces"
        )
    try:
        _check_exchange_rules(request.type, ticker, quantity, limit_price, now, prices)
    except ExchangeRuleError as exc:
        raise OrderRejected(str(exc)) from None
    return Order(
        id=order_id_for(user_id, request.client_order_id),
        user_id=user_id,
        client_order_id=request.client_order_id,
        ticker_id=instrument.ticker_id,
        side=request.side,
        type=request.type,
        status="PENDING",
        quantity=quantity.quantize(QUANTUM),
        limit_price=None if limit_price is None else limit_price.quantize(QUANTUM),
        currency=instrument.currency,
        created_at=now,
    )


def _check_exchange_rules(
    order_type: str,
    ticker: TickerId,
    quantity: Decimal,
    limit_price: Decimal | None,
    now: datetime,
    prices: DoorPrices,
) -> None:
    on = trade_date(ticker.market, now)
    check_quantity(ticker, order_type, quantity)
    limits = None
    if ticker.market == "KRX" and prices.prev_close is not None:
        limits = krx_price_limits(ticker, prices.prev_close, on)
    check_prices(ticker, {"limit_price": limit_price}, on, limits)
    price = limit_price if limit_price is not None else prices.touch
    if price is not None:
        check_minimum(ticker, quantity, price)
