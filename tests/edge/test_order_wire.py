"""The message on the intake queue: exact round trip, versions, and ids from unreadable messages."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import msgspec
import pytest

from daemon.edge.instruments import seeded_instruments
from daemon.messages import Order
from daemon.order_requests import OrderRequest, build_order
from daemon.order_wire import WireError, decode_order, encode_order, order_id_hint

INSTRUMENTS = {i.ticker_id: i for i in seeded_instruments()}
NOW = datetime(2026, 11, 25, 1, 2, 3, 456789, tzinfo=UTC)


def order() -> Order:
    request = OrderRequest(
        ticker_id="US-STOCK-BRK.B", side="BUY", type="LIMIT", quantity="0.12345678",
        limit_price="499.99", client_order_id="c-1",
    )  # fmt: skip
    return build_order(request, uuid.uuid4(), INSTRUMENTS, NOW)


def test_an_order_survives_the_trip_exactly() -> None:
    placed = order()
    body = encode_order(placed)
    assert decode_order(body) == placed
    as_json = msgspec.json.decode(body)
    assert as_json["version"] == 1
    assert as_json["order"]["quantity"] == "0.12345678"  # decimals as strings, never floats
    assert as_json["order"]["created_at"] == "2026-11-25T01:02:03.456789Z"
    assert decode_order(body).limit_price == Decimal("499.99000000")


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"order": {}}',
        b'{"version": 2, "order": {}}',
        b'{"version": 1, "order": {"id": "x"}}',
        b"[]",
    ],
)
def test_what_is_not_a_version_1_order_is_refused(body: bytes) -> None:
    with pytest.raises(WireError):
        decode_order(body)


def test_only_pending_orders_travel() -> None:
    settled = msgspec.structs.replace(order(), status="FILLED")
    with pytest.raises(WireError, match="PENDING"):
        decode_order(encode_order(settled))


def test_the_order_id_of_an_unreadable_message() -> None:
    order_id = uuid.uuid4()
    newer = msgspec.json.encode({"version": 2, "order": {"id": str(order_id), "extra": [1]}})
    assert order_id_hint(newer, None) == order_id
    assert order_id_hint(b"garbage", str(order_id)) == order_id
    assert order_id_hint(b"garbage", "not-a-uuid") is None
    assert order_id_hint(b"garbage", None) is None
