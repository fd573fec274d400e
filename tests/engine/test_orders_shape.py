"""The order model's shape rules and time-in-force rules per market."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from daemon.engine.orders import EngineOrder, OrderShapeError, check_shape
from daemon.engine.time_in_force import resolve_time_in_force
from tests.engine.scenario import order


def spec(**fields: object) -> EngineOrder:
    base: dict[str, object] = {
        "ticker_id": "KRX-STOCK-005930",
        "side": "BUY",
        "type": "MARKET",
        "quantity": D(1),
    }
    base.update(fields)
    return order(**base)


@pytest.mark.parametrize(
    ("fields", "rule"),
    [
        ({"quantity": None}, "quantity_or_amount"),
        ({"amount_krw": D(100000)}, "quantity_or_amount"),
        ({"quantity": None, "amount_krw": D(1000), "side": "SELL"}, "amount_krw_market_buy_only"),
        (
            {"quantity": None, "amount_krw": D(1000), "type": "LIMIT", "limit_price": D(1)},
            "amount_krw_market_buy_only",
        ),
        ({"quantity": D(0)}, "quantity_positive"),
        ({"type": "LIMIT"}, "limit_price_required"),
        ({"type": "LIMIT", "limit_price": D(0)}, "limit_price_positive"),
        ({"limit_price": D(100)}, "limit_price_not_allowed"),
        ({"type": "STOP"}, "stop_price_required"),
        ({"type": "STOP", "stop_price": D(1), "limit_price": D(1)}, "limit_price_not_allowed"),
        ({"type": "STOP_LIMIT", "stop_price": D(1)}, "limit_price_required"),
        ({"type": "LIMIT", "limit_price": D(1), "stop_price": D(1)}, "stop_price_not_allowed"),
        ({"type": "TRAILING_STOP"}, "trail_one_of"),
        ({"type": "TRAILING_STOP", "trail_percent": D(5), "trail_amount": D(5)}, "trail_one_of"),
        ({"type": "TRAILING_STOP", "trail_percent": D(100)}, "trail_percent_range"),
        ({"type": "TRAILING_STOP", "trail_amount": D(-1)}, "trail_amount_positive"),
        (
            {"type": "TRAILING_STOP", "trail_amount": D(5), "stop_price": D(1)},
            "stop_price_not_allowed",
        ),
        ({"type": "MARKET", "trail_percent": D(5)}, "trail_percent_not_allowed"),
    ],
)
def test_refusals_name_the_rule(fields: dict[str, object], rule: str) -> None:
    with pytest.raises(OrderShapeError) as caught:
        check_shape(spec(**fields))
    assert caught.value.rule == rule
    assert str(caught.value)  # a sentence a person can act on


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"quantity": None, "amount_krw": D(100000)},
        {"type": "LIMIT", "limit_price": D(70000)},
        {"type": "STOP", "stop_price": D(70000)},
        {"type": "STOP_LIMIT", "stop_price": D(70000), "limit_price": D(69000)},
        {"type": "TRAILING_STOP", "trail_percent": D("2.5"), "side": "SELL"},
        {"type": "TRAILING_STOP", "trail_amount": D(500)},
    ],
)
def test_valid_shapes(fields: dict[str, object]) -> None:
    check_shape(spec(**fields))


def test_limit_price_message_says_what_to_do() -> None:
    with pytest.raises(OrderShapeError, match="only for LIMIT and STOP_LIMIT orders; leave it out"):
        check_shape(spec(limit_price=D(1)))


def test_time_in_force_defaults_and_crypto_limits() -> None:
    assert resolve_time_in_force("KRX", "LIMIT", None) == "DAY"
    assert resolve_time_in_force("US", "MARKET", None) == "DAY"
    assert resolve_time_in_force("CRYPTO", "LIMIT", None) == "GTC"
    for tif in ("GTC", "IOC", "FOK"):
        assert resolve_time_in_force("CRYPTO", "LIMIT", tif) == tif
    for tif in ("DAY", "OPG"):
        with pytest.raises(OrderShapeError, match="send one of GTC, IOC, FOK"):
            resolve_time_in_force("CRYPTO", "LIMIT", tif)  # type: ignore[arg-type]
    for tif in ("OPG", "IOC", "FOK"):
        with pytest.raises(OrderShapeError, match=f"{tif} is for MARKET and LIMIT orders"):
            resolve_time_in_force("KRX", "STOP", tif)  # type: ignore[arg-type]
    assert resolve_time_in_force("CRYPTO", "TRAILING_STOP", None) == "GTC"
