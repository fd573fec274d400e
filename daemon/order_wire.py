"""The message on the intake queue: a PENDING order exactly as `build_order` made it, as JSON.

Versioned: `version` is required, and a message of a version this daemon does not know is not
decoded (it is dead-lettered, never guessed at). JSON rather than msgpack so that a dead letter
can be read in RabbitMQ's management UI.
"""

from __future__ import annotations

import uuid
from typing import Literal

import msgspec

from daemon.messages import Order

VERSION = 1
MESSAGE_TYPE = "papertrade.order.v1"  # the AMQP `type` property
CONTENT_TYPE = "application/json"


class WireError(ValueError):
    """The message is not an order this daemon can read; it will never become one (dead-letter)."""


class OrderPlaced(msgspec.Struct, frozen=True, kw_only=True):
    """Version 1: an order accepted at a gate (the edge, or the daemon's own API)."""

    version: Literal[1]
    order: Order


class _OrderId(msgspec.Struct):
    id: uuid.UUID


class _AnyVersion(msgspec.Struct):
    order: _OrderId


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(OrderPlaced)
_id_decoder = msgspec.json.Decoder(_AnyVersion)


def encode_order(order: Order) -> bytes:
    return _encoder.encode(OrderPlaced(version=VERSION, order=order))


def decode_order(body: bytes) -> Order:
    try:
        order = _decoder.decode(body).order
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
        raise WireError(f"not a version {VERSION} order message: {exc}") from None
    if order.status != "PENDING":
        raise WireError(f"an order message must carry a PENDING order, not {order.status}")
    return order


def order_id_hint(body: bytes, message_id: str | None) -> uuid.UUID | None:
    """The order id of a message that does not decode, if any can be found: in a body of another
    version or shape, or in the message_id property (set to the order id by our publishers)."""
    try:
        return _id_decoder.decode(body).order.id
    except msgspec.DecodeError:
        pass
    try:
        return uuid.UUID(message_id) if message_id else None
    except ValueError:
        return None
