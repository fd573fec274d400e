"""The message on the intake queue: what a client asked for at a gate, and its bearer token.

The daemon trusts nothing in it (issue 9): it verifies the token with its own key
(`daemon/intake_auth.py`) and re-runs the shared validator `build_order` on the request, deriving
currency, ticker and every other field from its own instrument table; `created_at` is the
daemon's. The gate's acceptance time travels only to judge the token's expiry by.

The request is the shared `OrderRequest` with SPEC 6A's fields (type, amount_krw, stop and
trail prices, time_in_force); they are optional, so a version 2 message from before them still
decodes as the same order.

Versioned: `version` is required, unknown fields are refused, and a message of a version this
daemon does not know is not decoded (it is dead-lettered, never guessed at). JSON rather than
msgpack so that a dead letter can be read in RabbitMQ's management UI and by `papertrade dlq`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

import msgspec

from daemon.messages import Order
from daemon.order_requests import OrderRequest

VERSION = 2
MESSAGE_TYPE = "papertrade.order.v2"  # the AMQP `type` property
CONTENT_TYPE = "application/json"


class WireError(ValueError):
    """The message is not an order this daemon can read; it will never become one (dead-letter)."""


class OrderPlaced(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Version 2: an order request accepted at a gate (the edge, or the daemon's own API)."""

    version: Literal[2]
    order_id: uuid.UUID  # the id the gate answered with (UUIDv5 of user and client_order_id)
    token: str  # the user's bearer token, verified again by the daemon
    accepted_at: datetime  # when the gate accepted it, by the gate's clock
    request: OrderRequest


def placed(order: Order, token: str) -> OrderPlaced:
    """The message for `order`, which a gate built with `build_order` from a client's request."""
    return OrderPlaced(
        version=VERSION,
        order_id=order.id,
        token=token,
        accepted_at=order.created_at,
        request=OrderRequest(
            ticker_id=order.ticker_id,
            side=order.side,
            type=order.type,
            quantity=_text(order.quantity),
            amount_krw=_text(order.amount_krw),
            limit_price=_text(order.limit_price),
            stop_price=_text(order.stop_price),
            trail_percent=_text(order.trail_percent),
            trail_amount=_text(order.trail_amount),
            time_in_force=order.time_in_force,
            client_order_id=order.client_order_id,
        ),
    )


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


class _OrderId(msgspec.Struct):
    order_id: uuid.UUID


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(OrderPlaced)
_id_decoder = msgspec.json.Decoder(_OrderId)


def encode(message: OrderPlaced) -> bytes:
    return _encoder.encode(message)


def decode(body: bytes) -> OrderPlaced:
    try:
        return _decoder.decode(body)
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
        raise WireError(f"not a version {VERSION} order message: {exc}") from None


def order_id_hint(body: bytes, message_id: str | None) -> uuid.UUID | None:
    """The order id of a message that does not decode, if any can be found: in a body of another
    shape, or in the message_id property (set to the order id by our publishers). For logs only:
    an unreadable message never changes an order."""
    try:
        return _id_decoder.decode(body).order_id
    except msgspec.DecodeError:
        pass
    try:
        return uuid.UUID(message_id) if message_id else None
    except ValueError:
        return None
