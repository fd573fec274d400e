"""Every reason code decide() can end an order with has a plain-English text."""

from __future__ import annotations

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


def test_one_reason_list_covers_every_code_decide_uses() -> None:
    assert DECIDE_ENDS_WITH - REASONS.keys() == set()
