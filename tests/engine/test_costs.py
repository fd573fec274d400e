"""Cost presets per market, side and date, and the PAPERTRADE_FEES override."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest

from daemon.engine.costs import (
    KR_BROKER_2026,
    NO_COSTS,
    FeeLine,
    fee_total,
    fees_for_fill,
    parse_fee_schedule,
    preset,
    trade_date,
    with_commissions,
)


def fees(
    market: str,
    kind: str,
    side: str,
    on: date,
    total: str,
    qty: str = "1",
    rate: str = "1",
    costs=KR_BROKER_2026,
):
    return fees_for_fill(
        costs,
        market=market,
        kind=kind,
        side=side,
        on=on,
        total_krw=D(total),
        quantity=D(qty),
        rate=D(rate),
    )


def by_kind(lines: tuple[FeeLine, ...]) -> dict[str, D]:
    return {line.kind: line.amount_krw for line in lines}


def test_krx_sell_tax_2025_vs_2026_and_etf_exempt() -> None:
    assert fees("KRX", "STOCK", "SELL", date(2025, 12, 31), "1000000") == (
        FeeLine("commission", D("150.00000000")),
        FeeLine("krx_sell_tax", D("1500.00000000")),
    )
    assert fees("KRX", "STOCK", "SELL", date(2026, 1, 1), "1000000")[1] == FeeLine(
        "krx_sell_tax", D("2000.00000000")
    )
    assert fees("KRX", "ETF", "SELL", date(2026, 1, 1), "1000000") == (
        FeeLine("commission", D("150.00000000")),
    )
    assert fees("KRX", "STOCK", "BUY", date(2026, 1, 1), "1000000") == (
        FeeLine("commission", D("150.00000000")),
    )


def test_us_sell_sec_fee_before_and_after_2026_04_04() -> None:
    # 100 shares at $200, 1,400 KRW/$: 28,000,000 KRW.
    before = fees("US", "STOCK", "SELL", date(2026, 4, 3), "28000000", "100", "1400")
    after = fees("US", "STOCK", "SELL", date(2026, 4, 4), "28000000", "100", "1400")
    assert by_kind(before)["sec_fee"] == D("0E-8")
    assert by_kind(after)["sec_fee"] == D("576.80000000")  # 28,000,000 × 20.60/1,000,000
    assert by_kind(after)["commission"] == D("70000.00000000")
    # TAF: 100 × $0.000195 = $0.0195 → 27.3 KRW.
    assert by_kind(after)["finra_taf"] == D("27.30000000")
    assert [
        line.kind
        for line in fees("US", "STOCK", "BUY", date(2026, 4, 4), "28000000", "100", "1400")
    ] == ["commission"]


def test_taf_is_capped_per_trade() -> None:
    # 100,000 shares × $0.000195 = $19.50 > $9.79 cap.
    lines = fees("US", "STOCK", "SELL", date(2026, 6, 1), "1000", "100000", "1400")
    assert by_kind(lines)["finra_taf"] == D("13706.00000000")  # 9.79 × 1,400
    lines = fees("US", "STOCK", "SELL", date(2025, 6, 1), "1000", "100000", "1400")
    assert by_kind(lines)["finra_taf"] == D("11620.00000000")  # 2025: 8.30 cap


def test_crypto_and_none_and_sum() -> None:
    lines = fees("CRYPTO", "COIN", "BUY", date(2026, 1, 1), "12345.67")
    assert lines == (FeeLine("commission", D("6.17283500")),)
    assert fees("KRX", "STOCK", "SELL", date(2026, 1, 1), "1000000", costs=NO_COSTS) == ()
    assert fee_total(fees("KRX", "STOCK", "SELL", date(2026, 1, 1), "1000000")) == D("2150")


def test_override_replaces_commissions_only() -> None:
    schedule = parse_fee_schedule("KRX=0.001/0.002,US=0/0,CRYPTO=0.0004/0.0004")
    costs = with_commissions(KR_BROKER_2026, schedule)
    assert fees("KRX", "STOCK", "SELL", date(2026, 1, 1), "1000000", costs=costs) == (
        FeeLine("krx_sell_tax", D("2000.00000000")),
        FeeLine("commission", D("2000.00000000")),
    )
    assert (
        by_kind(fees("US", "STOCK", "SELL", date(2026, 5, 1), "1000", costs=costs))["commission"]
        == 0
    )


def test_presets_by_name_and_trade_dates() -> None:
    assert preset("kr-broker-2026") is KR_BROKER_2026
    assert preset("none") is NO_COSTS
    with pytest.raises(ValueError, match="choose kr-broker-2026, none"):
        preset("cheap")
    # 2025-12-31 16:00 UTC is already 2026-01-01 in Seoul, still 2025 in New York.
    at = datetime(2025, 12, 31, 16, 0, tzinfo=UTC)
    assert trade_date("KRX", at) == date(2026, 1, 1)
    assert trade_date("US", at) == date(2025, 12, 31)


def test_every_rule_names_its_source() -> None:
    assert all(rule.source for rule in KR_BROKER_2026.rules)
