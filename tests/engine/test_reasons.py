"""Every reason code decide() can end an order with has a plain-English text."""

from __future__ import annotations

from daemon.engine.reasons import ENGINE_REASONS
from daemon.reasons import REASONS

DECIDE_ENDS_WITH = {
    "market_closed",
    "no_price",
    "stale_price",
    "stale_fx_rate",
    "expired",
    "fok_unfilled",
    "ioc_unfilled",
    "insufficient_liquidity",
    "insufficient_cash",
    "insufficient_quantity",
    "value_too_large",
    "below_minimum",
    "outside_price_limits",
    "amount_too_small",
}


def test_engine_reasons_are_new_and_cover_every_code_decide_uses() -> None:
    assert not ENGINE_REASONS.keys() & REASONS.keys()
    assert {code for code in DECIDE_ENDS_WITH if code not in REASONS | ENGINE_REASONS} == set()
