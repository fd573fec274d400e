"""Exchange rules at the door: lot sizes, ticks, KRX price limits, Upbit's minimum."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from daemon.engine.exchange_rules import (
    ExchangeRuleError,
    PriceLimits,
    check_minimum,
    check_prices,
    check_quantity,
    krx_price_limits,
)
from daemon.tickers import parse_ticker

SAMSUNG = parse_ticker("KRX-STOCK-005930")
KODEX = parse_ticker("KRX-ETF-069500")
AAPL = parse_ticker("US-STOCK-AAPL")
BTC = parse_ticker("CRYPTO-COIN-BTC")
DAY = date(2026, 12, 1)


def test_krx_whole_shares_with_nearest_quantities() -> None:
    check_quantity(SAMSUNG, "LIMIT", D(3))
    with pytest.raises(ExchangeRuleError, match=r"whole shares; send 0 or 1|send 1") as caught:
        check_quantity(SAMSUNG, "MARKET", D("0.5"))
    assert caught.value.rule == "lot_size"
    with pytest.raises(ExchangeRuleError, match="send 2 or 3"):
        check_quantity(SAMSUNG, "LIMIT", D("2.5"))


def test_us_fractions_only_for_market_orders() -> None:
    check_quantity(AAPL, "MARKET", D("0.12345678"))
    with pytest.raises(ExchangeRuleError, match="except for MARKET orders"):
        check_quantity(AAPL, "LIMIT", D("1.5"))
    check_quantity(BTC, "LIMIT", D("0.00000001"))


def test_off_tick_price_names_rule_and_two_nearest_prices() -> None:
    with pytest.raises(ExchangeRuleError) as caught:
        check_prices(SAMSUNG, {"limit_price": D("70001.5")}, DAY, None)
    assert caught.value.rule == "tick_size"
    assert "70000 or 70100" in str(caught.value)
    assert "tick of 100" in str(caught.value)
    with pytest.raises(ExchangeRuleError, match="10000 or 10005"):
        check_prices(KODEX, {"stop_price": D("10002")}, DAY, None)
    check_prices(AAPL, {"limit_price": D("187.25"), "stop_price": None}, DAY, None)


@pytest.mark.parametrize(
    ("base", "lower", "upper"),
    [
        # KRX's own worked example: 9,980 × 0.3 = 2,994 → 2,990; 12,970 and 6,990.
        ("9980", "6990", "12970"),
        # 9,940: change 2,980; upper 12,920 (tick 10 since 2023), lower 6,960.
        ("9940", "6960", "12920"),
        # 70,000: change 21,000; upper 91,000; lower 49,000 → on its 50 tick.
        ("70000", "49000", "91000"),
        # 1,999: change 599 (tick 1); upper 2,598 → cut to the 5 tick: 2,595; lower 1,400.
        ("1999", "1400", "2595"),
        # 4,000: change 1,200 (tick 5); upper 5,200 (tick 10); lower 2,800.
        ("4000", "2800", "5200"),
        # 16,670: change 5,001 → 5,000 (tick 10); upper 21,670 → 21,650 (tick 50); lower 11,670.
        ("16670", "11670", "21650"),
    ],
)
def test_krx_daily_price_limits(base: str, lower: str, upper: str) -> None:
    assert krx_price_limits(SAMSUNG, D(base), DAY) == PriceLimits(D(lower), D(upper))


def test_lower_limit_rounds_up_into_the_band() -> None:
    # 10,150 × 0.3 = 3,045 → 3,040 (tick 10); lower 7,110 on tick 10; upper 13,190.
    limits = krx_price_limits(SAMSUNG, D("10150"), DAY)
    assert limits == PriceLimits(D("7110"), D("13190"))
    # 200,500 (tick 500): change 60,150 → 60,000; lower 140,500 on its 100 tick; upper 260,500.
    limits = krx_price_limits(SAMSUNG, D("200500"), DAY)
    assert limits == PriceLimits(D("140500"), D("260500"))


def test_price_outside_limits_is_refused_with_the_range() -> None:
    limits = krx_price_limits(SAMSUNG, D("70000"), DAY)
    check_prices(SAMSUNG, {"limit_price": D("91000")}, DAY, limits)
    with pytest.raises(ExchangeRuleError, match="from 49000 to 91000") as caught:
        check_prices(SAMSUNG, {"limit_price": D("91100")}, DAY, limits)
    assert caught.value.rule == "price_limit"


def test_upbit_minimum_order() -> None:
    check_minimum(BTC, D("0.0001"), D("50000000"))  # exactly 5,000 KRW
    with pytest.raises(ExchangeRuleError, match=r"at least 0\.0001 at 50000000") as caught:
        check_minimum(BTC, D("0.00009999"), D("50000000"))
    assert caught.value.rule == "below_minimum"
    check_minimum(SAMSUNG, D(1), D(100))  # not an Upbit rule
