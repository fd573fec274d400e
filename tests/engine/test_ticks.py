"""Tick tables: every band edge, nearest valid prices, effective dates, and the data's own shape."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.engine.ticks import (
    KRX_ETF,
    KRX_STOCK_2023,
    TICK_TABLES,
    UPBIT_KRW_2024,
    UPBIT_KRW_2025,
    US_STOCK,
    tick_table,
)

KRX_EDGES = [
    ("1999", "1"),
    ("2000", "5"),
    ("4995", "5"),
    ("5000", "10"),
    ("19990", "10"),
    ("20000", "50"),
    ("49950", "50"),
    ("50000", "100"),
    ("199900", "100"),
    ("200000", "500"),
    ("499500", "500"),
    ("500000", "1000"),
]


@pytest.mark.parametrize(("price", "tick"), KRX_EDGES)
def test_krx_stock_band_edges(price: str, tick: str) -> None:
    assert KRX_STOCK_2023.tick_at(D(price)) == D(tick)
    assert KRX_STOCK_2023.is_on_tick(D(price))


@pytest.mark.parametrize(
    ("price", "below", "above"),
    [
        ("70001.5", "70000", "70100"),  # the half-a-Samsung-share price
        ("2003", "2000", "2005"),
        ("1999.5", "1999", "2000"),
        ("4999", "4995", "5000"),
        ("19995", "19990", "20000"),
        ("499999", "499500", "500000"),
        ("0.5", None, "1"),
    ],
)
def test_krx_nearest_valid_prices(price: str, below: str | None, above: str) -> None:
    assert KRX_STOCK_2023.nearest(D(price)) == (None if below is None else D(below), D(above))


def test_etf_and_us_ticks() -> None:
    assert KRX_ETF.tick_at(D("1000000")) == D(5)
    assert not KRX_ETF.is_on_tick(D("10002"))
    assert US_STOCK.tick_at(D("0.9999")) == D("0.0001")
    assert US_STOCK.tick_at(D("1")) == D("0.01")
    assert US_STOCK.nearest(D("1.005")) == (D("1.00"), D("1.01"))
    assert US_STOCK.is_on_tick(D("0.5001"))
    assert not US_STOCK.is_on_tick(D("1.0001"))


@pytest.mark.parametrize(
    ("price", "tick"),
    [
        ("2000000", "1000"),
        ("1000000", "1000"),
        ("999500", "500"),
        ("500000", "500"),
        ("100000", "100"),
        ("99950", "50"),
        ("50000", "50"),
        ("10000", "10"),
        ("9995", "5"),
        ("5000", "5"),
        ("4999", "1"),
        ("100", "1"),
        ("99.99", "0.01"),
        ("1", "0.001"),
        ("0.00009", "0.00000001"),
    ],
)
def test_upbit_2025_band_edges(price: str, tick: str) -> None:
    assert UPBIT_KRW_2025.tick_at(D(price)) == D(tick)


def test_a_rule_change_is_a_new_row_with_a_date() -> None:
    assert tick_table("CRYPTO", "COIN", date(2025, 7, 30)) is UPBIT_KRW_2024
    assert tick_table("CRYPTO", "COIN", date(2025, 7, 31)) is UPBIT_KRW_2025
    assert UPBIT_KRW_2024.tick_at(D("1500000")) == D(500)
    assert UPBIT_KRW_2025.tick_at(D("1500000")) == D(1000)
    with pytest.raises(ValueError, match="no tick table"):
        tick_table("CRYPTO", "STOCK", date(2026, 1, 1))


@pytest.mark.parametrize(
    "table",
    sorted({t.name + str(t.effective_from): t for ts in TICK_TABLES.values() for t in ts}.items()),
)
def test_tables_are_well_formed(table: tuple[str, object]) -> None:
    """Bands ascend from 0, every band edge is valid in both bands it separates (so the nearest
    price above never falls between ticks), and each table names its source and date."""
    _, t = table
    assert t.source
    assert t.effective_from
    assert t.bands[0].from_price == 0
    for lower, upper in zip(t.bands, t.bands[1:], strict=False):
        assert lower.from_price < upper.from_price
        assert upper.from_price % upper.tick == 0
        assert upper.from_price % lower.tick == 0


prices = st.decimals(min_value=D("0.00000001"), max_value=D("5000000"), places=8)


@given(prices, st.sampled_from([KRX_STOCK_2023, KRX_ETF, US_STOCK, UPBIT_KRW_2025]))
def test_nearest_brackets_the_price_on_valid_ticks(price: D, table: object) -> None:
    below, above = table.nearest(price)  # type: ignore[attr-defined]
    assert above >= price
    assert table.is_on_tick(above)
    if below is not None:
        assert below <= price
        assert table.is_on_tick(below)
    if table.is_on_tick(price):  # type: ignore[attr-defined]
        assert below == above == price
