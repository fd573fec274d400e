"""The message on the intake queue: exact round trip, versions, and ids from unreadable messages."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec
import pytest

from daemon import order_wire
from daemon.edge.instruments import seeded_instruments
from daemon.intake_auth import rebuild_order
from daemon.messages import Order
from daemon.order_requests import OrderRequest, build_order
from daemon.order_wire import WireError, order_id_hint

INSTRUMENTS = {i.ticker_id: i for i in seeded_instruments()}
NOW = datetime(2026, 11, 25, 1, 2, 3, 456789, tzinfo=UTC)


def order() -> Order:
    request = OrderRequest(
        ticker_id="US-STOCK-BRK.B", side="BUY", type="LIMIT", quantity="12",
        limit_price="499.99", client_order_id="c-1",
    )  # fmt: skip
    return build_order(request, uuid.uuid4(), INSTRUMENTS, NOW)


def test_a_request_survives_the_trip_exactly_and_rebuilds_the_same_order() -> None:
    placed = order()
    message = order_wire.placed(placed, "the.token")
    body = order_wire.encode(message)
    assert order_wire.decode(body) == message
    as_json = msgspec.json.decode(body)
    assert as_json["version"] == 2
    assert as_json["token"] == "the.token"
    assert as_json["accepted_at"] == "2026-11-25T01:02:03.456789Z"
    assert as_json["request"]["limit_price"] == "499.99000000"  # decimals as strings, never floats
    assert "currency" not in as_json["request"]  # the daemon derives it
    again = build_order(order_wire.decode(body).request, placed.user_id, INSTRUMENTS, NOW)
    assert again == placed


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"order": {}}',
        b'{"version": 1, "order": {}}',
        b'{"version": 2, "order_id": "x"}',
        b"[]",
    ],
)
def test_what_is_not_a_version_2_order_message_is_refused(body: bytes) -> None:
    with pytest.raises(WireError):
        order_wire.decode(body)


def test_fields_the_daemon_derives_cannot_be_sent() -> None:
    as_json = msgspec.json.decode(order_wire.encode(order_wire.placed(order(), "t")))
    for extra in (
        {"currency": "USD"},
        {"status": "FILLED"},
        {"created_at": "2020-01-01T00:00:00Z"},
    ):
        request = as_json | {"request": as_json["request"] | extra}
        with pytest.raises(WireError, match=next(iter(extra))):
            order_wire.decode(msgspec.json.encode(request))
        with pytest.raises(WireError, match=next(iter(extra))):
            order_wire.decode(msgspec.json.encode(as_json | extra))


def test_the_order_id_of_an_unreadable_message() -> None:
    order_id = uuid.uuid4()
    newer = msgspec.json.encode({"version": 3, "order_id": str(order_id), "extra": [1]})
    assert order_id_hint(newer, None) == order_id
    assert order_id_hint(b"garbage", str(order_id)) == order_id
    assert order_id_hint(b"garbage", "not-a-uuid") is None
    assert order_id_hint(b"garbage", None) is None


@pytest.mark.parametrize(
    "fields",
    [
        {"ticker_id": "US-STOCK-AAPL", "side": "SELL", "type": "STOP_LIMIT", "quantity": "3",
         "stop_price": "199.5", "limit_price": "199", "time_in_force": "GTC"},
        {"ticker_id": "CRYPTO-COIN-BTC", "side": "SELL", "type": "TRAILING_STOP",
         "quantity": "0.5", "trail_percent": "2.5"},
        {"ticker_id": "CRYPTO-COIN-BTC", "side": "BUY", "type": "MARKET", "amount_krw": "50000",
         "time_in_force": "IOC", "client_order_id": "amt-1"},
        {"ticker_id": "KRX-STOCK-005930", "side": "BUY", "type": "LIMIT", "quantity": "3",
         "limit_price": "70000", "time_in_force": "OPG"},
    ],
)  # fmt: skip
def test_a_v2_order_carries_every_field_and_the_daemon_rebuilds_it(fields: dict) -> None:
    user_id = uuid.uuid4()
    placed = build_order(OrderRequest(**fields), user_id, INSTRUMENTS, NOW)
    message = order_wire.decode(order_wire.encode(order_wire.placed(placed, "t")))
    rebuilt = rebuild_order(message, user_id, INSTRUMENTS, NOW)
    assert rebuilt == placed
    assert rebuilt.time_in_force == placed.time_in_force
