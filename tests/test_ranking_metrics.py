"""The time-weighted return index and the rankings' metrics against hand-computed series."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from daemon.ranking_metrics import (
    DAILY_PER_YEAR,
    Flow,
    chain,
    extend_all,
    metrics,
    period_return_pct,
    summarise,
)

T = datetime(2026, 11, 25, tzinfo=UTC)
D = Decimal


def test_deposits_and_resets_are_flows_not_returns() -> None:
    # 10,000,000 in; worth 11,000,000 (+10 %): index 1.1.
    i1 = chain(D(1), D(10_000_000), [], D(11_000_000))
    assert i1 == D("1.1")
    # 5,000,000 deposited, then worth 17,600,000: 17.6 / (11 + 5) = 1.1, index 1.21.
    i2 = chain(i1, D(11_000_000), [Flow(T, D(5_000_000), False)], D(17_600_000))
    assert i2 == D("1.21")
    # A reset: the cash held out (WITHDRAWAL), 10,000,000 in; worth 9,000,000: 0.9, index 1.089.
    reset = [Flow(T, D(-12_000_000), True), Flow(T, D(10_000_000), False)]
    i3 = chain(i2, D(17_600_000), reset, D(9_000_000))
    assert i3 == D("1.089")
    # 9,900,000 now: 1.1 more, index 1.1979: +19.79 % however much was put in or reset.
    assert period_return_pct(D(1), chain(i3, D(9_000_000), [], D(9_900_000))) == D("19.79")


def test_the_first_link_is_measured_from_the_opening_deposit() -> None:
    assert chain(D(1), None, [Flow(T, D(10_000_000), False)], D(10_500_000)) == D("1.05")


def test_an_account_with_nothing_in_keeps_its_index() -> None:
    assert chain(D("1.3"), D(0), [], D(0)) == D("1.3")


def test_metrics_of_a_known_daily_series() -> None:
    # Index 100 → 110 → 99 → 108.9: returns +10 %, -10 %, +10 % (each step's ratio - 1).
    found = metrics(extend_all(summarise(D(100)), [D(110), D(99), D("108.9")]), DAILY_PER_YEAR)
    assert found.return_pct == D("8.90")  # 108.9 / 100 - 1
    assert found.max_drawdown_pct == D("10.00")  # 110 → 99 is 11 / 110
    # Mean 1/30; sample deviation sqrt(((1/15)² · 2 + (2/15)²) / 2) = 0.1154700538;
    # × sqrt(365) = 2.206052281: 220.61 %.
    assert found.volatility_pct == D("220.61")
    # (1/30 - 0.025 / 365) / 0.1154700538 × sqrt(365) = 5.5037982.
    assert found.sharpe == D("5.50")


def test_too_short_a_series_has_no_volatility() -> None:
    found = metrics(extend_all(summarise(D(1)), [D("1.02")]), DAILY_PER_YEAR)
    assert found.return_pct == D("2.00")
    assert found.volatility_pct is None
    assert found.sharpe is None
    assert found.max_drawdown_pct == D("0.00")


def test_a_flat_series_has_no_sharpe_ratio() -> None:
    found = metrics(extend_all(summarise(D(1)), [D(1), D(1)]), DAILY_PER_YEAR)
    assert found.volatility_pct == D("0.00")
    assert found.sharpe is None
